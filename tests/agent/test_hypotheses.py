"""Each demand hypothesis recovers known simulated parameters, and the stock plan is the env's DP."""

from __future__ import annotations

import math

import numpy as np
import pytest

from agent.candidates import build_toolbox, rule_price, stock_plan_price
from agent.hypotheses import MIN_ROWS, Hypothesis, fit_hypotheses
from env.context import Guardrails, HistoryRow, PricingContext, Product
from env.market import Market, replenished, supply_now
from env.oracle import OraclePolicy
from env.task import ConstantElasticityDemand, Inventory, LinearDemand, LogitDemand, TaskSpec

COST = 4.0
PRICES = [6.0, 7.5, 9.0, 10.5, 12.0, 8.0, 11.0, 6.5, 9.5, 13.0, 7.0, 10.0]


def _context(units_at, noise: float = 0.02, seed: int = 0) -> PricingContext:
    rng = np.random.default_rng(seed)
    rows = tuple(HistoryRow(period=i, price=p, units=float(units_at(p) * math.exp(noise * rng.standard_normal())))
                 for i, p in enumerate(PRICES))
    return PricingContext(product=Product(sku="x", unit_cost=COST, current_price=PRICES[-1]),
                          guardrails=Guardrails(min_price=5.0, max_price=16.0), history=rows)


def _best(context: PricingContext) -> Hypothesis:
    return fit_hypotheses(context)[0]


def test_linear_demand_is_recovered_and_ranked_first():
    a, b = 120.0, 8.0
    h = _best(_context(lambda p: a - b * p))
    assert h.family == "linear" and h.weight > 0.9
    # coef = [units at the reference price, slope]: back to intercept and slope
    slope = -h.coef[1]
    intercept = h.coef[0] + slope * h.p_ref
    assert slope == pytest.approx(b, rel=0.03) and intercept == pytest.approx(a, rel=0.03)
    box = build_toolbox(_context(lambda p: a - b * p))
    assert box.candidate("linear").price == pytest.approx((COST + a / b) / 2, rel=0.02)  # argmax (p - c)(a - b p)


def test_constant_elasticity_is_recovered_and_ranked_first():
    h = _best(_context(lambda p: 500.0 * (p / 9.0) ** -2.5))
    assert h.family == "loglinear" and h.weight > 0.9
    assert h.coef[1] == pytest.approx(-2.5, abs=0.05)
    box = build_toolbox(_context(lambda p: 500.0 * (p / 9.0) ** -2.5))
    # the constant-elasticity optimum c * e / (1 + e) = 6.67
    assert box.candidate("loglinear").price == pytest.approx(COST * 2.5 / 1.5, rel=0.02)


def test_logit_demand_is_recovered_and_ranked_first():
    m, quality, mu = 200.0, 12.0, 1.5

    def units(p):
        return m / (1 + math.exp(-(quality - p) / mu))

    ctx = _context(units, noise=0.01)
    h = _best(ctx)
    assert h.family == "logit"
    spec = h.demand_spec()
    assert isinstance(spec, LogitDemand)
    assert spec.mu == pytest.approx(mu, rel=0.1) and spec.market_size == pytest.approx(m, rel=0.15)
    grid = np.linspace(5, 16, 20001)
    true_best = grid[np.argmax((grid - COST) * np.array([units(p) for p in grid]))]
    assert build_toolbox(ctx).candidate("logit").price == pytest.approx(true_best, rel=0.02)


def test_short_or_flat_history_offers_only_the_log_linear_prior_fit():
    short = _context(lambda p: 120.0 - 8.0 * p)
    short = short.model_copy(update={"history": short.history[:MIN_ROWS - 1]})
    assert [h.family for h in fit_hypotheses(short)] == ["loglinear"]
    flat = short.model_copy(update={"history": tuple(
        HistoryRow(period=i, price=9.0, units=50.0 + i) for i in range(10))})
    assert [h.family for h in fit_hypotheses(flat)] == ["loglinear"]
    empty = short.model_copy(update={"history": ()})
    assert fit_hypotheses(empty) == [] and rule_price(build_toolbox(empty), empty) is None


def test_supply_now_follows_the_simulators_delivery_schedule():
    task = _stock_task()
    for t in range(task.horizon):
        s = supply_now(task, t)
        deliveries = [u for u in range(t + 1, task.horizon) if replenished(task, 0.0, u) > 0]
        assert s.next_restock_in == (deliveries[0] - t if deliveries else None)
        assert s.holding_cost == task.inventory.holding_cost and s.perishable


def _stock_task(demand=None) -> TaskSpec:
    return TaskSpec(task_id="stock", seed=3, horizon=12, unit_cost=COST, initial_price=9.0, min_price=5.0,
                    max_price=16.0, noise=0.1,
                    demand=demand or ConstantElasticityDemand(scale=40.0, elasticity=-2.0, ref_price=9.0),
                    inventory=Inventory(initial=90.0, replenish_every=5, replenish_qty=60.0, holding_cost=0.03,
                                        perishable=True))


@pytest.mark.parametrize("steps", [0, 3, 6, 10])
def test_stock_plan_on_the_true_demand_is_the_oracles_plan(steps):
    """Planning on a hypothesis equal to the true market gives the oracle's DP price, with the
    deliveries aligned however far into the episode (the sub-task's offset)."""
    task = _stock_task()
    market = Market(task)
    market.reset()
    for _ in range(steps):
        market.step(10.0)
    ctx = market.context()
    d = task.demand
    truth = Hypothesis("loglinear", np.array([math.log(d.scale), d.elasticity]), np.eye(2) * 1e-9, None,
                       task.noise, d.ref_price, None)
    mine = stock_plan_price(truth, ctx, task.min_price, task.max_price)
    oracle = OraclePolicy(task).act(ctx)
    assert mine == pytest.approx(oracle, rel=0.03)


def test_stock_plan_prices_above_the_myopic_optimum_when_stock_is_short():
    task = _stock_task(LinearDemand(intercept=60.0, slope=4.0))
    task = task.model_copy(update={"horizon": 20, "inventory": Inventory(initial=260.0, perishable=False)})
    market = Market(task)
    market.reset()
    for p in PRICES[:7]:  # sells about 165: under 100 left for 13 periods, a third of what 9.50 would sell
        market.step(p)
    box = build_toolbox(market.context())
    assert 70 < market.context().inventory < 130
    assert box.candidate("stock_plan").price > box.candidate(box.best_fit.family).price
    assert rule_price(box, market.context()) == box.candidate("stock_plan").price


def test_a_what_if_price_is_scored_like_the_candidates_and_only_where_the_fit_is_trusted():
    from agent.candidates import score_price

    context = _context(lambda p: 120.0 - 8.0 * p)
    box = build_toolbox(context)
    for c in box.candidates:  # the same price, the same numbers as the candidate's
        q = score_price(box, context, c.price)
        assert (q.units, q.profit, q.profit_low, q.profit_high) == pytest.approx(
            (c.units, c.profit, c.profit_low, c.profit_high))
    low, high = box.supported_range
    inside = score_price(box, context, (low + high) / 2)
    assert inside.profit == pytest.approx(((low + high) / 2 - COST) * inside.units)
    assert score_price(box, context, high * 1.01) is None and score_price(box, context, low * 0.99) is None
    empty = build_toolbox(context.model_copy(update={"history": ()}))
    assert score_price(empty, context, 9.0) is None
