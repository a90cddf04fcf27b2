"""One process, one port: the Gradio assistant at `/` and the HTTP API at `/v1` (FastAPI).

`pricing serve` and `make demo` run `serve()`. The API app (`agent.api.create_app`) owns the
pricing service (`agent.service.PricingService`); the web page prices through the same service, so both
share one loaded model and one lock. The model loads in a background thread at start-up: the page is up
at once and the first recommendation does not pay for the load when the merchant is still typing.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import gradio as gr
from fastapi import FastAPI

from agent.api import create_app, start_jobs

log = logging.getLogger("ui.server")


def create_server(policy=None, policy_name: str = "llm", model: str | None = None, adapter: str | None = None,
                  token: str | None = None, reader: str = "matcher", jobs_dir: str | Path | None = None) -> FastAPI:
    """The FastAPI app with the API routes and the Gradio page mounted at `/`.

    `reader`: how the chat reads messages, "llm" (the message-reader adapter, the matcher filling in) or
    "matcher" (the pattern matcher alone: the default here, so tests and embedders load no second model;
    `pricing serve` asks for "llm")."""
    from ui.app import build_ui
    from ui.message_reader import MessageReader

    app = create_app(policy=policy, policy_name=policy_name, model=model, adapter=adapter, token=token,
                     jobs_dir=jobs_dir)
    label = policy_name if policy is None else getattr(policy, "name", policy_name)
    if label == "llm":
        label = f"llm ({model or 'embedded SmolLM2-135M-Instruct'}, adapter {adapter or 'shipped default'})"
    app.state.reader = MessageReader(reader)  # the reader adapter belongs to the embedded model, whatever prices
    blocks = build_ui(app.state.service, label, app.state.reader, app.state.jobs)
    blocks.queue(default_concurrency_limit=4)
    return gr.mount_gradio_app(app, blocks, path="/", ssr_mode=False, footer_links=["api"])


def warm_up(app: FastAPI) -> threading.Thread:
    """Loads the policy (the model) in the background, under the service's lock."""

    def load() -> None:
        try:
            with app.state.service.held() as policy:
                getattr(policy, "lm", None)  # the LLM policy loads its model on first use: use it now
            log.info("policy ready")
            reader = getattr(app.state, "reader", None)
            if reader is not None:
                reader.load()
                log.info("message reader: %s", reader.active)
        except Exception as err:  # a broken model shows on the first request, with its own message
            log.warning("could not load the policy in the background: %s", err)

    thread = threading.Thread(target=load, name="warm-up", daemon=True)
    thread.start()
    return thread


def serve(host: str = "127.0.0.1", port: int = 7860, policy_name: str = "llm", model: str | None = None,
          adapter: str | None = None, token: str | None = None, log_level: str = "warning",
          reader: str = "llm") -> None:
    """Serves until Ctrl-C (uvicorn shuts down cleanly on SIGINT/SIGTERM)."""
    import uvicorn

    app = create_server(policy_name=policy_name, model=model, adapter=adapter, token=token, reader=reader)
    start_jobs(app)  # jobs a stopped server left unfinished resume now
    warm_up(app)
    shown = f"[{host}]" if ":" in host else host
    print(f"Pricing assistant: http://{shown}:{port}/  (API: http://{shown}:{port}/docs)  Ctrl-C to stop",
          flush=True)
    uvicorn.run(app, host=host, port=port, log_level=log_level, server_header=False, proxy_headers=False)
