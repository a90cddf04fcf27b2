"""The oracle against values derived independently (closed forms, brute force, published numbers)."""

import numpy as np
import pytest

from env.episode import play_episode
from env.market import Market, expected_profit, segment_means
from env.oracle import OraclePolicy, myopic_price, plan_horizon
from env.task import (
    Competitor,
    ConstantElasticityDemand,
    Inventory,
    LinearDemand,
    LogitDemand,
    ReferencePrice,
    TaskSpec,
)


def task(demand, **kw) -> TaskSpec:
    base = dict(task_id="t", seed=0, horizon=10, unit_cost=4.0, initial_price=8.0, min_price=4.0,
                max_price=30.0, demand=demand, noise=0.1)
    base.update(kw)
    return TaskSpec(**base)


@pytest.mark.parametrize("eps", [-1.5, -2.4, -5.2])
def test_constant_elasticity_optimum_is_the_lerner_markup(eps):
    spec = task(ConstantElasticityDemand(scale=100, elasticity=eps, ref_price=8))
    price, _ = myopic_price(spec, 0, np.array([]))
    assert price == pytest.approx(min(4.0 * eps / (1 + eps), 30.0), rel=1e-5)


def test_inelastic_market_prices_at_the_ceiling():
    spec = task(ConstantElasticityDemand(scale=100, elasticity=-0.8, ref_price=8))
    assert myopic_price(spec, 0, np.array([]))[0] == pytest.approx(30.0)


def test_linear_optimum_is_the_midpoint():
    spec = task(LinearDemand(intercept=100, slope=5))  # (a/b + c) / 2 = (20 + 4) / 2
    price, profit = myopic_price(spec, 0, np.array([]))
    assert price == pytest.approx(12.0, rel=1e-6)
    assert profit == pytest.approx((12 - 4) * (100 - 60), rel=1e-6)


def test_horizon_plan_matches_brute_force_on_a_small_problem():
    """Three periods, perishable stock, no noise: enumerate every price sequence on a grid."""
    spec = task(ConstantElasticityDemand(scale=60, elasticity=-2.0, ref_price=8), horizon=3, noise=0.0,
                inventory=Inventory(initial=100, perishable=True, holding_cost=0.05))
    grid = np.linspace(spec.min_price, spec.max_price, 80)
    p0, p1, p2 = np.meshgrid(grid, grid, grid, indexing="ij")
    stock, best = np.full(p0.shape, 100.0), np.zeros(p0.shape)
    for t, p in enumerate((p0, p1, p2)):  # noise 0: expected profit is the profit
        best += expected_profit(spec, p, t, np.array([]), None, stock)
        stock = stock - np.minimum(segment_means(spec, p, t, np.array([]), None)[0][1], stock)
    best = best.max()
    # the vectorised arithmetic agrees with the simulator on one sequence
    seq, stock, summed = (9.0, 12.0, 20.0), np.array(100.0), 0.0
    m = Market(spec)
    m.reset(0)
    for t, p in enumerate(seq):
        summed += float(expected_profit(spec, p, t, np.array([]), None, stock))
        stock = stock - min(float(segment_means(spec, np.array(p), t, np.array([]), None)[0][1]), stock)
    assert sum(m.step(p).profit for p in seq) == pytest.approx(summed, rel=1e-9)
    plan = plan_horizon(spec)
    m = Market(spec)
    m.reset(0)
    oracle = OraclePolicy(spec)
    achieved = sum(m.step(oracle.act(m.context())).profit for _ in range(3))
    assert achieved >= best * 0.995
    assert plan.value == pytest.approx(achieved, rel=0.02)
    # and it beats selling myopically, which ignores that stock is scarce
    m = Market(spec)
    m.reset(0)
    myopic = sum(m.step(myopic_price(spec, t, np.array([]), None, m.state.stock)[0]).profit for t in range(3))
    assert achieved > myopic


def test_planner_beats_myopic_with_reference_prices():
    spec = task(ConstantElasticityDemand(scale=100, elasticity=-2.0, ref_price=8), horizon=20,
                reference=ReferencePrice(memory=0.8, loss=2.0, gain=1.0))

    def run(choose):
        m = Market(spec)
        m.reset(5)
        oracle = OraclePolicy(spec)
        return sum(m.step(choose(m, oracle)).expected_profit for _ in range(spec.horizon))

    planned = run(lambda m, o: o.act(m.context()))
    myopic = run(lambda m, o: myopic_price(spec, m.state.t, np.array([]), m.state.ref)[0])
    assert planned > myopic


def spread_rivals_task(prices=(0.60, 2.50, 2.50), horizon=4) -> TaskSpec:
    """A logit market with three fixed rivals far apart in price (where their mean misleads)."""
    rivals = [Competitor(kind="fixed", initial_price=p, unit_cost=0.5, quality=2.0) for p in prices]
    return task(LogitDemand(market_size=100, quality=2.0, mu=0.25, outside_quality=0.0), horizon=horizon,
                unit_cost=0.5, initial_price=1.5, min_price=0.5, max_price=4.0, competitors=rivals)


def test_oracle_prices_against_each_rivals_own_price():
    spec = spread_rivals_task()
    rivals = np.array([0.60, 2.50, 2.50])
    grid = np.linspace(spec.min_price, spec.max_price, 350_001)  # brute force on the true profit
    profit = expected_profit(spec, grid, 0, rivals, None, None)
    best = grid[np.argmax(profit)]
    market = Market(spec)
    market.reset(seed=0)
    context = market.context()
    assert context.competitor_prices == pytest.approx(tuple(rivals))
    price = OraclePolicy(spec).act(context)
    assert price == pytest.approx(best, abs=2e-5)
    # planning with every rival at their mean price would have charged something else, and earned less
    at_mean = myopic_price(spec, 0, np.full(3, rivals.mean()))[0]
    assert abs(at_mean - best) > 0.05
    assert float(expected_profit(spec, at_mean, 0, rivals, None, None)) < 0.99 * profit.max()


class Constant:
    name = "constant"

    def __init__(self, price: float):
        self.price = price

    def reset(self, seed=None) -> None:
        pass

    def act(self, context) -> float:
        return self.price


def test_no_constant_price_beats_the_oracle_with_spread_rivals():
    spec = spread_rivals_task(horizon=6)
    oracle = play_episode(OraclePolicy(spec), spec, 0, 0)
    for p in np.linspace(spec.min_price, spec.max_price, 61):
        constant = play_episode(Constant(float(p)), spec, 0, 0)
        assert constant.expected_profits.sum() <= oracle.expected_profits.sum() + 1e-9
