"""The oracle against values derived independently (closed forms, brute force, published numbers)."""

import numpy as np
import pytest

from env.market import Market, expected_profit, logit_shares, segment_means
from env.oracle import OraclePolicy, logit_equilibria, myopic_price, plan_horizon, task_equilibria
from env.scenarios import calvano_duopoly
from env.task import ConstantElasticityDemand, Inventory, LinearDemand, ReferencePrice, TaskSpec


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


def test_calvano_nash_and_monopoly_prices():
    eq = logit_equilibria([2.0, 2.0], [1.0, 1.0], mu=0.25, outside=0.0)
    # published in Calvano et al. (2020): p_N ~ 1.473, p_M ~ 1.925
    assert eq.nash_prices == pytest.approx([1.473, 1.473], abs=1e-3)
    assert eq.monopoly_prices == pytest.approx([1.925, 1.925], abs=1e-3)

    grid = np.linspace(1.0, 3.0, 20001)

    def profit(p_own, p_rival):
        shares = logit_shares(np.array([2.0, 2.0]), np.stack(np.broadcast_arrays(p_own, p_rival), -1), 0.25, 0.0)
        return (p_own - 1.0) * shares[..., 0]

    # Nash, independently: iterate best responses on a fine grid
    p = 1.7
    for _ in range(60):
        p = grid[np.argmax(profit(grid, p))]
    assert eq.nash_prices[0] == pytest.approx(p, abs=2e-4)
    # monopoly, independently: the symmetric joint profit on a fine grid
    joint = 2 * profit(grid, grid)
    assert eq.monopoly_prices[0] == pytest.approx(grid[np.argmax(joint)], abs=2e-4)
    assert eq.monopoly_profits.sum() > eq.nash_profits.sum()


def test_task_equilibria_scale_with_currency():
    base, scaled = task_equilibria(calvano_duopoly()), task_equilibria(calvano_duopoly(currency_scale=100.0))
    assert scaled.nash_prices == pytest.approx(100 * base.nash_prices, rel=1e-6)
    assert scaled.monopoly_prices == pytest.approx(100 * base.monopoly_prices, rel=1e-6)


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
