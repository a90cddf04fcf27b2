"""The API's routes: a router per resource, the pricing service injected with `Depends`.

- `GET  /healthz`           liveness (never loads the model)
- `POST /v1/recommend`      one product -> a `Recommendation`
- `POST /v1/score/rows`     a catalog as JSON rows -> one row per SKU and a summary (or CSV)
- `POST /v1/score/files`    a catalog as uploaded files (multipart: `products`, optional `history`)
- `POST /v1/score`          deprecated alias of both, chosen by the body's content type (clients of the
                            first API version used it; new clients should call one of the two above)

The routes translate only: pricing, locking and seeding live in `agent.service.PricingService`, errors
become HTTP in `agent.api.errors`, the token and body limit in `agent.api.guard`.
"""

from __future__ import annotations

import csv
import io
import os
from typing import Any, Literal

import pandas as pd
from fastapi import APIRouter, Depends, File, Form, HTTPException, Query, Request, UploadFile
from fastapi.responses import Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from agent.api.errors import validation_from
from agent.api.schemas import ErrorBody, Health, RecommendRequest, ScoreRequest, ScoreResponse, ScoreSummary
from agent.recommend import Recommendation
from agent.service import PricingService
from env.errors import one_line

UPLOAD_FIELDS = ("products", "history")
FORM_FIELDS = (*UPLOAD_FIELDS, "columns")
Format = Literal["json", "csv"]
FORMAT = Query("json", alias="format", description="`csv` answers text/csv instead of JSON.")
COLUMNS_HELP = ("Optional column mapping: which file column holds which catalog column, e.g. "
                "`sku=Variant SKU,unit_cost=Cost per item,history.units=Qty` (`history.` for the history table). "
                "Shopify, WooCommerce and Amazon exports are recognised without it.")
COLUMNS_QUERY = Query(None, description=COLUMNS_HELP, max_length=2000)
SCORE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {"schema": {"type": "string"}}},
          "description": "JSON results and summary, or CSV with ?format=csv"},
    413: {"model": ErrorBody, "description": "More products than the server's limit"},
}


def get_service(request: Request) -> PricingService:
    """The app's one pricing service (set by `create_app`)."""
    return request.app.state.service


def get_max_skus(request: Request) -> int:
    return request.app.state.max_skus


ops = APIRouter(tags=["ops"])
pricing = APIRouter(prefix="/v1", tags=["pricing"])


@ops.get("/healthz", response_model=Health)
async def healthz(service: PricingService = Depends(get_service)) -> Health:
    """Liveness. Never loads the model: `model_id` is null until the first request loaded it.
    Runs on the event loop, so it answers even while every worker thread waits for the policy."""
    model_id, adapter_id = service.ids()
    return Health(status="ok", policy=service.name, model_id=model_id, adapter_id=adapter_id)


@pricing.post("/recommend", response_model=Recommendation)
def recommend_one(request: RecommendRequest, service: PricingService = Depends(get_service)) -> Recommendation:
    """One recommended price with its evidence, the guardrails that bound it and a grounded rationale."""
    return service.recommend(request.context(), request.seed)


@pricing.post("/score/rows", response_model=ScoreResponse, responses=SCORE_RESPONSES)
async def score_rows(body: ScoreRequest, fmt: Format = FORMAT, columns: str | None = COLUMNS_QUERY,
                     service: PricingService = Depends(get_service),
                     max_skus: int = Depends(get_max_skus)) -> Response:
    """Score a catalog sent as rows: one row per SKU (price, evidence columns, `error` where a row could not
    be scored). Rows may use the catalog's column names, a shop export's or any others named by `columns`."""
    _check_size(len(body.products), max_skus)
    mapping = _mapping(columns)
    products = await run_in_threadpool(_mapped_rows, body.products, mapping.products, "products")
    history = await run_in_threadpool(_mapped_rows, body.history, mapping.history, "history") \
        if body.history else None
    return await _scored(service, products, history, fmt)


@pricing.post("/score/files", response_model=ScoreResponse, responses=SCORE_RESPONSES)
async def score_files(request: Request,
                      products: UploadFile = File(description="Products table: .csv/.tsv/.txt (any delimiter and "
                                                              "encoding), .xlsx, .parquet or .jsonl (the file name "
                                                              "picks the reader); Shopify, WooCommerce and Amazon "
                                                              "exports are recognised."),
                      history: UploadFile | None = File(None, description="Optional sales history, same formats, "
                                                                          "or a Shopify / WooCommerce orders export."),
                      columns: str | None = Form(None, description=COLUMNS_HELP, max_length=2000),
                      fmt: Format = FORMAT, service: PricingService = Depends(get_service),
                      max_skus: int = Depends(get_max_skus)) -> Response:
    """Score a catalog uploaded as files (the same columns as the batch scorer reads)."""
    form = await request.form()
    unknown = sorted(set(form.keys()) - set(FORM_FIELDS))
    if unknown:
        raise HTTPException(422, f"{unknown[0]}: unknown upload field (expected products, history, columns)")
    mapping = _mapping(columns if columns is not None else request.query_params.get("columns"))
    product_table = await _read_upload(products, "products", mapping.products, history is not None)
    history_table = await _read_upload(history, "history", mapping.history) if history is not None else None
    _check_size(len(product_table), max_skus)
    return await _scored(service, product_table, history_table, fmt)


@pricing.post("/score", response_model=ScoreResponse, deprecated=True,
              responses={**SCORE_RESPONSES, 415: {"model": ErrorBody, "description": "Neither JSON nor multipart"}},
              openapi_extra={"requestBody": {"required": True, "content": {
                  "application/json": {"schema": {"$ref": "#/components/schemas/ScoreRequest"}},
                  "multipart/form-data": {"schema": {"type": "object", "required": ["products"], "properties": {
                      "products": {"type": "string", "format": "binary"},
                      "history": {"type": "string", "format": "binary"},
                      "columns": {"type": "string", "description": COLUMNS_HELP}}}}}}})
async def score_alias(request: Request, fmt: Format = FORMAT, columns: str | None = COLUMNS_QUERY,
                      service: PricingService = Depends(get_service),
                      max_skus: int = Depends(get_max_skus)) -> Response:
    """Deprecated: `/v1/score/rows` (JSON) or `/v1/score/files` (multipart) by the body's content type.
    Kept so clients of the first API version keep working; it answers exactly as those two do."""
    kind = content_type(request)
    if kind == "multipart/form-data":
        async with request.form(max_files=2, max_fields=3) as form:
            mapping = _mapping(checked_form(form, columns))
            with_history = form.get("history") is not None
            tables = [await _read_upload(form.get(name), name, getattr(mapping, name), with_history)
                      if form.get(name) is not None else None for name in UPLOAD_FIELDS]
        _check_size(len(tables[0]), max_skus)
        return await _scored(service, tables[0], tables[1], fmt)
    if kind in ("application/json", ""):
        try:
            body = ScoreRequest.model_validate_json(await request.body() or b"{}")
        except ValidationError as err:
            raise validation_from(err) from None
        return await score_rows(body, fmt, columns, service, max_skus)
    raise HTTPException(415, f"content type '{one_line(kind)[:80]}': send application/json "
                             "or multipart/form-data")


# --- helpers --------------------------------------------------------------------------------------


def content_type(request: Request) -> str:
    """The request's media type, lower case, without parameters (`multipart/form-data`, ...)."""
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


def checked_form(form: Any, columns: str | None) -> str | None:
    """The checks every multipart upload route makes (known fields only, a products file, `columns` as text);
    returns the column mapping's text: the form's field, else `columns` (the query parameter)."""
    unknown = sorted(set(form.keys()) - set(FORM_FIELDS))
    if unknown:
        raise HTTPException(422, f"{unknown[0]}: unknown upload field (expected products, history, columns)")
    if form.get("products") is None:
        raise HTTPException(422, "products: upload a products file (CSV, Excel, Parquet or JSONL)")
    text = form.get("columns", columns)
    if text is not None and not isinstance(text, str):
        raise HTTPException(422, "columns: must be a text field, not a file")
    return text


def _check_size(rows: int, max_skus: int) -> None:
    if rows > max_skus:
        raise HTTPException(413, f"products: {rows} rows, more than the limit of {max_skus} for one request; "
                                 "submit the catalog as a job instead (POST /v1/jobs)")
    if rows == 0:
        raise HTTPException(422, "products: the table has no rows")


def _rows_frame(rows: list[dict]) -> pd.DataFrame:
    """Rows as an object DataFrame where an absent key is None (missing), never NaN (a bad number)."""
    names = list(dict.fromkeys(k for r in rows for k in r))
    return pd.DataFrame({n: [r.get(n) for r in rows] for n in names}, index=range(len(rows)), dtype=object)


def _mapping(text: str | None) -> Any:
    """The client's column mapping (`agent.catalog.ColumnMap`); a malformed one is a CatalogError (a 422)."""
    from agent.catalog import ColumnMap

    return ColumnMap.parse(text)


def _mapped_rows(rows: list[dict], mapping: tuple[tuple[str, str], ...], field: str) -> pd.DataFrame:
    """JSON rows under catalog column names: shop-export names and the client's mapping resolved."""
    from agent.catalog import normalize_frame

    return normalize_frame(_rows_frame(rows), field, nan_missing=True, mapping=dict(mapping))


def _read_checked(data: bytes, name: str, field: str, mapping: tuple[tuple[str, str], ...],
                  with_history: bool) -> pd.DataFrame:
    from agent.catalog import TableSource, check_columns, read_upload

    table = read_upload(data, name, None, dict(mapping))
    check_columns(TableSource(name, data=data, mapping=mapping), field, with_history)  # names the file's columns
    return table


async def _read_upload(upload: Any, field: str, mapping: tuple[tuple[str, str], ...] = (),
                       with_history: bool = False) -> pd.DataFrame:
    """The uploaded file as a table, read from its bytes by the catalog's one reader (format from its name)."""
    if not isinstance(upload, UploadFile) and not hasattr(upload, "read"):
        raise HTTPException(422, f"{field}: must be a file upload, not a text field")
    data = await upload.read()
    name = os.path.basename(upload.filename or f"{field}.csv")
    try:
        return await run_in_threadpool(_read_checked, data, name, field, mapping, with_history)
    except Exception as err:  # a file we cannot parse is the client's mistake, in one line
        reason = one_line(str(err)) or type(err).__name__
        raise HTTPException(422, f"{field} file '{one_line(name)[:100]}': {reason}") from None


async def _scored(service: PricingService, products: pd.DataFrame, history: pd.DataFrame | None,
                  fmt: Format) -> Response:
    frame, summary = await run_in_threadpool(service.score, products, history)
    if fmt == "csv":
        text = await run_in_threadpool(_csv_text, frame)
        return Response(text, media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": 'attachment; filename="scores.csv"'})
    body = ('{"results":' + frame.to_json(orient="records", double_precision=15) + ',"summary":'
            + ScoreSummary(**vars(summary)).model_dump_json() + "}")
    return Response(body, media_type="application/json")


def _csv_text(frame: pd.DataFrame) -> str:
    """CSV of the results with spreadsheet formulas neutralised."""
    from pandas.api.types import is_numeric_dtype

    from agent.catalog import escape_formula

    frame = frame.copy()
    for column in frame.columns:
        if not is_numeric_dtype(frame[column]):  # text columns (object or pandas' string dtype)
            frame[column] = frame[column].map(escape_formula)
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False, quoting=csv.QUOTE_MINIMAL, lineterminator="\n")
    return buffer.getvalue()
