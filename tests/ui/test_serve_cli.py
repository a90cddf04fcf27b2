"""`pricing serve`: prints its URL, serves page and API on one port, stops cleanly on Ctrl-C."""

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.ui.conftest import free_port

PRICING = str(Path(sys.executable).with_name("pricing"))


@pytest.mark.slow
def test_serve_starts_answers_and_stops_on_ctrl_c():
    port = free_port()
    proc = subprocess.Popen([PRICING, "serve", "--port", str(port), "--policy", "evidence"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        first = proc.stdout.readline()
        assert f"http://127.0.0.1:{port}/" in first
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        assert health.json()["policy"] == "evidence"
        assert "Pricing assistant" in httpx.get(f"http://127.0.0.1:{port}/").text
        proc.send_signal(signal.SIGINT)
        output = proc.communicate(timeout=20)[0]
        assert proc.returncode == 0, output
        assert "Traceback" not in output
    finally:
        if proc.poll() is None:
            proc.kill()


def test_busy_port_and_bad_options_are_one_line_errors():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run([PRICING, "serve", "--port", str(port), "--policy", "evidence"],
                                capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and result.stderr.startswith("error: port: cannot listen")
    assert len(result.stderr.strip().splitlines()) == 1
    bad = subprocess.run([PRICING, "serve", "--policy", "nonsense"], capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "unknown policy 'nonsense'" in bad.stderr


def test_warm_up_loads_the_model_before_the_first_request():
    """The LLM policy loads lazily; the server's warm-up must touch it so the first chat is not slow."""
    from ui.server import create_server, warm_up

    class LazyPolicy:
        name = "lazy"
        loads = 0

        @property
        def lm(self):
            LazyPolicy.loads += 1
            return object()

        def reset(self, seed=None):
            pass

        def act(self, context):
            return context.product.current_price

    app = create_server(policy=LazyPolicy())
    warm_up(app).join(timeout=30)
    assert LazyPolicy.loads == 1
