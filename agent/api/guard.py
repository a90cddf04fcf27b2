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

    def __init__(self, app: ASGIApp, max_body_bytes: int, token: str | None):
        self.app, self.max_body_bytes, self.token = app, max_body_bytes, token

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.lower(): v for k, v in scope.get("headers", [])}
        if self.token is not None and scope.get("path", "").startswith("/v1") and not token_ok(
                headers.get(b"authorization", b"").decode("latin-1"), self.token):
            await reject(401, "missing or wrong bearer token", {"WWW-Authenticate": "Bearer"})(scope, receive, send)
            return
        length = headers.get(b"content-length")
        if length is not None:
            try:
                declared = int(length)
            except ValueError:
                await reject(400, "Content-Length is not a number")(scope, receive, send)
                return
            if declared > self.max_body_bytes:
                await self._too_large(scope, receive, send)
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

        async def send_nosniff(message: dict) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), (b"x-content-type-options", b"nosniff")]}
            await send(message)

        await self.app(scope, replay, send_nosniff)

    async def _too_large(self, scope: dict, receive: Callable, send: Callable) -> None:
        await reject(413, f"request body is larger than the limit of {self.max_body_bytes} bytes",
                      {"Connection": "close"})(scope, receive, send)


def token_ok(header: str, token: str) -> bool:
    """True when the Authorization header carries this bearer token (compared in constant time)."""
    scheme, _, given = header.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())
