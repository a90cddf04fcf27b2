"""Regenerates bench/results/evidence_families.md: how much a second demand family in the evidence is worth.

    .venv/bin/python bench/evidence_families.py --tasks 200 --horizon 50 --seed 0

The fine-tuned LLM prices within 1% of the evidence's model-optimal price in two periods of three
(`finetune.md`), so the evidence's demand model caps it. That model is log-linear, misspecified
wherever demand is linear or logit. This measures a prototype before it goes into `agent.evidence`:
the shipped evidence optimum, unless a straight line explains the history better than the log-linear
curve (smaller leave-one-out squared error in units), in which case the line's profit-maximising
price, kept inside the same supported range. Pricers only, no LLM: minutes.
"""

from __future__ import annotations

import argparse
import datetime
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import agent  # noqa: E402,F401  (registers `evidence`)
from agent.evidence import compute_evidence, supported_range, usable_rows  # noqa: E402
from agent.policy import fallback_price  # noqa: E402
from bench.baselines import breakdown, machine_info, paired_differences  # noqa: E402
from env.context import PricingContext  # noqa: E402
from env.distribution import sample_task  # noqa: E402
from env.evaluation import evaluate, register_policy  # noqa: E402

RESULTS = ROOT / "bench" / "results"
MIN_ROWS = 6  # a line and a curve both have two coefficients: fewer rows cannot tell them apart


def _loo_residuals(X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Leave-one-out residuals of least squares, from the hat matrix (no refitting)."""
    hat = X @ np.linalg.pinv(X.T @ X) @ X.T
    return (y - hat @ y) / np.clip(1 - np.diag(hat), 1e-6, None)


def linear_optimum(context: PricingContext) -> float | None:
    """The profit-maximising price of a straight-line demand fit, when a line beats the log-linear
    curve on leave-one-out error in units; None when it does not, or the data cannot tell."""
    rows = usable_rows(context)
    if len(rows) < MIN_ROWS:
        return None
    price = np.array([r.price for r in rows])
    units = np.array([r.units for r in rows], dtype=float)
    if np.std(np.log(price)) < 0.02:
        return None
    line = np.column_stack([np.ones_like(price), price])
    curve = np.column_stack([np.ones_like(price), np.log(price)])
    line_err = _loo_residuals(line, units)
    curve_err = units - np.exp(np.log(units) - _loo_residuals(curve, np.log(units)))
    if np.mean(line_err**2) >= np.mean(curve_err**2):
        return None
    level, slope = np.linalg.lstsq(line, units, rcond=None)[0]
    if slope >= 0:
        return None
    best = (context.product.unit_cost - level / slope) / 2  # argmax of (p - c)(level + slope p)
    low, high = supported_range(context)
    return float(np.clip(best, low, high))


class TwoFamilyEvidencePolicy:
    """The evidence optimum, or the straight-line optimum where a line fits the history better."""

    name = "evidence_2fam"

    def reset(self, seed: int | None = None) -> None:
        pass

    def act(self, context: PricingContext) -> float:
        line = linear_optimum(context)
        return line if line is not None else fallback_price(context, compute_evidence(context))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tasks", type=int, default=200)
    ap.add_argument("--horizon", type=int, default=50)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", type=Path, default=RESULTS / "evidence_families.md")
    args = ap.parse_args()

    register_policy(TwoFamilyEvidencePolicy.name, lambda task: TwoFamilyEvidencePolicy())
    tasks = [sample_task("test", i, args.horizon) for i in range(args.tasks)]
    names = ["evidence", TwoFamilyEvidencePolicy.name, "ts", "meta_ts"]
    result = evaluate(names, tasks=tasks, horizon=args.horizon, seed=args.seed, workers=args.workers)
    claims = [("evidence_2fam", "evidence"), ("evidence_2fam", "ts"), ("evidence_2fam", "meta_ts")]
    command = (f".venv/bin/python bench/evidence_families.py --tasks {args.tasks} --horizon {args.horizon} "
               f"--seed {args.seed}")
    text = f"""# A second demand family for the evidence (prototype)

Regenerate with `{command}` (or `make bench`).
Run on {datetime.date.today().isoformat()}: {machine_info()}.

`evidence` is the shipped evidence optimum (log-linear demand); `evidence_2fam` switches to a straight-line
demand fit where that fits the history better (leave-one-out error in units; see the script's docstring). The
first {args.tasks} test tasks, T = {args.horizon}, evaluation seed {args.seed}, the same tasks and noise for all;
definitions as in `baselines.md`.

{result.to_markdown()}
Paired differences (same tasks, same noise):

{paired_differences(result.per_task, claims)}
By task segment (% of oracle profit):

{breakdown(result.per_task, {t.task_id: t for t in tasks})}"""
    args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
