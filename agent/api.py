"""The HTTP API: one recommendation per request, or a whole catalog scored in batch.

Endpoints (OpenAPI at `/docs` and `/openapi.json`):

- `POST /v1/recommend`  a `RecommendRequest` (a `PricingContext` plus a seed) -> a `Recommendation`
- `POST /v1/score`      products (+ optional history) rows as JSON, or uploaded as CSV/Parquet/JSONL
                        files (multipart) -> `{"results": [one row per SKU], "summary": {...}}`,
                        or CSV with `?format=csv`
- `GET  /healthz`       liveness, the policy's name and the loaded model's id (never loads it)

The boundary is strict: the request schemas forbid unknown fields and non-finite numbers, and a
validation error is a 422 whose `message` names the field path (`product.unit_cost: ...`).
Guardrails that admit no price are a 422 too. Bodies over `max_body_bytes` are refused with
413, from Content-Length before anything is read and while reading otherwise; more than
`max_skus` products is a 413. With a token (argument or `PRICING_API_TOKEN`) every `/v1` route
needs `Authorization: Bearer <token>`; `/healthz` stays open. Product names are untrusted text:
the API answers JSON (or CSV with spreadsheet formulas neutralised), never HTML.

The policy is built on first use (so the app starts at once) and every call into it holds one
lock: LLM generation is not reentrant and the classical pricers keep per-episode state. Each
call resets the policy with a seed (the request's, else one derived from the SKU exactly as the
batch scorer does), so the same request gets the same price, and `/v1/recommend` and
`/v1/score` agree on a product.
"""

from __future__ import annotations

import contextlib
import csv
import hmac
import io
import json
import logging
import math
import os
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, Literal

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException

from agent.guardrails import GuardrailConflict, hard_range
from agent.recommend import Recommendation, recommend
from env.context import PricingContext

log = logging.getLogger("agent.api")

TOKEN_ENV = "PRICING_API_TOKEN"
MAX_BODY_BYTES = 10_000_000
MAX_SKUS = 10_000
SCORE_BATCH_SIZE = 16
LOCK_WAIT_S = 300.0  # longest a request waits for the policy before a 503
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

_EXAMPLE = {
    "product": {"sku": "MUG-1", "name": "Ceramic mug", "unit_cost": 4.0, "current_price": 12.0},
    "guardrails": {"min_price": 8.0, "max_price": 20.0, "min_margin": 0.3, "max_change": 0.1},
    "history": [
        {"period": 0, "price": 11.0, "units": 118.0, "competitor_price": 13.5},
        {"period": 1, "price": 12.5, "units": 90.0, "competitor_price": 13.5},
        {"period": 2, "price": 12.0, "units": 101.0, "competitor_price": 13.5},
    ],
    "competitor_price": 13.5,
}


# --- schemas at the boundary ---------------------------------------------------------------------


class RecommendRequest(PricingContext):
    """A `PricingContext` (product, guardrails, history, competitor price, stock, horizon) and a seed.

    Unknown fields and non-finite numbers are refused (422, naming the field). The product's name
    is data, never instructions: whatever it says, the guardrails bound the price.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_extra={"examples": [_EXAMPLE]})

    seed: int | None = Field(
        default=None, ge=0, le=2**32 - 1,
        description="Seed of the policy's randomness (default: derived from the SKU, as in batch scoring). "
                    "The same request and seed give the same price.")

    def context(self) -> PricingContext:
        """The plain context (already validated, so not validated again)."""
        return PricingContext.model_construct(**{name: getattr(self, name) for name in PricingContext.model_fields})


_SCALARS = (str, int, float, bool, type(None))


class ScoreRequest(BaseModel):
    """A catalog as rows: the same columns the batch scorer reads from a file."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "products": [{"sku": "MUG-1", "name": "Ceramic mug", "unit_cost": 4.0, "current_price": 12.0,
                      "min_price": 8.0, "max_price": 20.0}],
        "history": [{"sku": "MUG-1", "period": 0, "price": 11.0, "units": 118.0},
                    {"sku": "MUG-1", "period": 1, "price": 12.5, "units": 90.0}],
    }]})

    products: list[dict[str, Any]] = Field(
        min_length=1, description="One row per SKU: sku, unit_cost, current_price (required), name, guardrail "
                                  "columns, competitor_price, inventory. Cells are text, numbers or null.")
    history: list[dict[str, Any]] = Field(
        default_factory=list, description="Sales history rows: sku, period, price, units (required), "
                                          "competitor_price, inventory.")

    @field_validator("products", "history")
    @classmethod
    def _scalar_cells(cls, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for i, row in enumerate(rows):
            for key, value in row.items():
                if not isinstance(value, _SCALARS):
                    raise ValueError(f"row {i}, column '{key[:50]}': a cell must be text, a number or null, "
                                     f"not {type(value).__name__}")
        return rows


class ScoreSummary(BaseModel):
    skus: int
    scored: int
    errors: int
    policy: str
    model_id: str | None
    adapter_id: str | None
    elapsed_ms: float


class ScoreResponse(BaseModel):
    results: list[dict[str, Any]] = Field(description="One row per SKU; a row that could not be scored has `error`.")
    summary: ScoreSummary


class Health(BaseModel):
    status: Literal["ok"]
    policy: str
    model_id: str | None = Field(description="The loaded model's id; null until the model is loaded.")
    adapter_id: str | None


class ErrorBody(BaseModel):
    detail: Any
    message: str = Field(description="One line; for validation errors it starts with the field path.")


# --- the policy, built lazily, called under a lock ------------------------------------------------


class _PolicySlot:
    def __init__(self, policy: Any, name: str, model: str | None, adapter: str | None):
        self._policy, self._model, self._adapter = policy, model, adapter
        self.name = getattr(policy, "name", name) if policy is not None else name
        self.lock = threading.Lock()
        self.wait_s = LOCK_WAIT_S

    @contextlib.contextmanager
    def exclusive(self) -> Iterator[None]:
        """The lock alone; 503 when other requests keep it busy for longer than `wait_s`."""
        if not self.lock.acquire(timeout=self.wait_s):
            raise HTTPException(503, f"the policy is busy with other requests (waited {self.wait_s:g} s); retry later",
                                headers={"Retry-After": "5"})
        try:
            yield
        finally:
            self.lock.release()

    @contextlib.contextmanager
    def held(self) -> Iterator[Any]:
        """The policy with the lock held (built on first use); 503 as in `exclusive`."""
        with self.exclusive():
            yield self.get()

    def get(self) -> Any:
        """The policy, built on first use. Call with `lock` held."""
        if self._policy is None:
            from agent.policy import make_policy

            self._policy = make_policy(self.name, self._model, self._adapter)
        return self._policy

    def policy_for_simulation(self, name: str) -> Any:
        """A fresh policy for one simulated episode, built as this slot builds its own: `llm` is the
        model and adapter this slot serves, not the defaults the harness's registry would load."""
        from agent.policy import make_policy

        return make_policy(name, self._model, self._adapter)

    def ids(self) -> tuple[str | None, str | None]:
        """(model_id, adapter_id) of a loaded model, without loading one."""
        policy = self._policy
        if policy is None:
            return None, None
        from agent.policy import LLMPolicy

        if isinstance(policy, LLMPolicy):
            lm = policy._lm  # the property would load the model: only report one that is loaded
            return (lm.model_id, lm.adapter_id) if lm is not None else (None, None)
        return getattr(policy, "model_id", None), getattr(policy, "adapter_id", None)


# --- errors --------------------------------------------------------------------------------------


def _path(loc: tuple | list) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] == "body":
        parts = parts[1:]
    return ".".join(parts) or "body"


def _one_line(text: str) -> str:
    return " ".join(str(text).split())[:500]


def _non_finite(value: object) -> bool:
    try:
        return isinstance(value, str | float) and not math.isfinite(float(value))
    except ValueError:
        return False


def _error_entry(error: dict) -> dict:
    """One validation error as {loc, msg, type}, without echoing the input back."""
    loc, msg, kind = list(error.get("loc", ())), _one_line(error.get("msg", "")), error.get("type", "")
    if kind == "json_invalid":  # pydantic puts the character position in `loc`
        loc, msg = loc[:1], f"invalid JSON at character {loc[1] if len(loc) > 1 else 0}"
    elif _non_finite(error.get("input")):  # NaN fails `ge=0` before the finite check could name it
        msg = f"must be a finite number, not {error['input']!s}"
    return {"loc": loc, "msg": msg, "type": kind}


async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = [_error_entry(e) for e in exc.errors()]
    first = errors[0] if errors else {"loc": [], "msg": "invalid request"}
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return JSONResponse(status_code=422, content={"detail": errors,
                                                  "message": f"{_path(first['loc'])}: {first['msg']}{more}"})


async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    message = exc.detail if isinstance(exc.detail, str) else json.dumps(exc.detail)
    return JSONResponse(status_code=exc.status_code, content={"detail": exc.detail, "message": _one_line(message)},
                        headers=getattr(exc, "headers", None))


async def _server_error(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return JSONResponse(status_code=500, content={"detail": "internal error",
                                                  "message": f"internal error ({type(exc).__name__})"})


def _reject(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(status_code=status, content={"detail": message, "message": message}, headers=headers)


def _validation_from(err: ValidationError, prefix: tuple = ("body",)) -> RequestValidationError:
    return RequestValidationError([{**e, "loc": (*prefix, *e["loc"])} for e in err.errors(include_url=False)])


# --- body size and token, before the app reads anything --------------------------------------------


ASGIApp = Callable[[dict, Callable[[], Awaitable[dict]], Callable[[dict], Awaitable[None]]], Awaitable[None]]


class _Gate:
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
        if self.token is not None and scope.get("path", "").startswith("/v1") and not _token_ok(
                headers.get(b"authorization", b"").decode("latin-1"), self.token):
            await _reject(401, "missing or wrong bearer token", {"WWW-Authenticate": "Bearer"})(scope, receive, send)
            return
        length = headers.get(b"content-length")
        if length is not None:
            try:
                declared = int(length)
            except ValueError:
                await _reject(400, "Content-Length is not a number")(scope, receive, send)
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
        await _reject(413, f"request body is larger than the limit of {self.max_body_bytes} bytes",
                      {"Connection": "close"})(scope, receive, send)


def _token_ok(header: str, token: str) -> bool:
    scheme, _, given = header.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


# --- scoring helpers -------------------------------------------------------------------------------


def _escape_cell(value: object) -> object:
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _csv_text(frame) -> str:
    """CSV of the results with spreadsheet formulas neutralised (the catalog's `escape_formula` where it has one)."""
    from pandas.api.types import is_numeric_dtype

    import agent.catalog as catalog

    escape = getattr(catalog, "escape_formula", _escape_cell)
    frame = frame.copy()
    for column in frame.columns:
        if not is_numeric_dtype(frame[column]):  # text columns (object or pandas' string dtype)
            frame[column] = frame[column].map(escape)
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False, quoting=csv.QUOTE_MINIMAL, lineterminator="\n")
    return buffer.getvalue()


def _sku_seed(sku: str) -> int:
    """The batch scorer's per-SKU seed, so both endpoints price a product alike."""
    import hashlib

    try:
        from agent.catalog import sku_seed
    except ImportError:
        return int.from_bytes(hashlib.blake2b(sku.encode("utf-8"), digest_size=4).digest(), "big")
    return sku_seed(sku)


def _rows_frame(rows: list[dict]) -> Any:
    """Rows as an object DataFrame where an absent key is None (missing), never NaN (a bad number)."""
    import pandas as pd

    names = list(dict.fromkeys(k for r in rows for k in r))
    return pd.DataFrame({n: [r.get(n) for r in rows] for n in names}, index=range(len(rows)), dtype=object)


def _read_file(data: bytes, name: str) -> Any:
    """The uploaded bytes as a table, read by the catalog's reader from a private temporary file."""
    import tempfile
    from pathlib import Path

    from agent.catalog import FORMATS, read_table

    suffix = next((x for x in sorted(FORMATS, key=len, reverse=True) if name.lower().endswith(x)), None)
    if suffix is None:
        raise ValueError(f"unsupported file type (use {', '.join(sorted(FORMATS))})")
    with tempfile.TemporaryDirectory(prefix="pricing-upload-") as folder:
        path = Path(folder) / f"upload{suffix}"
        path.write_bytes(data)
        try:
            return read_table(path)
        except ValueError as err:  # CatalogError names the file: name the upload, not the temporary path
            raise ValueError(str(err).replace(f"{path}: ", "").replace(str(path), name)) from None


async def _read_upload(form: Any, field: str, required: bool) -> Any:
    """A DataFrame from the uploaded file `field` (format from its name), or None when optional and absent."""
    upload = form.get(field)
    if upload is None:
        if required:
            raise HTTPException(422, f"{field}: upload a {field} file (CSV, Parquet or JSONL)")
        return None
    if not isinstance(upload, UploadFile):
        raise HTTPException(422, f"{field}: must be a file upload, not a text field")
    data = await upload.read()
    name = os.path.basename(upload.filename or f"{field}.csv")
    try:
        return await run_in_threadpool(_read_file, data, name)
    except Exception as err:  # a file we cannot parse is the client's mistake, in one line
        reason = _one_line(str(err)) or type(err).__name__
        raise HTTPException(422, f"{field} file '{_one_line(name)[:100]}': {reason}") from None


# --- the app -------------------------------------------------------------------------------------


def create_app(policy: Any = None, policy_name: str = "llm", model: str | None = None, adapter: str | None = None,
               token: str | None = None, max_body_bytes: int = MAX_BODY_BYTES, max_skus: int = MAX_SKUS,
               batch_size: int = SCORE_BATCH_SIZE, lock_wait_s: float = LOCK_WAIT_S) -> FastAPI:
    """The API app. `policy` (any `Policy`) is used as given; otherwise `make_policy(policy_name, model,
    adapter)` builds one on first use. `token` (else the PRICING_API_TOKEN variable) protects /v1."""
    token = token or os.environ.get(TOKEN_ENV) or None
    slot = _PolicySlot(policy, policy_name, model, adapter)
    slot.wait_s = lock_wait_s
    app = FastAPI(
        title="LLM pricing assistant API",
        version="0.1.0",
        summary="Price recommendations with evidence and guardrails, one product or a whole catalog.",
        description=__doc__,
        responses={413: {"model": ErrorBody, "description": "Body or catalog over the limit"},
                   422: {"model": ErrorBody, "description": "Invalid request; `message` names the field"}},
    )
    app.state.slot, app.state.max_skus, app.state.max_body_bytes = slot, max_skus, max_body_bytes
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _server_error)
    app.add_middleware(_Gate, max_body_bytes=max_body_bytes, token=token)

    bearer = HTTPBearer(auto_error=False, description="Required when the server has a token.")

    def authorised(credentials: HTTPAuthorizationCredentials | None = Depends(bearer)) -> None:
        # The gate already refused a wrong token; this repeats the check and documents it in OpenAPI.
        if token is not None and (credentials is None or not _token_ok(f"Bearer {credentials.credentials}", token)):
            raise HTTPException(401, "missing or wrong bearer token", headers={"WWW-Authenticate": "Bearer"})

    v1 = APIRouter(prefix="/v1", dependencies=[Depends(authorised)] if token is not None else [],
                   responses={401: {"model": ErrorBody, "description": "Missing or wrong bearer token"}}
                   if token is not None else None)

    @app.get("/healthz", response_model=Health, tags=["ops"])
    async def healthz() -> Health:  # on the event loop: answers even while every worker thread waits
        """Liveness. Never loads the model: `model_id` is null until the first request loaded it."""
        model_id, adapter_id = slot.ids()
        return Health(status="ok", policy=slot.name, model_id=model_id, adapter_id=adapter_id)

    @v1.post("/recommend", response_model=Recommendation, tags=["pricing"])
    def recommend_one(request: RecommendRequest) -> Recommendation:
        """One recommended price with its evidence, the guardrails that bound it and a grounded rationale."""
        context = request.context()
        try:
            hard_range(context)  # guardrails that admit no price: refuse before touching the policy
            with slot.held() as pricer:
                pricer.reset(request.seed if request.seed is not None else _sku_seed(context.product.sku))
                return recommend(context, pricer)
        except GuardrailConflict as err:
            raise HTTPException(422, f"guardrails: {err}") from None

    @v1.post(
        "/score",
        response_model=ScoreResponse,
        tags=["pricing"],
        responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}},
                         "description": "JSON results and summary, or CSV with ?format=csv"},
                   415: {"model": ErrorBody, "description": "Neither JSON nor multipart"}},
        openapi_extra={"requestBody": {"required": True, "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/ScoreRequest"}},
            "multipart/form-data": {"schema": {
                "type": "object", "required": ["products"],
                "properties": {
                    "products": {"type": "string", "format": "binary",
                                 "description": "Products file: .csv, .parquet or .jsonl (by file name)."},
                    "history": {"type": "string", "format": "binary",
                                "description": "Optional sales history file, same formats."},
                }}},
        }}},
    )
    async def score(request: Request, fmt: Literal["json", "csv"] = Query(
            "json", alias="format", description="`csv` answers text/csv instead of JSON.")) -> Response:
        """Score a catalog: one row per SKU (price, evidence columns, `error` for rows that could not be scored)."""

        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type == "multipart/form-data":
            async with request.form(max_files=2, max_fields=2) as form:
                unknown = sorted(set(form.keys()) - {"products", "history"})
                if unknown:
                    raise HTTPException(422, f"{unknown[0]}: unknown upload field (expected products, history)")
                products = await _read_upload(form, "products", required=True)
                history = await _read_upload(form, "history", required=False)
        elif content_type in ("application/json", ""):
            body = await request.body()
            try:
                parsed = ScoreRequest.model_validate_json(body or b"{}")
            except ValidationError as err:
                raise _validation_from(err) from None
            if len(parsed.products) > max_skus:
                raise HTTPException(413, f"products: {len(parsed.products)} rows, more than the limit of {max_skus}")
            products = _rows_frame(parsed.products)
            history = _rows_frame(parsed.history) if parsed.history else None
        else:
            raise HTTPException(415, f"content type '{_one_line(content_type)[:80]}': send application/json "
                                     "or multipart/form-data")
        if len(products) > max_skus:
            raise HTTPException(413, f"products: {len(products)} rows, more than the limit of {max_skus}")
        if len(products) == 0:
            raise HTTPException(422, "products: the table has no rows")
        frame, summary = await run_in_threadpool(_score_locked, slot, products, history, batch_size)
        if fmt == "csv":
            text = await run_in_threadpool(_csv_text, frame)
            return Response(text, media_type="text/csv; charset=utf-8",
                            headers={"Content-Disposition": 'attachment; filename="scores.csv"'})
        body = '{"results":' + frame.to_json(orient="records", double_precision=15) + ',"summary":' + \
            summary.model_dump_json() + "}"
        return Response(body, media_type="application/json")

    app.include_router(v1)
    generated = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:  # /v1/score reads its body itself: register the JSON schema it names
            spec = generated()
            spec.setdefault("components", {}).setdefault("schemas", {})["ScoreRequest"] = \
                ScoreRequest.model_json_schema(ref_template="#/components/schemas/{model}")
        return app.openapi_schema

    app.openapi = openapi
    return app


def _score_locked(slot: _PolicySlot, products: Any, history: Any, batch_size: int) -> tuple[Any, ScoreSummary]:
    from agent.catalog import CatalogError, score_frames

    start = time.perf_counter()
    try:
        with slot.held() as pricer:
            frame = score_frames(products, history, pricer, batch_size)
    except CatalogError as err:  # the table as a whole is unusable (a missing column, say)
        raise HTTPException(422, _one_line(str(err)) or "the catalog could not be scored") from None
    elapsed = 1000 * (time.perf_counter() - start)
    errors = int((frame["error"].fillna("").astype(str) != "").sum()) if "error" in frame.columns else 0
    model_id, adapter_id = slot.ids()
    return frame, ScoreSummary(skus=len(frame), scored=len(frame) - errors, errors=errors, policy=slot.name,
                               model_id=model_id, adapter_id=adapter_id, elapsed_ms=round(elapsed, 3))


def serve_api(host: str = "127.0.0.1", port: int = 8000, policy_name: str = "llm", model: str | None = None,
              adapter: str | None = None, token: str | None = None, max_body_bytes: int = MAX_BODY_BYTES,
              max_skus: int = MAX_SKUS, log_level: str = "info") -> None:
    """Serve the API with uvicorn, on the loopback interface unless `host` says otherwise."""
    import uvicorn

    app = create_app(policy_name=policy_name, model=model, adapter=adapter, token=token,
                     max_body_bytes=max_body_bytes, max_skus=max_skus)
    if host not in _LOOPBACK and not (token or os.environ.get(TOKEN_ENV)):
        log.warning("serving on %s without a token: anyone who can reach it can use it (set %s)", host, TOKEN_ENV)
    uvicorn.run(app, host=host, port=port, log_level=log_level, server_header=False, proxy_headers=False)
