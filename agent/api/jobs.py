"""The jobs routes: score a catalog in the background (`agent.jobs.JobQueue`), ask how far it got, fetch it.

- `POST /v1/jobs`                 a catalog (multipart files, or JSON rows as for /v1/score/rows) -> 202 + status
- `GET  /v1/jobs`                 every job, newest first
- `GET  /v1/jobs/{id}`            one job's status: rows done of total, SKUs/s, ETA, error
- `GET  /v1/jobs/{id}/result`     the scored catalog as CSV, once the job is done (409 before)

For catalogs past the synchronous routes' limits, and for clients that should not hold a connection
open for minutes. No SKU limit here (the scorer streams); the upload is streamed to disk, not held in
memory, under its own body limit (`create_app(max_job_bytes=)`, 2 GB by default).
"""

from __future__ import annotations

import json
import os
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import FileResponse, JSONResponse
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from agent.api.errors import validation_from
from agent.api.routes import UPLOAD_FIELDS, checked_form, content_type
from agent.api.schemas import ErrorBody, ScoreRequest
from agent.jobs import JobNotDone, JobNotFound, JobQueue, JobStatus
from env.errors import one_line

jobs = APIRouter(prefix="/v1/jobs", tags=["jobs"])

_BODY = {"requestBody": {"required": True, "content": {
    "multipart/form-data": {"schema": {"type": "object", "required": ["products"], "properties": {
        "products": {"type": "string", "format": "binary", "description": "Products table (any catalog format)"},
        "history": {"type": "string", "format": "binary", "description": "Optional sales history or orders"},
        "columns": {"type": "string", "description": "Optional column mapping, as for /v1/score/files"}}}},
    "application/json": {"schema": {"$ref": "#/components/schemas/ScoreRequest"}}}}}


def get_jobs(request: Request) -> JobQueue:
    """The app's job queue (set by `create_app`)."""
    return request.app.state.jobs


def _missing(job_id: str) -> HTTPException:
    return HTTPException(404, f"no job {one_line(job_id)[:40]!r}")


def _jsonl(rows: list[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(row, ensure_ascii=False, allow_nan=False) + "\n" for row in rows).encode()


@jobs.post("", status_code=202, response_model=JobStatus, openapi_extra=_BODY,
           responses={415: {"model": ErrorBody, "description": "Neither JSON nor multipart"}})
async def submit_job(request: Request, queue: JobQueue = Depends(get_jobs)) -> JSONResponse:
    """Queue a catalog for scoring and answer at once with the job's id and status (`Location`: its URL).
    The files' formats and required columns are checked now: a catalog that cannot be scored is a 422 here,
    not a failed job later."""
    kind = content_type(request)
    columns = request.query_params.get("columns")
    tables: dict[str, tuple[str, Any]] = {}
    if kind == "multipart/form-data":
        async with request.form(max_files=2, max_fields=3) as form:
            columns = checked_form(form, columns)
            for name in UPLOAD_FIELDS:
                upload = form.get(name)
                if upload is None:
                    continue
                if isinstance(upload, str):
                    raise HTTPException(422, f"{name}: must be a file upload, not a text field")
                tables[name] = (os.path.basename(upload.filename or f"{name}.csv"), upload.file)  # spooled to disk
            status = await run_in_threadpool(queue.submit, tables, columns)
    elif kind in ("application/json", ""):
        try:
            body = ScoreRequest.model_validate_json(await request.body() or b"{}")
        except ValidationError as err:
            raise validation_from(err) from None
        tables["products"] = ("products.jsonl", _jsonl(body.products))
        if body.history:
            tables["history"] = ("history.jsonl", _jsonl(body.history))
        status = await run_in_threadpool(queue.submit, tables, columns)
    else:
        raise HTTPException(415, f"content type '{one_line(kind)[:80]}': send application/json "
                                 "or multipart/form-data")
    location = str(request.url_for("job_status", job_id=status.id))
    return JSONResponse(status.model_dump(mode="json"), status_code=202, headers={"Location": location})


@jobs.get("", response_model=list[JobStatus])
def list_jobs(queue: JobQueue = Depends(get_jobs)) -> list[JobStatus]:
    """Every job this server holds, newest first."""
    return queue.list()


@jobs.get("/{job_id}", response_model=JobStatus, name="job_status",
          responses={404: {"model": ErrorBody, "description": "No such job"}})
def job_status(job_id: str, queue: JobQueue = Depends(get_jobs)) -> JobStatus:
    """Where the job stands: `queued`, `running` (rows done of total, SKUs/s, ETA in seconds), `done`
    (rows scored and rows with errors) or `failed` (why)."""
    try:
        return queue.get(job_id)
    except JobNotFound:
        raise _missing(job_id) from None


@jobs.get("/{job_id}/result", response_class=FileResponse,
          responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}, "description": "The scores"},
                     404: {"model": ErrorBody, "description": "No such job"},
                     409: {"model": ErrorBody, "description": "The job is not done (yet)"}})
def job_result(job_id: str, queue: JobQueue = Depends(get_jobs)) -> FileResponse:
    """The scored catalog as CSV (the batch scorer's columns; spreadsheet formulas neutralised), streamed
    from disk."""
    try:
        path = queue.result(job_id)
    except JobNotFound:
        raise _missing(job_id) from None
    except JobNotDone as err:
        raise HTTPException(409, str(err)) from None
    return FileResponse(path, media_type="text/csv; charset=utf-8", filename=f"scores-{job_id}.csv")
