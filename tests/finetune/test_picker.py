"""The non-LLM picker baseline and the hindsight bound over the toolbox's candidates."""

from __future__ import annotations

import math

import numpy as np

from agent.candidates import build_toolbox
from env.distribution import sample_task
from env.episode import start_market
from env.market import expected_profit
from finetune.config import DemoConfig
from finetune.picker import CANDIDATES, HindsightPicker, PickerPolicy, features, train_picker


def _played(task, periods: int = 12):
    market = start_market(task, 0)
    rng = np.random.default_rng(1)
    for _ in range(periods):
        market.step(task.initial_price * math.exp(0.15 * rng.standard_normal()))
    return market


def test_features_have_a_fixed_length_and_mark_missing_candidates():
    stateless = next(t for i in range(40) if not (t := sample_task("validation", i, 30)).stateful)
    ctx = _played(stateless).context()
    f = features(ctx, build_toolbox(ctx))
    empty = _played(stateless, 0).context()
    g = features(empty, build_toolbox(empty))
    assert len(f) == len(g) == 2 * len(CANDIDATES) + 3 + 2 + 1 + 4
    stock_plan = 2 * CANDIDATES.index("stock_plan")
    assert math.isnan(f[stock_plan]) and not math.isnan(f[2 * CANDIDATES.index("explore")])


def test_hindsight_charges_the_candidate_truly_worth_most():
    task = next(t for i in range(40) if not (t := sample_task("validation", i, 30)).stateful)
    market = _played(task)
    ctx = market.context()
    box = build_toolbox(ctx)
    price = HindsightPicker(task).act(ctx)
    s = market.state
    worth = {c.price: float(expected_profit(task, c.price, s.t, s.comp_prices, s.ref, s.stock)) for c in box.candidates}
    assert price in worth and worth[price] == max(worth.values())


def test_trained_picker_answers_one_of_its_candidates():
    model = train_picker(DemoConfig(n_tasks=6, steps_per_episode=4, horizon=15, seed=0, label="best_candidate"),
                         progress=False)
    assert set(model.classes_) <= set(CANDIDATES)
    task = sample_task("validation", 3, 30)
    ctx = _played(task).context()
    box = build_toolbox(ctx)
    assert PickerPolicy(model).act(ctx) in {c.price for c in box.candidates}
