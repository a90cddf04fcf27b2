"""A live assistant server (page + API) for the client and browser tests."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager

from tests.servers import serve_in_thread


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def live_server(**kwargs) -> Iterator[str]:
    """Serves `ui.server.create_server(**kwargs)` until the block ends; yields its base URL."""
    from ui.server import create_server

    with serve_in_thread(create_server(**kwargs)) as url:
        yield url + "/"
