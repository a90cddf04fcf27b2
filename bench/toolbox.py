"""Regenerates bench/results/toolbox.md: the toolbox's candidates alone and under a fixed rule.

    .venv/bin/python bench/toolbox.py --tasks 200 --horizon 50 --seed 0

The LLM meta-policy reads the toolbox (`agent.candidates`: one optimum per demand family, a
stock-aware plan, an exploration probe) and picks a price. What it adds is only what it earns
over these deterministic pricers, so they are measured first, on the same tasks and noise as
`finetune.md`: each candidate alone (`toolbox_<name>`, falling back to the rule where that
candidate does not exist) and the fixed rule `toolbox` (the stock plan where stock is known, else
the best leave-one-out family). `evidence` (one log-linear fit, what the shipped adapter reads), TS
and meta-TS are the references.

Two pickers over the same candidates: `gbm_picker` (`finetune.picker`), a small non-LLM learner
trained on the demonstration states of `configs/finetune/cpu-compact/sft.yaml` (the states the
compact-prompt LLM is trained on), labelled with the candidate truly worth most in each state, is
what any learned picker must beat; `toolbox_hindsight` knows the task and charges that candidate
every period, so no picker over these candidates can beat it (a bound, like the oracle, not a
pricer). Pricers only, no LLM: about 25 minutes on 2 cores. Replaces the two-family prototype
(`evidence_families.md`, 2026-12-02), whose straight line is now the toolbox's `linear` family.
"""

from __future__ import annotations

import argparse
import datetime
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from agent.registry import in_process_policies  # noqa: E402
from bench.baselines import breakdown, machine_info, paired_differences  # noqa: E402
from bench.finetune import picker_policies  # noqa: E402
from env.distribution import sample_task  # noqa: E402
from env.evaluation import evaluate  # noqa: E402

RESULTS = ROOT / "bench" / "results"
# toolbox_stock_plan is not listed: the rule charges the stock plan wherever there is one, so it is `toolbox`
POLICIES = ["toolbox", "toolbox_loglinear", "toolbox_linear", "toolbox_logit", "toolbox_explore", "gbm_picker",
            "toolbox_hindsight", "evidence", "ts", "meta_ts"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tasks", type=int, default=200)
    ap.add_argument("--horizon", type=int, default=50)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--policies", default=",".join(POLICIES))
    ap.add_argument("--out", type=Path, default=RESULTS / "toolbox.md")
    args = ap.parse_args()

    names = args.policies.split(",")
    factories = {**in_process_policies(), **picker_policies(args.seed, gbm="gbm_picker" in names)}
    tasks = [sample_task("test", i, args.horizon) for i in range(args.tasks)]
    result = evaluate(names, tasks=tasks, horizon=args.horizon, seed=args.seed, workers=args.workers,
                      factories=factories)
    claims = [("toolbox", ref) for ref in ("evidence", "ts", "meta_ts") if ref in names]
    claims += [("gbm_picker", ref) for ref in ("toolbox", "meta_ts") if ref in names and "gbm_picker" in names]
    claims += [("toolbox_hindsight", "toolbox")] if {"toolbox_hindsight", "toolbox"} <= set(names) else []
    command = (f".venv/bin/python bench/toolbox.py --tasks {args.tasks} --horizon {args.horizon} "
               f"--seed {args.seed}" + ("" if names == POLICIES else f" --policies {args.policies}"))
    text = f"""# The toolbox under the LLM: each candidate alone, and a fixed rule

Regenerate with `{command}` (or `make bench`).
Run on {datetime.date.today().isoformat()}: {machine_info()}.

`toolbox` is the fixed rule (stock plan where stock is known, else the best leave-one-out demand family);
`toolbox_<candidate>` charges that candidate alone where it exists (the rule's price where it does not:
no stock, too few rows to fit a second family); `evidence` is the single log-linear fit the shipped adapter
reads. The first {args.tasks} test tasks, T = {args.horizon}, evaluation seed {args.seed}, the same tasks and noise
for all; definitions as in `baselines.md`.

{result.to_markdown()}
Paired differences (same tasks, same noise):

{paired_differences(result.per_task, claims)}
By task segment (% of oracle profit):

{breakdown(result.per_task, {t.task_id: t for t in tasks})}"""
    args.out.write_text(text)
    args.out.with_suffix(".json").write_text(result.to_json())
    print(text)


if __name__ == "__main__":
    main()
