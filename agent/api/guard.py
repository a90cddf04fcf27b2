"""The gate in front of the app: bearer token on /v1 and the body size limit, before anything is read.

Why a pure ASGI middleware and not a dependency: a dependency runs after FastAPI has read (and parsed) the
body, so a 1 GB upload would be in memory before it could be refused, and a wrong token would still cost
the parse. The gate counts the body chunk by chunk and refuses at once.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable

from fastapi.responses import JSONResponse


def reject(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    """An error response in the API's shape (`detail` and a one-line `message`)."""
    return JSONResponse(status_code=status, content={"detail": message, "message": message}, headers=headers)


ASGIApp = Callable[[dict, Callable[[], Awaitable[dict]], Callable[[dict], Awaitable[None]]], Awaitable[None]]


class Gate:
    """Pure ASGI middleware: bearer token on /v1 (before the body is read), then the body size limit.

    The body is read here, counted chunk by chunk and refused with 413 as soon as it passes the
    limit (a missing or lying Content-Length does not help), then replayed to the app.
    """

    def __init__(self, app: ASGIApp, max_body_bytes: int, token: str | None,
                 streamed: dict[str, int] | None = None):
        self.app, self.max_body_bytes, self.token = app, max_body_bytes, token
        self.streamed = streamed or {}  # {exact path: its own limit}: bodies passed on as they arrive, counted

    async def _stream(self, scope: dict, receive: Callable, send: Callable, limit: int) -> None:
        """A large upload (a job's catalog) is not held in memory here: each chunk is counted on its way to
        the app, and the app's read fails with `BodyTooLarge` (a 413) once the count passes `limit`."""
        total = 0

        async def counted() -> dict:
            nonlocal total
            message = await receive()
            total += len(message.get("body", b""))
            if total > limit:
                raise BodyTooLarge(limit)
            return message

        await self.app(scope, counted, _nosniff(send))

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.lower(): v for k, v in scope.get("headers", [])}
        if self.token is not None and scope.get("path", "").startswith("/v1") and not token_ok(
                headers.get(b"authorization", b"").decode("latin-1"), self.token):
            await reject(401, "missing or wrong bearer token", {"WWW-Authenticate": "Bearer"})(scope, receive, send)
            return
        limit = self.streamed.get(scope.get("path", "")) if scope.get("method") == "POST" else None
        length = headers.get(b"content-length")
        if length is not None:
            try:
                declared = int(length)
            except ValueError:
                await reject(400, "Content-Length is not a number")(scope, receive, send)
                return
            if declared > (limit or self.max_body_bytes):
                await self._too_large(scope, receive, send, limit or self.max_body_bytes)
                return
        if limit is not None:
            await self._stream(scope, receive, send, limit)
            return
        chunks, total = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            total += len(chunk)
            if total > self.max_body_bytes:
                await self._too_large(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body, replayed = b"".join(chunks), False

        async def replay() -> dict:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, _nosniff(send))

    async def _too_large(self, scope: dict, receive: Callable, send: Callable, limit: int | None = None) -> None:
        await reject(413, f"request body is larger than the limit of {limit or self.max_body_bytes} bytes",
                      {"Connection": "close"})(scope, receive, send)


class BodyTooLarge(Exception):
    """A streamed body passed its limit while the app read it (the API answers 413)."""

    def __init__(self, limit: int):
        super().__init__(f"request body is larger than the limit of {limit} bytes")
        self.limit = limit


def _nosniff(send: Callable) -> Callable:
    async def send_nosniff(message: dict) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [*message.get("headers", []), (b"x-content-type-options", b"nosniff")]}
        await send(message)

    return send_nosniff


def token_ok(header: str, token: str) -> bool:
    """True when the Authorization header carries this bearer token (compared in constant time)."""
    scheme, _, given = header.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())
