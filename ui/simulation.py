"""Progress and Stop for the web simulator (the Simulator tab of `ui.app`).

`evaluate_task` calls a progress callback after every decision of every policy; `period_progress` turns
that into a `gr.Progress` update ("ts: period 12/50") and is where a Stop takes effect: it raises
`SimulationStopped` between two decisions, when no policy lock is held (`ui.app.OneDecisionAtATime` takes
the lock inside each decision only). Gradio's `cancels` drops a queued run and the page's spinner, but lets
a running (sync) function finish, hence the flags of `SimulationRuns`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager


class SimulationStopped(Exception):
    """Stop was pressed: raised from the progress callback between two decisions (no lock is held there)."""


class SimulationRuns:
    """Stop flags of the running simulations, by browser session. Gradio's `cancels` lets a running (sync)
    function finish, so Stop also sets its session's flags, which each run checks after every decision."""

    def __init__(self) -> None:
        self._flags: dict[str, set[threading.Event]] = {}
        self._lock = threading.Lock()

    @contextmanager
    def running(self, session: str) -> Iterator[threading.Event]:
        flag = threading.Event()
        with self._lock:
            self._flags.setdefault(session, set()).add(flag)
        try:
            yield flag
        finally:
            with self._lock:
                self._flags[session].discard(flag)
                if not self._flags[session]:
                    del self._flags[session]

    def stop(self, session: str) -> int:
        """Stops the session's simulations; how many were running."""
        with self._lock:
            flags = list(self._flags.get(session, ()))
        for flag in flags:
            flag.set()
        return len(flags)


# A simulation runs in one of the server's threads, in pure Python; without a pause it keeps the GIL, and the
# server's event loop waits a switch interval (5 ms) for it at every socket call: a Stop click took 2-5 s to be
# received. Sleeping 1 ms every 20 ms lets the loop run whole requests (0.1-0.16 s), for ~9% of the run's speed.
PAUSE_EVERY_S, PAUSE_S = 0.02, 0.001


def period_progress(progress: Callable, policies: list[str], horizon: int,
                    stopped: threading.Event) -> Callable[[str, int, int], None]:
    """`evaluate_task`'s progress callback for a `gr.Progress`: "ts: period 12/50", the bar over every
    policy's periods (the oracle's first); raises `SimulationStopped` once `stopped` is set, and pauses
    `PAUSE_S` every `PAUSE_EVERY_S` so the server can read the Stop click meanwhile."""
    labels = list(dict.fromkeys(["oracle", *policies]))
    paused_at = [time.monotonic()]

    def tick(label: str, period: int, total: int) -> None:
        if stopped.is_set():
            raise SimulationStopped
        if time.monotonic() - paused_at[0] > PAUSE_EVERY_S:
            time.sleep(PAUSE_S)
            paused_at[0] = time.monotonic()
        done = labels.index(label) * total + period if label in labels else period
        progress(done / (len(labels) * max(total, 1)), desc=f"{label}: period {period}/{total}")

    return tick
