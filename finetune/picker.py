"""The honest baselines for a learned picker: gradient boosting on the toolbox (no LLM), and a bound.

The LLM on the compact prompt reads the toolbox's candidates (`agent.candidates`) and a few facts and
answers a price. Whatever it learns from the demonstrations, a small classical learner given the same
states, the same labels (`finetune.demonstrations.labelled_states`: the oracle's price) and the same
numbers as features might learn too; if it does, the LLM adds nothing there, and the table says so.
`HindsightPicker` charges, in each state, the candidate that is truly worth most: no picker over these
candidates can do better, so the gap between it and the rule is all a picker can add.

Features of a state (missing ones are NaN, which scikit-learn's histogram gradient boosting handles):
each candidate's price relative to the current price (log) and its expected profit relative to the best
candidate's, each family's fit weight, the fit's noise and rows, the stock's cover (stock / (expected
units at the rule's price x periods left)), periods left, and whether a rival or a delivery is known.
The label is the candidate worth most in that state under the true task (`best_candidate`: the
oracle's value of each candidate's price, which counts the future where stock or a reference price
carries over). A regressor on the oracle's price itself (tried first) did worse: 81% of oracle profit
on 16 validation tasks against the rule's 95%, because the oracle's price is not a function of what
the history shows and the trees chased its noise. Seeded; trains in about a minute.
"""

from __future__ import annotations

import math

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from threadpoolctl import threadpool_limits

from agent.candidates import CANDIDATE_NAMES, Toolbox, build_toolbox, confounded_probe, rule_price
from agent.evidence import no_fit_price
from agent.hypotheses import FAMILIES
from env.context import PricingContext
from env.oracle import reference_from_history
from env.task import TaskSpec
from finetune.config import DemoConfig
from finetune.demonstrations import best_candidate, labelled_states
from finetune.market_states import DecisionState, OracleScorer

CANDIDATES = CANDIDATE_NAMES


def features(context: PricingContext, box: Toolbox) -> list[float]:
    """The numbers the compact prompt shows, as a fixed-length vector (NaN where absent)."""
    now, nan = context.product.current_price, float("nan")
    best = max((c.profit for c in box.candidates), default=nan)
    out: list[float] = []
    for name in CANDIDATES:
        c = box.candidate(name)
        out += [math.log(c.price / now), c.profit / best if best > 0 else nan] if c else [nan, nan]
    weights = {h.family: h.weight for h in box.hypotheses}
    out += [weights.get(f, nan) for f in FAMILIES]
    fit = box.best_fit
    out += [fit.noise if fit else nan, float(fit.rows) if fit else 0.0]
    rule = rule_price(box, context)
    out.append(math.log(rule / now) if rule is not None else nan)
    cover = nan
    if context.inventory is not None and context.periods_left and rule is not None:
        units = box.candidate("stock_plan" if box.candidate("stock_plan") else fit.family).units
        cover = context.inventory / max(units * context.periods_left, 1e-9)
    s = context.supply
    out += [cover, float(context.periods_left) if context.periods_left is not None else nan,
            float(context.competitor_price is not None), float(bool(s and s.next_restock_in))]
    return out


class PickerPolicy:
    """Charges the candidate a fitted classifier picks from the toolbox's features (`features`)."""

    name = "gbm_picker"

    def __init__(self, model: HistGradientBoostingClassifier):
        self.model = model
        self._seed = 0

    def reset(self, seed: int | None = None) -> None:
        self._seed = seed or 0

    def act(self, context: PricingContext) -> float:
        box = build_toolbox(context, self._seed)
        rule = rule_price(box, context)
        if rule is None:
            return no_fit_price(context)[0]
        if (probe := confounded_probe(box)) is not None:  # as the rule and the LLM do (agent.candidates)
            return probe.price
        with threadpool_limits(1):  # one row: OpenMP's start-up and spinning cost more than the trees
            name = str(self.model.predict(np.array([features(context, box)]))[0])
        chosen = box.candidate(name)
        return chosen.price if chosen is not None else rule


def train_picker(cfg: DemoConfig, seed: int = 0, progress: bool = True) -> HistGradientBoostingClassifier:
    """Fits the picker on the demonstration states and labels of `cfg` (the same as the LLM's;
    `cfg.label` must be best_candidate)."""
    if cfg.label != "best_candidate":
        raise ValueError("train_picker: the picker learns candidate labels (label: best_candidate)")
    X, y = [], []
    for demo in labelled_states(cfg, progress):
        if demo.pick is None:
            continue
        X.append(features(demo.state.context, demo.box))
        y.append(demo.pick)
    return picker_model(seed).fit(np.array(X), np.array(y))


def picker_model(seed: int = 0) -> HistGradientBoostingClassifier:
    """The picker's classifier, unfitted (one place for its settings: the benchmark's ceiling study,
    bench/picker_ceiling.py, fits the same one)."""
    return HistGradientBoostingClassifier(max_iter=200, learning_rate=0.05, max_leaf_nodes=15,
                                          l2_regularization=1.0, random_state=seed)


class HindsightPicker:
    """Knows the task (like the oracle) and charges the best candidate per state: a bound on what any
    picker over these candidates can earn, never a deployable pricer."""

    name = "toolbox_hindsight"

    def __init__(self, task: TaskSpec):
        self.task, self.scorer = task, OracleScorer()

    def reset(self, seed: int | None = None) -> None:
        pass

    def act(self, context: PricingContext) -> float:
        box = build_toolbox(context)
        if not box.candidates:
            return context.product.current_price
        comps = context.competitor_prices or tuple(c.initial_price for c in self.task.competitors)
        state = DecisionState(task=self.task, t=len(context.history), stock=context.inventory,
                              ref=reference_from_history(self.task, [r.price for r in context.history]),
                              comp_prices=tuple(comps), context=context)
        return best_candidate(state, box, self.scorer).price
