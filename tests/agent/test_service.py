"""The pricing service every door prices through: one lock, the per-SKU seed, guardrails before the policy."""

from __future__ import annotations

import threading
import time

import pandas as pd
import pytest

from agent.guardrails import GuardrailConflict
from agent.recommend import sku_seed
from agent.service import PolicyBusy, PricingService
from env.context import Guardrails, HistoryRow, PricingContext, Product


def context(sku: str = "MUG-1", **guardrails) -> PricingContext:
    prices = [11.0, 12.5, 12.0, 10.5, 13.0, 11.5]
    history = [HistoryRow(period=i, price=p, units=round(100 * (p / 12) ** -2.2, 1)) for i, p in enumerate(prices)]
    return PricingContext(product=Product(sku=sku, name="Mug", unit_cost=4.0, current_price=12.0),
                          guardrails=Guardrails(**(guardrails or {"min_price": 8.0, "max_price": 20.0})),
                          history=history)


class Recorder:
    """Charges the current price and remembers the seeds it was reset with."""

    name = "recorder"

    def __init__(self, delay: float = 0.0):
        self.seeds: list[int | None] = []
        self.delay = delay

    def reset(self, seed: int | None = None) -> None:
        self.seeds.append(seed)

    def act(self, ctx: PricingContext) -> float:
        time.sleep(self.delay)
        return ctx.product.current_price


def test_recommend_seeds_from_the_sku_unless_given_a_seed():
    policy = Recorder()
    service = PricingService(policy)
    service.recommend(context("A-1"))
    service.recommend(context("A-1"), seed=7)
    assert policy.seeds == [sku_seed("A-1"), 7]


def test_guardrails_that_admit_no_price_fail_before_the_policy_is_touched():
    policy = Recorder()
    service = PricingService(policy)
    with pytest.raises(GuardrailConflict):
        service.recommend(context(min_margin=0.9, max_price=20.0))
    assert policy.seeds == []  # never reset, never asked
    with pytest.raises(GuardrailConflict):
        service.check_price(15.0, context(min_margin=0.9, max_price=20.0))
    assert [b.rule for b in service.check_price(25.0, context()).binding] == ["max_price"]


def test_a_busy_policy_raises_its_own_error_not_an_http_one():
    service = PricingService(Recorder(delay=0.5), lock_wait_s=0.05)
    worker = threading.Thread(target=service.recommend, args=(context(),))
    worker.start()
    time.sleep(0.1)
    with pytest.raises(PolicyBusy, match="busy"):
        service.recommend(context())
    worker.join()
    assert not service.lock.locked()


def test_the_catalog_and_a_single_recommendation_agree_on_a_product():
    """Thompson sampling draws: the same SKU seed must give the same price from both doors."""
    service = PricingService(policy_name="ts")
    ctx = context("TS-1")
    one = service.recommend(ctx)
    products = pd.DataFrame([{"sku": "TS-1", "name": "Mug", "unit_cost": 4.0, "current_price": 12.0,
                              "min_price": 8.0, "max_price": 20.0}])
    history = pd.DataFrame([{"sku": "TS-1", "period": h.period, "price": h.price, "units": h.units}
                            for h in ctx.history])
    frame, summary = service.score(products, history)
    assert frame.loc[0, "recommended_price"] == pytest.approx(one.price)
    assert (summary.skus, summary.scored, summary.errors, summary.policy) == (1, 1, 0, "ts")


def test_the_policy_is_built_on_first_use_and_ids_never_load_it():
    service = PricingService(policy_name="evidence")
    assert service.ids() == (None, None) and service._policy is None
    service.recommend(context())
    assert service._policy is not None and service.name == "evidence"
    assert service.policy_by_name("ts").name == "ts"  # a fresh one for a simulation, not the served one
