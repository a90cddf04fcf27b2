"""What every `pricing` command group shares: one-line user errors, the server pre-flight, common options.

Why a module of its own: `finetune` and `ui` contribute command groups to the `pricing` app (entry points
in pyproject.toml) and need these helpers, but must not import `agent.cli`, which loads them: that was an
import circle.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager

import typer

from env.errors import describe_error

ADAPTER_HELP = ("For `llm`: a LoRA adapter folder or a name under agent/adapters "
                "(default: the shipped one; `none`: the bare model).")
MODEL_HELP = "For `llm`: a model folder or id (default: the embedded one)."
HOST_HELP = "Interface to listen on; 0.0.0.0 exposes it to the network."


@contextmanager
def user_errors() -> Iterator[None]:
    """A user mistake (bad value, missing file, broken JSON) ends the command with one line and exit code 2."""
    try:
        yield
    except (ValueError, FileNotFoundError, json.JSONDecodeError) as err:
        typer.echo(f"error: {describe_error(err)}", err=True)
        raise typer.Exit(2) from None


def check_server(host: str, port: int, policy: str, model: str | None, adapter: str | None) -> None:
    """Fails with one line before a server starts: bad port, unknown policy, port already taken."""
    import socket

    from agent.registry import product_policy

    if not 0 < port < 65536:
        raise ValueError("port: must be between 1 and 65535")
    product_policy(policy, model, adapter)  # an unknown name fails here, not on the first request
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((host, port))
        except OSError as err:
            raise ValueError(f"port: cannot listen on {host}:{port} ({err.strerror}); is another server "
                             "running? Try --port") from None
