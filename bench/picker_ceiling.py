"""How much can a learned picker over the toolbox's candidates add to the rule? (issue 14, the RL question)

    .venv/bin/python bench/picker_ceiling.py --train-tasks 300 --tasks 48

The compact policy answers one of the toolbox's candidates. In hindsight the best candidate per
state is worth about 2.5% of the oracle's value per remaining period more than the rule's (the gap RL
was meant to close), but is that gap *predictable* from what the prompt shows? This fits the
strongest non-LLM learner we could make fair, on the demonstration states of `--train-tasks` train
markets, and scores it on the states of `--tasks` validation markets (never trained on):

- **classifier**: `finetune.picker`'s gradient boosting on the best-candidate label (what SFT sees);
- **cost-sensitive regressor**: gradient boosting of each candidate's *advantage over the rule*
  (`OracleScorer.relative`, the DP value where stock or a reference price carries over) from the
  state's features and the candidate's name, switching away from the rule only where it predicts a
  gain. It sees every candidate's value in every training state: the full information a
  candidate-group RL update (GRPO with `groups: candidates`) receives, without its noise;
- the same regressor with **history features** added (price dispersion, recent prices and sales,
  share of periods without sales), things the compact prompt shows and the toolbox features leave out;
- its **in-sample** score on the training states, to tell missing information from missing capacity.

Value: `OracleScorer.relative` of the chosen price (1 = the oracle's price), mean over the states;
Δ rule: paired mean difference with a 95% normal interval. About 5 minutes on 2 cores; seeded.
"""

from __future__ import annotations

import argparse
import datetime
import math
import sys
from pathlib import Path

import numpy as np
from sklearn.ensemble import HistGradientBoostingRegressor
from tqdm import tqdm

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from agent.candidates import CANDIDATE_NAMES, rule_candidate  # noqa: E402
from bench.baselines import machine_info  # noqa: E402
from env.context import PricingContext  # noqa: E402
from finetune.config import DemoConfig  # noqa: E402
from finetune.demonstrations import labelled_states  # noqa: E402
from finetune.market_states import OracleScorer  # noqa: E402
from finetune.picker import features, picker_model  # noqa: E402

RESULTS = ROOT / "bench" / "results"
RECENT = 5  # periods of raw history in the history features


def history_features(context: PricingContext) -> list[float]:
    """What the compact prompt's history shows beyond the toolbox: how much the price has moved,
    the last few prices (log, relative to now) and sales (relative to the mean), the share of periods
    that sold nothing, and the rival's price relative to ours."""
    now, nan = context.product.current_price, float("nan")
    rows = context.history
    prices = np.array([r.price for r in rows]) if rows else np.array([now])
    units = np.array([r.units for r in rows]) if rows else np.array([0.0])
    mean_units = units.mean() if units.mean() > 0 else 1.0
    recent_p = [math.log(p / now) for p in prices[-RECENT:]]
    recent_u = [u / mean_units for u in units[-RECENT:]]
    pad = [nan] * (RECENT - len(recent_p))
    rival = context.competitor_price
    return [float(np.std(np.log(prices))), float(len(np.unique(np.round(prices, 2)))), float((units == 0).mean()),
            *(pad + recent_p), *(pad + recent_u), math.log(rival / now) if rival else nan]


def state_table(split: str, n_tasks: int, seed: int) -> list[dict]:
    """Every demonstration state with candidates: features, and each candidate's value."""
    cfg = DemoConfig(split=split, n_tasks=n_tasks, steps_per_episode=6, horizon=50, prompt="compact",
                     label="best_candidate", seed=seed)
    scorer, rows = OracleScorer(), []
    for d in tqdm(labelled_states(cfg, progress=False), desc=f"{split} states", unit="state"):
        if d.box is None or not d.box.candidates:
            continue
        names = [c.name for c in d.box.candidates]
        rows.append({"toolbox": features(d.state.context, d.box), "history": history_features(d.state.context),
                     "names": names, "values": np.array([scorer.relative(d.state, c.price) for c in d.box.candidates]),
                     "rule": names.index(rule_candidate(d.box).name), "t": d.state.t})
    return rows


def candidate_rows(table: list[dict], with_history: bool) -> tuple[np.ndarray, np.ndarray]:
    """One row per (state, candidate): the state's features, the candidate's one-hot name and whether it
    is the rule's; the target is its value minus the rule's."""
    X, y = [], []
    for row in table:
        base = row["toolbox"] + (row["history"] if with_history else [])
        for j, name in enumerate(row["names"]):
            X.append(base + [float(name == c) for c in CANDIDATE_NAMES] + [float(j == row["rule"])])
            y.append(row["values"][j] - row["values"][row["rule"]])
    return np.array(X), np.array(y)


def regressor_choices(train: list[dict], test: list[dict], with_history: bool, seed: int) -> np.ndarray:
    """The candidate the cost-sensitive regressor picks in each test state (the rule unless it
    predicts a gain)."""
    X, y = candidate_rows(train, with_history)
    model = HistGradientBoostingRegressor(max_depth=3, learning_rate=0.1, max_iter=200, l2_regularization=1.0,
                                          random_state=seed).fit(X, y)
    predicted = model.predict(candidate_rows(test, with_history)[0])
    picks = np.array([row["rule"] for row in test])
    best_gain = np.zeros(len(test))
    k = 0
    for i, row in enumerate(test):
        for j in range(len(row["names"])):
            if predicted[k] > best_gain[i]:
                best_gain[i], picks[i] = predicted[k], j
            k += 1
    return picks


def classifier_choices(train: list[dict], test: list[dict], seed: int) -> np.ndarray:
    X = np.array([r["toolbox"] for r in train])
    y = np.array([r["names"][int(np.argmax(r["values"]))] for r in train])
    model = picker_model(seed).fit(X, y)
    predicted = model.predict(np.array([r["toolbox"] for r in test]))
    return np.array([r["names"].index(p) if p in r["names"] else r["rule"] for r, p in zip(test, predicted,
                                                                                        strict=True)])


def values_of(table: list[dict], picks: np.ndarray) -> np.ndarray:
    return np.array([r["values"][j] for r, j in zip(table, picks, strict=True)])


def gap_breakdown(table: list[dict], rows: int = 8) -> tuple[str, float]:
    """The hindsight gap by (rule's candidate, best candidate), and the share the top tenth of states hold."""
    gains: dict[tuple[str, str], list[float]] = {}
    per_state = []
    for r in table:
        best = int(np.argmax(r["values"]))
        gain = float(r["values"][best] - r["values"][r["rule"]])
        per_state.append(gain)
        if gain > 1e-9:
            gains.setdefault((r["names"][r["rule"]], r["names"][best]), []).append(gain)
    total = sum(per_state)
    ranked = sorted(gains.items(), key=lambda kv: -sum(kv[1]))[:rows]
    lines = [f"| {a} → {b} | {len(g)} | {np.mean(g):.3f} | {sum(g) / total:.0%} |" for (a, b), g in ranked]
    top = sorted(per_state, reverse=True)[:max(1, len(per_state) // 10)]
    return "\n".join(lines), sum(top) / total


def loss_by_period(table: list[dict], edges: tuple[int, ...] = (0, 5, 15, 30, 10**6)) -> str:
    """Per stretch of the episode: what the rule loses against the oracle, and how much of that the best
    candidate in hindsight would win back (all a picker can)."""
    t = np.array([r["t"] for r in table])
    rule = np.array([r["values"][r["rule"]] for r in table])
    best = np.array([r["values"].max() for r in table])
    lines = []
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        m = (t >= lo) & (t < hi)
        if m.any():
            span = f"{lo}–{hi - 1}" if hi < 10**6 else f"{lo}+"
            lines.append(f"| {span} | {int(m.sum())} | {(1 - rule[m]).mean():.3f} | {(best[m] - rule[m]).mean():.3f} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--train-tasks", type=int, default=300)
    ap.add_argument("--tasks", type=int, default=48, help="validation tasks to score on")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=RESULTS / "picker_ceiling.md")
    args = ap.parse_args()

    train = state_table("train", args.train_tasks, args.seed)
    test = state_table("validation", args.tasks, args.seed)
    rule = np.array([r["rule"] for r in test])
    hindsight = np.array([int(np.argmax(r["values"])) for r in test])
    rows = [("toolbox rule", rule), ("best candidate in hindsight (bound)", hindsight),
            ("classifier on best-candidate labels (finetune.picker)", classifier_choices(train, test, args.seed)),
            ("cost-sensitive regressor, toolbox features", regressor_choices(train, test, False, args.seed)),
            ("cost-sensitive regressor, + history features", regressor_choices(train, test, True, args.seed))]
    base = values_of(test, rule)

    def line(name: str, picks: np.ndarray, table: list[dict], reference: np.ndarray) -> str:
        v = values_of(table, picks)
        diff = v - reference
        half = 1.96 * diff.std(ddof=1) / math.sqrt(len(diff))
        moved = float(np.mean([p != r["rule"] for p, r in zip(picks, table, strict=True)]))
        return f"| {name} | {v.mean():.4f} | {diff.mean():+.4f} ± {half:.4f} | {moved:.0%} |"

    lines = [line(name, picks, test, base) for name, picks in rows]
    train_rule = values_of(train, np.array([r["rule"] for r in train]))
    in_sample = [("in-sample: cost-sensitive regressor, + history features (its own training states)",
                  regressor_choices(train, train, True, args.seed)),
                 ("in-sample: best candidate in hindsight", np.array([int(np.argmax(r["values"])) for r in train]))]
    lines += [line(name, picks, train, train_rule) for name, picks in in_sample]
    gap_table, top_tenth = gap_breakdown(train + test)
    command = (f".venv/bin/python bench/picker_ceiling.py --train-tasks {args.train_tasks} --tasks {args.tasks} "
               f"--seed {args.seed}")
    text = f"""# What a learned picker can add to the toolbox's rule

Regenerate with `{command}` (no LLM: any CPU gives the same table).
Run on {datetime.date.today().isoformat()}: {machine_info()}.

Trained on {len(train)} demonstration states of {args.train_tasks} train tasks, scored on {len(test)} states of
the first {args.tasks} validation tasks (T = 50, 6 states per episode, seed {args.seed}; states with at least one
candidate). Value: `OracleScorer.relative` of the chosen candidate's price (1 = the oracle's price), mean over the
states; Δ rule: paired difference to the rule with its 95% interval; moved: states where the picker leaves the rule.

| picker | mean value | Δ rule | moved |
|---|---:|---:|---:|
{chr(10).join(lines)}

The in-sample rows are on the training states (Δ against the rule there).

## Where the hindsight gap is

States where another candidate beats the rule's, by the pair (rule's candidate → best candidate), the largest
first; share: of the total gap (hindsight minus rule, summed over the states). The {len(train)} training and
{len(test)} validation states together; the top tenth of all states by gap hold {top_tenth:.0%} of it.

| rule → best in hindsight | states | mean gain | share of the gap |
|---|---:|---:|---:|
{gap_table}

## What the rule loses, and what picking could win back

Per stretch of the episode (period t of the state), the same states: the rule's loss against the oracle
(1 − value) and the part of it the best candidate in hindsight recovers (hindsight − rule).

| periods | states | rule's loss | recoverable by picking |
|---|---:|---:|---:|
{loss_by_period(train + test)}
"""
    args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
