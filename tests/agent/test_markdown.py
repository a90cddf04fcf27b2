"""A price where nothing sells does not stay there: every policy steps down until something sells.

Found off the training distribution (`bench/ood.py`, far_start): a seller starting above the choke
price of a linear market sold nothing, had no fit, kept the price and earned 0% of the oracle's profit.
"""

import dataclasses

import pytest

from agent import generation
from agent.evidence import compute_evidence, markdown_price, no_fit_price
from agent.policy import EvidencePolicy, LLMPolicy, ToolboxPolicy
from agent.tiny import tiny_model
from env.context import Guardrails, HistoryRow, PricingContext, Product
from env.episode import play_episode
from env.task import LinearDemand, TaskSpec


def unsold(prices, inventory=50.0, **guardrails) -> PricingContext:
    rows = [HistoryRow(period=i, price=p, units=0.0, inventory=inventory) for i, p in enumerate(prices)]
    return PricingContext(product=Product(sku="X", unit_cost=20.0, current_price=prices[-1]), history=rows,
                          guardrails=Guardrails(**guardrails))


def test_nothing_sold_with_stock_steps_down_by_a_quarter_of_the_lowest_price_tried():
    ctx = unsold([100.0, 100.0])
    assert markdown_price(ctx) == pytest.approx(80.0)
    assert no_fit_price(ctx)[0] == pytest.approx(80.0) and "stepping down" in no_fit_price(ctx)[1]
    assert any("next price to try is 80.00" in n for n in compute_evidence(ctx).notes)


def test_the_step_keeps_to_the_rules_and_is_none_where_it_cannot_help():
    assert markdown_price(unsold([100.0], min_price=90.0)) == pytest.approx(90.0)
    assert markdown_price(unsold([90.0], min_price=90.0)) is None  # already at the floor
    assert markdown_price(unsold([100.0], inventory=0.0)) is None  # nothing on the shelf: not a demand signal
    assert markdown_price(PricingContext(product=Product(sku="X", unit_cost=20.0, current_price=100.0))) is None
    sold = unsold([100.0]).model_copy(update={"history": [
        HistoryRow(period=0, price=100.0, units=0.0), HistoryRow(period=1, price=60.0, units=12.0),
        HistoryRow(period=2, price=55.0, units=15.0)]})
    assert markdown_price(sold) is None  # something sold: the fit decides


def test_every_policy_takes_the_step_and_the_llm_is_not_asked(monkeypatch):
    ctx = unsold([100.0, 100.0])
    assert ToolboxPolicy().act(ctx) == pytest.approx(80.0)
    assert EvidencePolicy().act(ctx) == pytest.approx(80.0)

    def refuse(*args, **kwargs):
        raise AssertionError("the model must not be asked without a candidate")

    monkeypatch.setattr(generation, "choose_batch", refuse)
    monkeypatch.setattr(generation, "generate_batch", refuse)
    proposal = LLMPolicy(dataclasses.replace(tiny_model(), prompt_layout="compact")).propose(ctx)
    assert proposal.price == pytest.approx(80.0) and "stepping down" in proposal.fallback


def test_a_seller_starting_above_the_choke_price_reaches_prices_that_sell():
    # Linear demand 550 - 9 p ends at about 61; the seller starts at 98.
    task = TaskSpec(task_id="choke", seed=3, horizon=12, unit_cost=23.0, initial_price=98.0, min_price=18.0,
                    max_price=98.0, noise=0.1, demand=LinearDemand(intercept=550.0, slope=9.0))
    trajectory = play_episode(ToolboxPolicy(), task, episode_seed=0, policy_seed=0)
    sold = [i for i, units in enumerate(trajectory.units) if units > 0]
    assert sold and sold[0] <= 4  # 98 -> 78.4 -> 62.7 -> 50.2: sells by the fourth period
    assert trajectory.prices[-1] < 61.0 and trajectory.profits.sum() > 0
