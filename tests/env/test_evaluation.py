"""The evaluation harness: oracle first, reproducible across worker counts, reports written."""

import json

import numpy as np
import pytest

from env.evaluation import bootstrap_ci, evaluate, evaluate_task, write_report
from env.scenarios import calvano_duopoly


@pytest.fixture(scope="module")
def small_run():
    return evaluate(["cost_plus", "ts", "oracle", "ucb"], split="validation", n_tasks=12, horizon=20, seed=1,
                    workers=1, progress=False)


def test_oracle_ranks_first(small_run):
    s = small_run.summary.set_index("policy")
    assert s.loc["oracle", "pct_oracle"] == pytest.approx(100.0)
    assert (s.drop("oracle")["pct_oracle"] < 100.0).all()
    per_task = small_run.per_task
    stateless = per_task[per_task.stockout_rate.isna()]  # no inventory: the per-period oracle is unbeatable
    assert (stateless.groupby("task_id").pct_oracle.idxmax().map(per_task.policy) == "oracle").mean() > 0.9


def test_same_numbers_with_more_workers(small_run):
    again = evaluate(["cost_plus", "ts", "oracle", "ucb"], split="validation", n_tasks=12, horizon=20, seed=1,
                     workers=2, progress=False)
    cols = ["policy", "task_id", "pct_oracle", "regret_pct", "volatility", "profit"]
    assert again.per_task[cols].equals(small_run.per_task[cols])


def test_other_seed_other_noise(small_run):
    other = evaluate(["cost_plus"], split="validation", n_tasks=12, horizon=20, seed=2, workers=1, progress=False)
    mine = small_run.per_task[small_run.per_task.policy == "cost_plus"]
    assert not np.allclose(other.per_task["profit"].to_numpy(), mine["profit"].to_numpy())


def test_metrics_are_consistent(small_run):
    df = small_run.per_task
    assert np.allclose(df.pct_oracle + df.regret_pct, 100.0)
    assert (df[df.policy == "cost_plus"].volatility < 1e-9).all()  # a fixed markup never moves
    curves = small_run.regret_curves()
    assert curves["oracle"] == pytest.approx(np.zeros(20))
    assert curves["ucb"][-1] > curves["ucb"][0]


def test_report_files(small_run, tmp_path):
    files = write_report(small_run, tmp_path)
    data = json.loads(files["json"].read_text())
    assert {r["policy"] for r in data["summary"]} == {"cost_plus", "ts", "oracle", "ucb"}
    assert "| oracle | 12 | 100.0" in files["markdown"].read_text()
    for key in ("regret_plot", "price_plot"):
        assert files[key].read_bytes()[:4] == b"\x89PNG"


def test_collusion_index_in_the_duopoly():
    # against a best-responding rival, the oracle's myopic best response lands at the one-shot Nash profit
    result = evaluate(["oracle"], tasks=[calvano_duopoly(horizon=30)], workers=1, progress=False)
    assert result.per_task.collusion_index.iloc[0] == pytest.approx(0.0, abs=0.05)


def test_registered_policies_run_like_pricers():
    class Constant:
        name = "constant"

        def reset(self, seed=None):
            pass

        def act(self, context):
            return context.product.unit_cost * 1.5

    factories = {"constant": lambda task: Constant(),
                 "constant_again": lambda task: Constant()}  # same class and .name, another label
    result = evaluate(["constant", "constant_again", "cost_plus"], split="test", n_tasks=3, horizon=5, workers=1,
                      progress=False, factories=factories)
    assert list(result.summary.policy) == ["constant", "constant_again", "cost_plus"]
    assert (result.summary.tasks == 3).all()


def test_bad_arguments():
    with pytest.raises(ValueError, match="unknown policy 'nope'"):
        evaluate(["nope"], n_tasks=2)
    with pytest.raises(ValueError, match="horizon"):
        evaluate(["oracle"], n_tasks=2, horizon=0)
    with pytest.raises(ValueError, match="split"):
        evaluate(["oracle"], split="holdout", n_tasks=2)


def test_bootstrap_interval_covers_the_mean():
    values = np.random.default_rng(0).normal(80, 10, 200)
    lo, hi = bootstrap_ci(values)
    assert lo < values.mean() < hi and hi - lo < 5


class BatchedMarkup:
    """A stateless batched policy: the harness must play it in lock-step and get the same numbers."""

    name = "batched_markup"

    def __init__(self):
        self.batch_sizes = []

    def reset(self, seed=None):
        pass

    def act(self, context):
        return context.product.unit_cost * 1.5

    def act_batch(self, contexts):
        self.batch_sizes.append(len(contexts))
        return [self.act(c) for c in contexts]


def test_batched_policies_run_in_lockstep_with_the_same_numbers():
    shared = BatchedMarkup()
    factories = {"markup_plain": lambda task: type("Plain", (), {
        "name": "plain", "reset": lambda self, seed=None: None,
        "act": lambda self, c: c.product.unit_cost * 1.5})(), "markup_batched": lambda task: shared}
    result = evaluate(["markup_plain", "markup_batched"], split="test", n_tasks=5, horizon=8, workers=1,
                      progress=False, batch_size=4, factories=factories)
    df = result.per_task.set_index(["policy", "task_id"])
    plain, batched = df.loc["markup_plain"], df.loc["markup_batched"]
    assert np.allclose(plain.pct_oracle, batched.loc[plain.index].pct_oracle)
    assert np.allclose(plain.profit, batched.loc[plain.index].profit)
    assert shared.batch_sizes[:8] == [4] * 8 and shared.batch_sizes[8] == 1  # 5 tasks, batches of 4 then 1


def test_the_harness_returns_every_policys_trajectory(small_run):
    per_task = small_run.per_task
    for name in ("cost_plus", "ts", "oracle", "ucb"):
        rows, trajectories = per_task[per_task.policy == name], small_run.trajectories[name]
        assert [t.task_id for t in trajectories] == rows.task_id.tolist()
        assert [t.prices.tolist() for t in trajectories] == rows.prices.tolist()
        assert np.allclose([t.profits.sum() for t in trajectories], rows.profit, rtol=0, atol=1e-9)
        assert np.allclose([t.revenue.sum() for t in trajectories], rows.revenue, rtol=0, atol=1e-9)
        assert all(t.prices.size == t.units.size == t.stock.size == len(t.competitor_prices) == 20
                   for t in trajectories)


def test_a_task_run_holds_each_policys_per_period_profits():
    task = calvano_duopoly(horizon=12)
    run = evaluate_task(task, ["ts", "cost_plus", "oracle"], seed=4)
    assert [r["policy"] for r in run.rows] == ["ts", "cost_plus", "oracle"]
    assert set(run.trajectories) == {"ts", "cost_plus", "oracle"} and run.oracle is run.trajectories["oracle"]
    for row in run.rows:
        traj = run.trajectories[row["policy"]]
        assert traj.profits.sum() == pytest.approx(row["profit"], abs=1e-9)
        assert traj.prices.tolist() == row["prices"]
        gap = np.cumsum(run.oracle.expected_profits - traj.expected_profits)
        assert np.allclose(100 * gap / run.oracle.expected_profits.sum(), row["regret_curve"])
    assert run.trajectories["ts"].competitor_prices.shape == (12, 1)  # the rival each period was played against


def test_in_process_policies_give_the_same_rows_beside_workers():
    class Markup:
        name = "markup"

        def reset(self, seed=None):
            pass

        def act(self, context):
            return context.product.unit_cost * 1.4

    args = dict(split="test", n_tasks=4, horizon=6, seed=2, progress=False, factories={"markup": lambda t: Markup()})
    names = ["cost_plus", "markup", "oracle", "ts"]
    alone, beside = evaluate(names, workers=1, **args), evaluate(names, workers=2, **args)
    cols = ["policy", "task_id", "pct_oracle", "profit", "prices"]
    assert alone.per_task[cols].equals(beside.per_task[cols])
    assert alone.per_task.policy.tolist()[:4] == names  # per task, in the order asked


def test_importing_the_agent_changes_no_registry():
    """Policies are handed to the harness; importing `agent` (or its registry) registers nothing anywhere."""
    import subprocess
    import sys

    code = """
import sys
import env.audit, env.episode, env.evaluation

def state():
    out = {}
    for name, mod in list(sys.modules.items()):
        if name == "env" or name.startswith("env."):
            for key, value in vars(mod).items():
                if isinstance(value, (dict, list, set)) and not key.startswith("__"):
                    out[(name, key)] = repr(sorted(map(repr, value)) if not isinstance(value, list) else value)
    return out

before, names = state(), env.evaluation.policy_names()
import agent, agent.registry, agent.policy  # noqa: E401
after = state()
changed = [k for k in before if before[k] != after.get(k)]
assert not changed, changed
assert env.evaluation.policy_names() == names and "llm" not in names and "evidence" not in names
assert not [n for m in (env.evaluation, env.episode, agent) for n in vars(m) if "register" in n.lower()]
print("ok")
"""
    root = __import__("pathlib").Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]
