"""A live assistant server (page + API) for the client and browser tests."""

from __future__ import annotations

import socket
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

from tests.servers import serve_in_thread


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def live_server(**kwargs) -> Iterator[str]:
    """Serves `ui.server.create_server(**kwargs)` until the block ends; yields its base URL (scoring jobs in a
    temporary folder unless `jobs_dir` says otherwise)."""
    from ui.server import create_server

    with tempfile.TemporaryDirectory(prefix="pricing-test-jobs-") as jobs_dir:
        kwargs.setdefault("jobs_dir", jobs_dir)
        with serve_in_thread(create_server(**kwargs)) as url:
            yield url + "/"
