"""A price that only ever moved with the rival's: the toolbox probes with the seller's own seed.

Two copies of one deterministic rule facing each other used to move in lockstep, fit the joint demand
curve as their own and settle near the monopoly price (collusion index 0.95 in `bench/audit.py`).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

import agent.generation as generation
from agent.candidates import build_toolbox, rule_candidate
from agent.hypotheses import rival_confounded
from agent.policy import LLMPolicy, ToolboxPolicy
from agent.registry import in_process_policies
from agent.tiny import tiny_model
from env.audit import duopoly, play
from env.context import Guardrails, HistoryRow, PricingContext, Product
from env.logit import task_equilibria

RIVAL = [10.0, 11.0, 9.5, 12.0, 10.5, 9.0, 11.5, 10.0]


def _context(own_prices) -> PricingContext:
    """Sales that fall with our price and with our premium over the rival; the rival's price moving."""
    rows = tuple(HistoryRow(period=i, price=p, units=3000.0 * p ** -2.0 / (1 + math.exp(0.8 * (p - r))),
                            competitor_price=r)
                 for i, (p, r) in enumerate(zip(own_prices, RIVAL, strict=True)))
    return PricingContext(product=Product(sku="mug", unit_cost=6.0, current_price=own_prices[-1]),
                          guardrails=Guardrails(min_price=7.0, max_price=16.0), history=rows,
                          competitor_price=RIVAL[-1])


LOCKSTEP = _context([0.98 * r for r in RIVAL])  # always 2% under the rival: a price matcher
INDEPENDENT = _context([9.0, 12.0, 11.0, 10.0, 9.5, 12.5, 10.0, 11.0])


def test_a_price_that_followed_the_rival_is_confounded_and_an_independent_one_is_not():
    assert rival_confounded(list(LOCKSTEP.history))
    assert not rival_confounded(list(INDEPENDENT.history))
    # a rival that never moved is no regressor: nothing to be confounded with
    still = [r.model_copy(update={"competitor_price": 10.0}) for r in LOCKSTEP.history]
    assert not rival_confounded(still)


def test_the_rule_probes_while_confounded_with_the_sellers_own_seed():
    boxes = [build_toolbox(LOCKSTEP, seed) for seed in range(4)]
    assert all(b.confounded and rule_candidate(b).name == "explore" for b in boxes)
    probes = {round(b.candidate("explore").price, 4) for b in boxes}
    assert len(probes) > 1  # copies with different seeds draw apart
    assert "only moved with the competitor's" in boxes[0].candidate("explore").note
    # identified: the seed changes nothing, and the rule is the best fit's optimum as before
    a, b = build_toolbox(INDEPENDENT, 0), build_toolbox(INDEPENDENT, 3)
    assert not a.confounded and [c.price for c in a.candidates] == [c.price for c in b.candidates]
    assert rule_candidate(a).name == a.best_fit.family


def test_the_compact_llm_charges_the_probe_without_asking_the_model(monkeypatch):
    asked = []
    monkeypatch.setattr(generation, "choose_batch",
                        lambda lm, prompts, answers, **kw: asked.append(prompts) or [0] * len(prompts))
    policy = LLMPolicy(dataclasses.replace(tiny_model(), prompt_layout="compact"))
    policy.reset(5)
    confounded, identified = policy.propose_batch([LOCKSTEP, INDEPENDENT])
    probe = build_toolbox(LOCKSTEP, 5).candidate("explore")
    assert confounded.candidate == "explore" and confounded.price == round(probe.price, 2)
    assert "moved together with the competitor's" in confounded.fallback
    assert confounded.candidate_words.startswith("The toolbox's rule chose an exploration price")
    assert len(asked) == 1 and len(asked[0]) == 1  # only the identified context went to the model
    assert identified.fallback is None


def test_two_copies_of_the_rule_price_near_nash_not_monopoly_in_self_play():
    """The Calvano duopoly (Nash 1.47, joint-profit 1.93): before the probe both copies sat at 2.02."""
    task = duopoly("self", "toolbox", 1.0, 40, 0)
    eq = task_equilibria(task)
    episode, _ = play("toolbox", task, 0, factories=in_process_policies())
    tail = slice(20, 40)
    midpoint = (eq.nash_prices[0] + eq.monopoly_prices[0]) / 2
    assert episode.ours[tail].mean() < midpoint and episode.rival[tail].mean() < midpoint
    assert np.any(episode.ours[:10] != episode.rival[:10])  # the probes broke the lockstep


def test_the_toolbox_policy_keeps_its_reset_seed():
    policy = ToolboxPolicy()
    policy.reset(5)
    assert policy.act(LOCKSTEP) == pytest.approx(build_toolbox(LOCKSTEP, 5).candidate("explore").price)


def test_a_products_probe_does_not_depend_on_the_batch_or_door():
    """The catalog batches products under one policy; each product's probe is seeded by its own SKU, as a
    single recommendation through the API or the chat is."""
    import pandas as pd

    from agent.catalog import score_frames, sku_seed
    from agent.recommend import recommend

    skus = ["MUG-1", "MUG-2", "MUG-3"]
    products = pd.DataFrame({"sku": skus, "unit_cost": 6.0, "current_price": LOCKSTEP.product.current_price,
                             "min_price": 7.0, "max_price": 16.0})
    history = pd.DataFrame([{"sku": sku, "period": r.period, "price": r.price, "units": r.units,
                             "competitor_price": r.competitor_price} for sku in skus for r in LOCKSTEP.history])
    policy = LLMPolicy(dataclasses.replace(tiny_model(), prompt_layout="compact"))
    together = score_frames(products, history, policy, batch_size=3).set_index("sku")["recommended_price"]
    alone = score_frames(products, history, policy, batch_size=1).set_index("sku")["recommended_price"]
    reversed_ = score_frames(products.iloc[::-1], history, policy, batch_size=2).set_index("sku")["recommended_price"]
    assert together.to_dict() == alone.to_dict() == reversed_.to_dict()
    assert together.nunique() > 1  # three sellers with the same history probe apart
    for sku in skus:
        policy.reset(sku_seed(sku))
        single = recommend(LOCKSTEP.model_copy(update={"product": LOCKSTEP.product.model_copy(update={"sku": sku})}),
                           policy)
        assert single.price == together[sku] and single.candidate == "explore"
