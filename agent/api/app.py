"""Building and serving the API app: the service, the gate, the error handlers and the routers, wired once."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import fastapi_offline
from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.staticfiles import StaticFiles

from agent.api.errors import install_error_handlers
from agent.api.guard import Gate, token_ok
from agent.api.jobs import jobs
from agent.api.routes import ops, pricing
from agent.api.schemas import ErrorBody
from agent.jobs import JobQueue
from agent.service import LOCK_WAIT_S, PricingService

log = logging.getLogger("agent.api")

TOKEN_ENV = "PRICING_API_TOKEN"
JOBS_ENV = "PRICING_JOBS_DIR"
DEFAULT_JOBS_DIR = "runs/jobs"
MAX_BODY_BYTES = 10_000_000
MAX_SKUS = 10_000
MAX_JOB_BYTES = 2_000_000_000  # a job's upload is streamed to disk, not held in memory
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}
DOCS_ASSETS = "/docs-assets"  # Swagger UI's and ReDoc's JS/CSS, served from the fastapi-offline package
_ASSETS_DIR = Path(fastapi_offline.__file__).parent / "static"

DESCRIPTION = """Price recommendations with their evidence and guardrails, for one product or a whole catalog.

The boundary is strict: request schemas forbid unknown fields and non-finite numbers, and a validation
error is a 422 whose `message` names the field path (`product.unit_cost: ...`). Guardrails that admit no
price are a 422 too. Bodies over the server's limit are refused with 413, from Content-Length before
anything is read and while reading otherwise; more products than the limit is a 413. With a token
(`PRICING_API_TOKEN`) every `/v1` route needs `Authorization: Bearer <token>`; `/healthz` stays open.
Product names are untrusted text: the API answers JSON (or CSV with spreadsheet formulas neutralised).

Every call holds the policy's one lock (503 with Retry-After when it stays busy) and resets the policy
with a seed (the request's, else one derived from the SKU, as the batch scorer does), so the same request
gets the same price and `/v1/recommend` and `/v1/score/*` agree on a product. `/v1/score` is the
deprecated alias of `/v1/score/rows` and `/v1/score/files`, chosen by content type."""


def create_app(policy: Any = None, policy_name: str = "llm", model: str | None = None, adapter: str | None = None,
               token: str | None = None, max_body_bytes: int = MAX_BODY_BYTES, max_skus: int = MAX_SKUS,
               lock_wait_s: float = LOCK_WAIT_S, service: PricingService | None = None,
               jobs_dir: str | Path | None = None, max_job_bytes: int = MAX_JOB_BYTES) -> FastAPI:
    """The API app over `service` (default: a new `PricingService(policy, policy_name, model, adapter)`, which
    builds the policy on first use). `token` (else `$PRICING_API_TOKEN`) protects /v1. Scoring jobs live
    under `jobs_dir` (else `$PRICING_JOBS_DIR`, else runs/jobs); their worker starts with the first job, or
    at `start_jobs` (the servers call it, so jobs a stopped server left unfinished resume)."""
    token = token or os.environ.get(TOKEN_ENV) or None
    service = service or PricingService(policy, policy_name, model, adapter, lock_wait_s=lock_wait_s)
    app = FastAPI(title="LLM pricing assistant API", version="0.2.0", description=DESCRIPTION,
                  docs_url=None, redoc_url=None,  # the CDN's copies: served from disk instead (_offline_docs)
                  responses={413: {"model": ErrorBody, "description": "Body or catalog over the limit"},
                             422: {"model": ErrorBody, "description": "Invalid request; `message` names the field"}})
    app.state.service, app.state.max_skus, app.state.max_body_bytes = service, max_skus, max_body_bytes
    app.state.jobs = JobQueue(jobs_dir or os.environ.get(JOBS_ENV) or DEFAULT_JOBS_DIR, service)
    install_error_handlers(app)
    app.add_middleware(Gate, max_body_bytes=max_body_bytes, token=token, streamed={"/v1/jobs": max_job_bytes})
    guarded = [Depends(_bearer_check(token))] if token is not None else []
    app.include_router(ops)
    _offline_docs(app)
    for router in (pricing, jobs):
        app.include_router(router, dependencies=guarded,
                           responses={401: {"model": ErrorBody, "description": "Missing or wrong bearer token"}}
                           if token is not None else None)
    return app


def start_jobs(app: FastAPI) -> None:
    """Starts the app's scoring-job worker, taking up the jobs a stopped server left unfinished."""
    app.state.jobs.start()


def _offline_docs(app: FastAPI) -> None:
    """/docs (Swagger UI) and /redoc with their JS and CSS from disk, so the docs work without internet.
    Open like /healthz: the gate guards /v1 only. Added before anything mounted at `/` (the Gradio page)."""
    app.mount(DOCS_ASSETS, StaticFiles(directory=_ASSETS_DIR), name="docs-assets")
    redirect = app.swagger_ui_oauth2_redirect_url or "/docs/oauth2-redirect"

    @app.get("/docs", include_in_schema=False)
    def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "").rstrip("/")
        return get_swagger_ui_html(openapi_url=root + app.openapi_url, title=f"{app.title} - docs",
                                   oauth2_redirect_url=root + redirect,
                                   swagger_js_url=f"{root}{DOCS_ASSETS}/swagger-ui-bundle.js",
                                   swagger_css_url=f"{root}{DOCS_ASSETS}/swagger-ui.css",
                                   swagger_favicon_url=f"{root}{DOCS_ASSETS}/favicon.png",
                                   swagger_ui_parameters={"validatorUrl": None})  # no call to the validator's site

    @app.get(redirect, include_in_schema=False)
    def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get("/redoc", include_in_schema=False)
    def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "").rstrip("/")
        return get_redoc_html(openapi_url=root + app.openapi_url, title=f"{app.title} - ReDoc",
                              redoc_js_url=f"{root}{DOCS_ASSETS}/redoc.standalone.js",
                              redoc_favicon_url=f"{root}{DOCS_ASSETS}/favicon.png", with_google_fonts=False)


def _bearer_check(token: str):
    """The token as a dependency: the gate already refused a wrong one before the body was read; this
    repeats the check so /docs shows the routes as protected."""
    bearer = HTTPBearer(auto_error=False, description="Required when the server has a token.")

    def authorised(credentials: HTTPAuthorizationCredentials | None = Depends(bearer)) -> None:
        if credentials is None or not token_ok(f"Bearer {credentials.credentials}", token):
            raise HTTPException(401, "missing or wrong bearer token", headers={"WWW-Authenticate": "Bearer"})

    return authorised


def serve_api(host: str = "127.0.0.1", port: int = 8000, policy_name: str = "llm", model: str | None = None,
              adapter: str | None = None, token: str | None = None, max_body_bytes: int = MAX_BODY_BYTES,
              max_skus: int = MAX_SKUS, log_level: str = "info") -> None:
    """Serve the API with uvicorn, on the loopback interface unless `host` says otherwise."""
    import uvicorn

    app = create_app(policy_name=policy_name, model=model, adapter=adapter, token=token,
                     max_body_bytes=max_body_bytes, max_skus=max_skus)
    start_jobs(app)
    if host not in _LOOPBACK and not (token or os.environ.get(TOKEN_ENV)):
        log.warning("serving on %s without a token: anyone who can reach it can use it (set %s)", host, TOKEN_ENV)
    uvicorn.run(app, host=host, port=port, log_level=log_level, server_header=False, proxy_headers=False)
