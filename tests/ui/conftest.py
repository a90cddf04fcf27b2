"""A live server (uvicorn in a thread, on a free loopback port) for the client and browser tests."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import uvicorn


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def live_server(**kwargs) -> Iterator[str]:
    """Serves `ui.server.create_server(**kwargs)` until the block ends; yields its base URL."""
    from ui.server import create_server

    app = create_server(**kwargs)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.2)
    else:
        raise RuntimeError("the test server did not start within 60 s")
    try:
        yield url + "/"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
