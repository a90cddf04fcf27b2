"""Regenerates bench/results/baselines.md: every classical pricer on the test split.

    .venv/bin/python bench/baselines.py --tasks 200 --horizon 50 --seed 0

Writes the markdown table (with the command, machine and seeds), a per-segment breakdown,
the regret-curve plot, and the full per-task numbers as JSON beside it.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from env.distribution import sample_task  # noqa: E402
from env.evaluation import bootstrap_ci, evaluate, plot_regret  # noqa: E402
from env.pricers import PRICER_NAMES  # noqa: E402

RESULTS = ROOT / "bench" / "results"


def machine_info() -> str:
    """The machine a table was made on, with its CPU kind and what dtype "auto" meant there.

    Why the dtype: LLM figures (speed, and greedy decisions) from one kind of CPU (or dtype) do not carry
    to one without (see bench/README.md); classical pricers run in numpy float64 on either.
    """
    from agent.hardware import cpu_kind, cpu_model_name, resolve_dtype

    auto = str(resolve_dtype("auto")).removeprefix("torch.")
    return (f"{platform.platform()}, {cpu_model_name()} CPU of kind {cpu_kind()} "
            f"(LLM dtype auto = {auto}), {os.cpu_count()} cores, Python {platform.python_version()}, "
            f"numpy {np.__version__}, pandas {pd.__version__}")


def segment_of(task) -> list[str]:
    """The groups a task belongs to, for the breakdown table."""
    groups = [task.demand.kind]
    if task.inventory is not None:
        groups.append("inventory")
    if task.reference is not None:
        groups.append("reference price")
    if any(c.reactive for c in task.competitors):
        groups.append("reactive rival")
    if task.demand.kind == "constant_elasticity" and task.demand.elasticity > -1:
        groups.append("inelastic (optimum at ceiling)")
    return groups


def breakdown(per_task: pd.DataFrame, tasks: dict) -> str:
    rows = []
    for r in per_task.itertuples():
        for g in segment_of(tasks[r.task_id]):
            rows.append({"policy": r.policy, "segment": g, "pct": r.pct_oracle})
    df = pd.DataFrame(rows)
    table = df.pivot_table(index="policy", columns="segment", values="pct", aggfunc="mean", sort=False)
    counts = df[df.policy == df.policy.iloc[0]].groupby("segment").size()
    cols = list(table.columns)
    lines = ["| policy | " + " | ".join(f"{c} (n={counts[c]})" for c in cols) + " |",
             "|---|" + "---:|" * len(cols)]
    for policy, row in table.iterrows():
        lines.append(f"| {policy} | " + " | ".join(f"{row[c]:.1f}" for c in cols) + " |")
    return "\n".join(lines) + "\n"


CLAIMS = [("ts", "ils"), ("cils", "ils"), ("ts", "cost_plus"), ("cils", "cost_plus"), ("meta_ts", "ts"),
          ("ts", "cils")]


def paired_differences(per_task: pd.DataFrame, claims: list[tuple[str, str]] = CLAIMS) -> str:
    """A minus B per task (same task, same noise), with a 95% bootstrap interval and a win rate.

    Intervals of the two means overlap far more than the paired difference's does: common random
    numbers make the per-task difference the quantity to test.
    """
    pct = per_task.pivot(index="task_id", columns="policy", values="pct_oracle")
    lines = ["| comparison | mean difference (pp) | 95% CI | A better on |", "|---|---:|---:|---:|"]
    for a, b in claims:
        if a in pct and b in pct:
            diff = (pct[a] - pct[b]).to_numpy()
            lo, hi = bootstrap_ci(diff)
            wins = (diff > 0).mean()
            lines.append(f"| {a} − {b} | {diff.mean():+.1f} | {lo:+.1f} … {hi:+.1f} | {wins:.0%} of tasks |")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tasks", type=int, default=200)
    ap.add_argument("--horizon", type=int, default=50)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", type=Path, default=RESULTS / "baselines.md")
    args = ap.parse_args()

    policies = ["oracle", *PRICER_NAMES]
    result = evaluate(policies, split="test", n_tasks=args.tasks, horizon=args.horizon, seed=args.seed,
                      workers=args.workers)
    tasks = {f"test-{i:05d}": sample_task("test", i, args.horizon) for i in range(args.tasks)}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    plot = args.out.with_name(args.out.stem + "_regret.png")
    plot_regret(result, plot)
    args.out.with_suffix(".json").write_text(result.to_json())
    command = f".venv/bin/python bench/baselines.py --tasks {args.tasks} --horizon {args.horizon} --seed {args.seed}"
    text = f"""# Classical pricers on the simulated market

Regenerate with `{command}` (or `make bench`).
Run on {datetime.date.today().isoformat()}: {machine_info()}; {args.workers} worker processes,
total wall time {result.settings['total_wall_s']:.0f} s.

{args.tasks} tasks of the **test** split (task seeds from `env.distribution`, disjoint from train and
validation), T = {args.horizon} periods each, evaluation seed {args.seed}. Every policy of a task faces
the same demand noise (common random numbers). Definitions are in `env/evaluation.py`: % of oracle
profit is expected profit of the policy's prices over the oracle's expected profit on the same task
and noise (per-period optimum on stateless tasks, dynamic-programming plan where stock or reference
prices carry over); the interval is a 95% bootstrap interval over tasks; regret is the gap in % of the
oracle's total; volatility is mean |Δp|/p between periods; wall s sums each policy's episode times
(simulation included) over all tasks.

{result.to_markdown()}
## Paired comparisons (same tasks, same noise)

{paired_differences(result.per_task)}
## Where each pricer wins and loses: mean % of oracle profit by task segment

A task can be in several segments (e.g. linear demand with inventory).

{breakdown(result.per_task, tasks)}
![regret curves]({plot.name})

Per-task numbers: `{args.out.with_suffix('.json').name}`.
"""
    args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
