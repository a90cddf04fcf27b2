"""The web simulator shares the policy lock one decision at a time, not for a whole episode."""

from __future__ import annotations

import threading
import time

from agent.service import PricingService
from env.distribution import sample_task
from env.evaluation import build_policy, evaluate_task
from ui.app import OneDecisionAtATime


class _Slow:
    """Thompson sampling that takes 20 ms a decision, standing in for an LLM generation."""

    def __init__(self, task):
        self.inner = build_policy("ts", task)
        self.name = "ts"

    def reset(self, seed=None):
        self.inner.reset(seed)

    def act(self, context):
        time.sleep(0.02)
        return self.inner.act(context)


def test_a_request_gets_the_lock_between_two_periods_of_a_running_simulation():
    task = sample_task("test", 0, 40)  # 40 decisions: at least 0.8 s of simulation
    slot = PricingService(None, "evidence", None, None)
    result = {}

    def simulate():
        result["rows"] = evaluate_task(task, ["ts"], seed=0,
                                       factories={"ts": lambda t: OneDecisionAtATime(_Slow(t), slot)}).rows

    worker = threading.Thread(target=simulate)
    worker.start()
    time.sleep(0.1)
    with slot.exclusive():  # a chat turn or an API call arriving mid-simulation
        simulation_still_running = worker.is_alive()
    worker.join()
    assert simulation_still_running, "the request had to wait for the whole simulation"
    plain = evaluate_task(task, ["ts"], seed=0).rows
    assert result["rows"][0]["prices"] == plain[0]["prices"]  # the wrapper changes no decision


def test_the_wrapper_forwards_reset_and_name():
    task = sample_task("test", 1, 5)
    slot = PricingService(None, "evidence", None, None)
    wrapped = OneDecisionAtATime(build_policy("ts", task), slot)
    assert wrapped.name == "ts"
    rows = evaluate_task(task, ["ts"], seed=3,
                         factories={"ts": lambda t: OneDecisionAtATime(build_policy("ts", t), slot)}).rows
    plain = evaluate_task(task, ["ts"], seed=3).rows
    assert rows[0]["pct_oracle"] == plain[0]["pct_oracle"]
    assert not slot.lock.locked()


def test_the_simulated_llm_is_the_served_model_not_the_default():
    task = sample_task("test", 2, 3)
    served = PricingService(None, "llm", "tiny-random", "none")
    policy = served.policy_by_name("llm")
    assert policy.model_id.startswith("tiny-random") and policy.adapter_id is None
    run = evaluate_task(task, ["llm"], seed=0,
                        factories={"llm": lambda t: OneDecisionAtATime(served.policy_by_name("llm"), served)})
    assert len(run.rows[0]["prices"]) == 3 and len(run.trajectories["llm"].prices) == 3
    assert served.policy_by_name("ts").name == "ts"  # other names: the classical pricers
