"""Regenerates bench/results/ood.md: the shipped agent and the classical pricers on markets outside the
task distribution every learned part (the adapter, the GBM picker, meta-TS's prior) was trained on.

    .venv/bin/python bench/ood.py --tasks 12 --seed 0

Why: the test split is unseen tasks from the training distribution. A meta-policy that is only good there
has learned the distribution, not pricing. Each shift moves one thing past the range `env.distribution`
samples, on test tasks 200 onwards (after the ones `finetune.md` uses), and the hand-written scenarios
(`env.scenarios`) are markets no generator produced:

- `noisy`: demand noise x2.5 (0.12-0.62; training 0.05-0.25)
- `far_start`: the seller starts at 1.02x unit cost or at the top of the allowed band (training 1.2-2.5x cost)
- `steep`: constant-elasticity demand with the elasticity x1.7 (to about -9; training -0.6 to -5.2)
- `short`: 15 periods instead of 50 (less time to learn)
- `scenarios`: seasonal_perishable, member_pricing, inventory_constrained
"""

from __future__ import annotations

import argparse
import datetime
import sys
from collections.abc import Callable
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from agent.registry import in_process_policies  # noqa: E402
from bench.baselines import machine_info, paired_differences  # noqa: E402
from env.distribution import sample_task  # noqa: E402
from env.evaluation import bootstrap_ci, evaluate  # noqa: E402
from env.scenarios import make_scenario  # noqa: E402
from env.task import TaskSpec  # noqa: E402

RESULTS = ROOT / "bench" / "results"
POLICIES = ["oracle", "llm", "toolbox", "ts", "meta_ts", "cils", "evidence"]
FIRST_TASK = 200  # finetune.md uses test tasks 0-199
CLAIMS = [("llm", "toolbox"), ("llm", "ts"), ("llm", "meta_ts"), ("llm", "cils"), ("toolbox", "ts")]


def _noisy(task: TaskSpec, i: int) -> TaskSpec:
    return task.model_copy(update={"noise": task.noise * 2.5})


def _far_start(task: TaskSpec, i: int) -> TaskSpec:
    start = task.unit_cost * 1.02 if i % 2 == 0 else task.max_price
    return task.model_copy(update={"initial_price": round(max(start, task.min_price), 2)})


def _steep(task: TaskSpec, i: int) -> TaskSpec | None:
    if task.demand.kind != "constant_elasticity":
        return None
    steeper = task.demand.model_copy(update={"elasticity": task.demand.elasticity * 1.7})
    return task.model_copy(update={"demand": steeper})


def _short(task: TaskSpec, i: int) -> TaskSpec:
    return task.model_copy(update={"horizon": 15})


SHIFTS: dict[str, Callable[[TaskSpec, int], TaskSpec | None]] = {
    "noisy": _noisy, "far_start": _far_start, "steep": _steep, "short": _short}


def shifted_tasks(name: str, n: int) -> list[TaskSpec]:
    """`n` test tasks from FIRST_TASK on, each moved by the shift (tasks a shift does not apply to are skipped)."""
    tasks, index = [], FIRST_TASK
    while len(tasks) < n:
        moved = SHIFTS[name](sample_task("test", index, 50), index)
        if moved is not None:
            tasks.append(moved.model_copy(update={"task_id": f"{name}-{moved.task_id}"}))
        index += 1
    return tasks


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tasks", type=int, default=12, help="tasks per shift")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=RESULTS / "ood.md")
    args = ap.parse_args()

    groups = {name: shifted_tasks(name, args.tasks) for name in SHIFTS}
    groups.update({name: [make_scenario(name)] for name in ("seasonal_perishable", "member_pricing",
                                                             "inventory_constrained")})
    # Each finished group is kept under runs/ood/, so a run cut short (a session ends) resumes at the next group.
    checkpoints = ROOT / "runs" / "ood" / f"tasks{args.tasks}-seed{args.seed}"
    checkpoints.mkdir(parents=True, exist_ok=True)
    frames = []
    for group, tasks in groups.items():
        saved = checkpoints / f"{group}.pkl"
        if saved.exists():
            frames.append(pd.read_pickle(saved))
            print(group, "resumed from", saved, flush=True)
            continue
        result = evaluate(POLICIES, tasks=tasks, split=group, horizon=tasks[0].horizon, seed=args.seed,
                          workers=2, factories=in_process_policies(), progress=False)
        frame = result.per_task.assign(group=group)
        frame.to_pickle(saved.with_suffix(".tmp"))
        saved.with_suffix(".tmp").replace(saved)
        frames.append(frame)
        print(group, "done", flush=True)
    per_task = pd.concat(frames, ignore_index=True)

    rows = ["| group | tasks | " + " | ".join(p for p in POLICIES if p != "oracle") + " |",
            "|---|---:|" + "---:|" * (len(POLICIES) - 1)]
    for group, block in list(per_task.groupby("group", sort=False)) + [("all", per_task)]:
        cells = []
        for policy in POLICIES[1:]:
            values = block.loc[block.policy == policy, "pct_oracle"].to_numpy()
            lo, hi = bootstrap_ci(values) if len(values) > 1 else (values[0], values[0])
            cells.append(f"{values.mean():.1f} ({lo:.1f}–{hi:.1f})" if len(values) > 1 else f"{values.mean():.1f}")
        rows.append(f"| {group} | {block.task_id.nunique()} | " + " | ".join(cells) + " |")
    pct = per_task.pivot_table(index="task_id", columns="policy", values="pct_oracle")
    below = {p: int((pct[p] < 50).sum()) for p in POLICIES[1:]}

    command = f".venv/bin/python bench/ood.py --tasks {args.tasks} --seed {args.seed}"
    text = [
        "# Off the training distribution: shifted markets and hand-written scenarios", "",
        f"Regenerate with `{command}`.",
        f"Run on {datetime.date.today()}: {machine_info()}; the LLM is the shipped agent (default adapter, "
        "compact prompt, dtype auto, greedy).", "",
        __doc__.split("\n\n", 2)[2].strip(), "",
        "% of oracle profit, mean over the group's tasks (95% bootstrap CI where the group has several):", "",
        *rows, "",
        "Paired differences over all shifted tasks and scenarios (same tasks, same noise):", "",
        paired_differences(per_task.drop(columns=["group"]), CLAIMS),
        "Tasks below 50% of oracle: " + ", ".join(f"{p} {n}" for p, n in below.items()) + ".", "",
    ]
    args.out.write_text("\n".join(text))
    per_task.drop(columns=["regret_curve", "prices"]).to_json(args.out.with_suffix(".json"), orient="records",
                                                              indent=1)
    print("\n".join(text))


if __name__ == "__main__":
    main()
