"""Every error the API answers, in one shape: `{"detail": ..., "message": "<one line>"}`.

Validation errors name the field path (`product.unit_cost: ...`) and never echo the input back; the
service's own exceptions map to HTTP here, so neither the service nor the routes know about status codes
beyond their own checks: `PolicyBusy` is a 503 with Retry-After, guardrails that admit no price and an
unusable catalog table are 422s, anything unexpected a logged 500 without internals.

A client's mistake (any 4xx) is logged as one warning line, `422 POST /v1/score/files: <message>`: the
operator sees what went wrong without a traceback per typo; only a 500 logs its stack.
"""

from __future__ import annotations

import json
import logging
import math

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from agent.guardrails import GuardrailConflict
from agent.service import PolicyBusy
from env.errors import one_line

log = logging.getLogger("agent.api")


def _path(loc: tuple | list) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] == "body":
        parts = parts[1:]
    return ".".join(parts) or "body"


def _non_finite(value: object) -> bool:
    try:
        return isinstance(value, str | float) and not math.isfinite(float(value))
    except ValueError:
        return False


def _error_entry(error: dict) -> dict:
    """One validation error as {loc, msg, type}, without echoing the input back."""
    loc, msg, kind = list(error.get("loc", ())), one_line(error.get("msg", "")), error.get("type", "")
    if kind == "json_invalid":  # pydantic puts the character position in `loc`
        loc, msg = loc[:1], f"invalid JSON at character {loc[1] if len(loc) > 1 else 0}"
    elif _non_finite(error.get("input")):  # NaN fails `ge=0` before the finite check could name it
        msg = f"must be a finite number, not {error['input']!s}"
    return {"loc": loc, "msg": msg, "type": kind}


def validation_from(err: ValidationError, prefix: tuple = ("body",)) -> RequestValidationError:
    """A pydantic error raised while validating a body by hand, as FastAPI's own (so it answers alike)."""
    return RequestValidationError([{**e, "loc": (*prefix, *e["loc"])} for e in err.errors(include_url=False)])


def log_user_error(request: Request, status: int, message: str) -> None:
    """One warning line for a client's mistake (no traceback)."""
    if 400 <= status < 500:
        log.warning("%d %s %s: %s", status, request.method, request.url.path, one_line(message)[:300])


def _error(request: Request, status: int, detail: object, headers: dict[str, str] | None = None) -> JSONResponse:
    message = one_line(detail if isinstance(detail, str) else json.dumps(detail))
    log_user_error(request, status, message)
    return JSONResponse(status_code=status, content={"detail": detail, "message": message}, headers=headers)


async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = [_error_entry(e) for e in exc.errors()]
    first = errors[0] if errors else {"loc": [], "msg": "invalid request"}
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    message = f"{_path(first['loc'])}: {first['msg']}{more}"
    log_user_error(request, 422, message)
    return JSONResponse(status_code=422, content={"detail": errors, "message": message})


async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    return _error(request, exc.status_code, exc.detail, getattr(exc, "headers", None))


async def _busy(request: Request, exc: PolicyBusy) -> JSONResponse:
    return _error(request, 503, str(exc), {"Retry-After": "5"})


async def _guardrails(request: Request, exc: GuardrailConflict) -> JSONResponse:
    return _error(request, 422, f"guardrails: {exc}")


async def _catalog(request: Request, exc: Exception) -> JSONResponse:
    return _error(request, 422, one_line(str(exc)) or "the catalog could not be scored")


async def _body_too_large(request: Request, exc: Exception) -> JSONResponse:
    return _error(request, 413, str(exc), {"Connection": "close"})


async def _server_error(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return JSONResponse(status_code=500, content={"detail": "internal error",
                                                  "message": f"internal error ({type(exc).__name__})"})


def install_error_handlers(app: FastAPI) -> None:
    """Registers every handler above on `app`."""
    from agent.api.guard import BodyTooLarge
    from agent.catalog import CatalogError

    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(PolicyBusy, _busy)
    app.add_exception_handler(GuardrailConflict, _guardrails)
    app.add_exception_handler(CatalogError, _catalog)
    app.add_exception_handler(BodyTooLarge, _body_too_large)
    app.add_exception_handler(Exception, _server_error)
