"""The simulator reports progress per period and policy, and Stop ends a run between two decisions."""

from __future__ import annotations

import threading
import time

import pytest

from agent.service import PricingService
from env.distribution import sample_task
from env.evaluation import build_policy, evaluate_task
from ui.app import TASK_CHOICE, OneDecisionAtATime
from ui.simulation import SimulationRuns, SimulationStopped, period_progress

TIMINGS = ("act_ms", "episode_s")


def numbers(rows: list[dict]) -> list[dict]:
    """The rows without their timings, NaN as a string (NaN is not equal to itself)."""
    return [{k: "nan" if v != v else v for k, v in row.items() if k not in TIMINGS} for row in rows]


def test_progress_is_called_once_per_period_per_policy_and_changes_no_number():
    task = sample_task("test", 0, 12)
    calls = []
    run = evaluate_task(task, ["ts", "cils", "oracle"], seed=0, progress=lambda *call: calls.append(call))
    assert calls == [(label, t, 12) for label in ("oracle", "ts", "cils") for t in range(1, 13)]
    plain = evaluate_task(task, ["ts", "cils", "oracle"], seed=0)
    assert numbers(run.rows) == numbers(plain.rows)
    assert run.trajectories["ts"].prices.tolist() == plain.trajectories["ts"].prices.tolist()


def test_the_bar_advances_over_every_policys_periods():
    shown = []
    tick = period_progress(lambda fraction, desc: shown.append((fraction, desc)), ["ts", "oracle"], 4,
                           threading.Event())
    evaluate_task(sample_task("test", 1, 4), ["ts", "oracle"], seed=0, progress=tick)
    fractions = [f for f, _ in shown]
    assert fractions == sorted(fractions) and len(set(fractions)) == 8 and fractions[-1] == 1.0
    assert [d for _, d in shown][:5] == [*(f"oracle: period {t}/4" for t in range(1, 5)), "ts: period 1/4"]


def test_a_long_run_pauses_between_decisions_so_the_server_can_read_a_stop(monkeypatch):
    import ui.simulation

    clock, sleeps = [0.0], []
    monkeypatch.setattr(ui.simulation.time, "monotonic", lambda: clock[0])
    monkeypatch.setattr(ui.simulation.time, "sleep", sleeps.append)
    tick = period_progress(lambda fraction, desc: None, ["ts"], 100, threading.Event())
    for period in range(1, 101):
        clock[0] += 0.006  # a decision every 6 ms: a pause after every 4th (24 ms > 20 ms)
        tick("ts", period, 100)
    assert sleeps == [ui.simulation.PAUSE_S] * 25 and ui.simulation.PAUSE_S > 0


def test_stop_ends_the_run_between_decisions_and_leaves_the_lock_free():
    task = sample_task("test", 0, 30)
    slot = PricingService(None, "evidence", None, None)
    stopped, seen = threading.Event(), []
    tick = period_progress(lambda fraction, desc: seen.append(desc), ["ts"], task.horizon, stopped)

    def progress(label: str, period: int, total: int) -> None:
        if label == "ts" and period == 5:
            stopped.set()  # Stop pressed while the policy plays
        tick(label, period, total)

    factories = {"ts": lambda t: OneDecisionAtATime(build_policy("ts", t), slot)}
    with pytest.raises(SimulationStopped):
        evaluate_task(task, ["ts"], seed=0, factories=factories, progress=progress)
    assert seen[-1] == "ts: period 4/30"
    assert not slot.lock.locked()
    rows = evaluate_task(task, ["ts"], seed=0, factories=factories).rows  # the next run is not blocked
    assert numbers(rows) == numbers(evaluate_task(task, ["ts"], seed=0).rows)
    assert not slot.lock.locked()


def test_stop_flags_are_per_session_and_forgotten_after_the_run():
    runs = SimulationRuns()
    with runs.running("a") as a, runs.running("a") as a2, runs.running("b") as b:
        assert runs.stop("a") == 2
        assert a.is_set() and a2.is_set() and not b.is_set()
    assert runs.stop("a") == 0 and runs.stop("b") == 0
    with runs.running("a") as again:
        assert not again.is_set()  # a new run starts unstopped


@pytest.mark.slow
def test_the_stop_button_ends_a_running_simulation_on_the_served_page():
    from gradio_client import Client
    from gradio_client.utils import Status

    from tests.servers import serve_in_thread
    from ui.server import create_server

    app = create_server(policy_name="evidence")
    with serve_in_thread(app) as url:
        # the client shares the server's process (and GIL): a longer wait than httpx's 5 s default
        client = Client(url + "/", verbose=False, httpx_kwargs={"timeout": 60})
        try:
            started = time.monotonic()
            job = client.submit(TASK_CHOICE, 0, 20_000, ["ts"], api_name="/simulate")  # a minute if left alone
            while not (job.status().progress_data or job.done()):
                assert time.monotonic() - started < 60, "no progress reported"
                time.sleep(0.05)
            progress = job.status().progress_data
            assert progress and "period" in (progress[-1].desc or "")
            client.predict(api_name="/stop_simulation")
            with pytest.raises(Exception, match="Stopped"):  # only a run stopped midway says so
                job.result(timeout=60)
            assert job.status().code == Status.FINISHED
            assert not app.state.service.lock.locked()
        finally:
            client.close()
