"""`pricing serve`: the merchant assistant's command, contributed to the `pricing` app by entry point.

pyproject.toml declares `register` under `pricing.commands`; `agent.cli` calls it at start-up, so the
agent layer never imports the UI (the layers run env <- agent <- finetune, ui).
"""

from __future__ import annotations

import typer

from agent.cli_support import ADAPTER_HELP, HOST_HELP, MODEL_HELP, check_server, user_errors


def serve(
    host: str = typer.Option("127.0.0.1", help=HOST_HELP),
    port: int = typer.Option(7860, help="TCP port."),
    policy: str = typer.Option("llm", help="llm or a classical pricer name (evidence, ts, cils, ...)."),
    model: str | None = typer.Option(None, help=MODEL_HELP),
    adapter: str | None = typer.Option(None, help=ADAPTER_HELP),
    reader: str = typer.Option("llm", help="How the chat reads messages: llm (the message-reader adapter, the "
                                          "pattern matcher filling in) or matcher (the pattern matcher alone)."),
) -> None:
    """Start the merchant assistant: the web page at / (chat, catalog, simulator) and the HTTP API at /v1."""
    with user_errors():
        check_server(host, port, policy, model, adapter)
        if reader not in ("llm", "matcher"):
            raise ValueError(f"--reader must be llm or matcher, not {reader!r}")
    from ui.server import serve as run

    run(host=host, port=port, policy_name=policy, model=model, adapter=adapter, reader=reader)


def register(app: typer.Typer) -> None:
    """Adds `serve` to the `pricing` app."""
    app.command()(serve)
