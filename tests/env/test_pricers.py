"""The classical baselines: valid prices, reproducibility, and that each learns what it claims to."""

from __future__ import annotations

import math

import numpy as np
import pytest

from env.context import Guardrails, HistoryRow, Policy, PricingContext, Product
from env.demand_fit import argmax_profit, choke_cap, price_grid, uncensored
from env.distribution import sample_task
from env.market import Market
from env.pricers import (
    PRICER_NAMES,
    UCB,
    ConstrainedILS,
    CostPlus,
    GreedyILS,
    MetaPrior,
    QLearning,
    ThompsonSampling,
    TSPrior,
    fit_meta_prior,
    make_pricer,
)
from env.task import (
    Competitor,
    ConstantElasticityDemand,
    LinearDemand,
    LogitDemand,
    TaskSpec,
)


def ce_task(elasticity: float, noise: float = 0.02, horizon: int = 50, seed: int = 3) -> TaskSpec:
    """A hand-built constant-elasticity market: cost 10, start 20, range [8, 50]."""
    return TaskSpec(
        task_id="ce", seed=seed, horizon=horizon, unit_cost=10.0, initial_price=20.0, min_price=8.0,
        max_price=50.0, noise=noise,
        demand=ConstantElasticityDemand(scale=100.0, elasticity=elasticity, ref_price=20.0),
    )


def final_context(market: Market) -> PricingContext:
    """The context after the last period (Market.context() needs at least one period left)."""
    task = market.task
    return PricingContext(
        product=Product(sku=task.task_id, unit_cost=task.unit_cost, current_price=market.last_price),
        guardrails=Guardrails(min_price=task.min_price, max_price=task.max_price),
        history=tuple(market.state.history),
    )


def play(task: TaskSpec, policy: Policy, seed: int = 0, periods: int | None = None) -> Market:
    market = Market(task)
    market.reset(seed)
    policy.reset(seed)
    for _ in range(task.horizon if periods is None else periods):
        market.step(policy.act(market.context()))
    return market


def prices(market: Market) -> np.ndarray:
    return np.array([r.price for r in market.state.history])


@pytest.fixture(scope="module")
def small_meta_prior() -> MetaPrior:
    return fit_meta_prior(n_tasks=30, horizon=40, seed=0)


def pricer(name: str, prior: MetaPrior) -> Policy:
    """Pricers by name; meta_ts gets a small prior so the tests don't pay for the full fit."""
    return make_pricer(name, prior=prior) if name == "meta_ts" else make_pricer(name)


# --- the registry ------------------------------------------------------------------------------


def test_registry_names_and_protocol() -> None:
    assert PRICER_NAMES == ("cost_plus", "ils", "cils", "ts", "meta_ts", "ucb", "q_learning")
    for name in PRICER_NAMES:
        if name == "meta_ts":
            continue  # built with the full default prior in its own test
        policy = make_pricer(name)
        assert isinstance(policy, Policy)
        assert policy.name == name


def test_unknown_name_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="unknown pricer 'nope'"):
        make_pricer("nope")


def test_kwargs_reach_the_constructor() -> None:
    assert make_pricer("cost_plus", markup=1.0).markup == 1.0


# --- every pricer: valid and reproducible --------------------------------------------------------


@pytest.mark.parametrize("name", PRICER_NAMES)
def test_prices_are_finite_and_within_bounds(name: str, small_meta_prior: MetaPrior) -> None:
    for i in (0, 3, 7, 11):
        task = sample_task("train", i, horizon=25)
        market = play(task, pricer(name, small_meta_prior), seed=i)
        p = prices(market)
        assert np.all(np.isfinite(p))
        assert np.all((p >= task.min_price - 1e-9) & (p <= task.max_price + 1e-9))


@pytest.mark.parametrize("name", PRICER_NAMES)
def test_prices_stay_in_guardrails_without_clipping(name: str, small_meta_prior: MetaPrior) -> None:
    """The market clips; the policy itself must already answer inside context.price_bounds()."""
    task = sample_task("train", 5, horizon=20)
    market = Market(task)
    market.reset(1)
    policy = pricer(name, small_meta_prior)
    policy.reset(1)
    while not market.done:
        ctx = market.context()
        low, high = ctx.price_bounds()
        p = policy.act(ctx)
        assert math.isfinite(p) and low <= p <= high
        market.step(p)


@pytest.mark.parametrize("name", PRICER_NAMES)
def test_same_seed_same_path(name: str, small_meta_prior: MetaPrior) -> None:
    task = sample_task("train", 2, horizon=25)
    first = prices(play(task, pricer(name, small_meta_prior), seed=7))
    again = prices(play(task, pricer(name, small_meta_prior), seed=7))
    np.testing.assert_array_equal(first, again)


def test_policies_work_from_a_context_alone() -> None:
    """A fresh pricer handed a context with a long history still answers sensibly."""
    market = play(ce_task(-2.5, noise=0.05), ThompsonSampling(), seed=0, periods=30)
    ctx = market.context()
    for name in ("ils", "cils", "ts", "ucb", "q_learning"):
        p = make_pricer(name).act(ctx)
        low, high = ctx.price_bounds()
        assert low <= p <= high


# --- what each learns --------------------------------------------------------------------------


def test_cost_plus_is_cost_times_markup_clipped() -> None:
    market = Market(ce_task(-2.0))
    assert CostPlus(markup=0.5).act(market.context()) == pytest.approx(15.0)
    assert CostPlus(markup=10.0).act(market.context()) == pytest.approx(50.0)  # clipped to the ceiling


def test_ils_probes_then_recovers_a_linear_demand() -> None:
    task = TaskSpec(task_id="lin", seed=1, horizon=30, unit_cost=10.0, initial_price=20.0, min_price=8.0,
                    max_price=50.0, noise=0.02, demand=LinearDemand(intercept=200.0, slope=5.0))
    ils = GreedyILS()
    market = play(task, ils, seed=0)
    p = prices(market)
    assert p[0] == pytest.approx(20.0) and p[1] == pytest.approx(22.0)  # the deterministic start
    a, b = ils.fit(final_context(market))
    assert b == pytest.approx(5.0, rel=0.15) and a == pytest.approx(200.0, rel=0.15)
    assert p[-1] == pytest.approx(25.0, rel=0.05)  # argmax (p - 10)(200 - 5p) = 25


@pytest.mark.parametrize("elasticity", [-1.5, -2.5, -3.5])
def test_ts_recovers_a_constant_elasticity(elasticity: float) -> None:
    ts = ThompsonSampling()
    market = play(ce_task(elasticity, noise=0.05), ts, seed=0, periods=30)
    assert ts.posterior_beta(market.context()) == pytest.approx(elasticity, abs=0.3)
    optimum = 10 * elasticity / (1 + elasticity)
    assert np.median(prices(market)[-10:]) == pytest.approx(optimum, rel=0.15)


def test_linear_ts_estimates_the_slope() -> None:
    task = TaskSpec(task_id="lin", seed=1, horizon=30, unit_cost=10.0, initial_price=20.0, min_price=8.0,
                    max_price=50.0, noise=0.05, demand=LinearDemand(intercept=200.0, slope=5.0))
    ts = ThompsonSampling(model="linear")
    market = play(task, ts, seed=0)
    assert ts.posterior_beta(final_context(market)) == pytest.approx(-5.0, rel=0.2)


def test_ts_goes_to_the_ceiling_when_demand_is_inelastic() -> None:
    market = play(ce_task(-0.8, noise=0.1), ThompsonSampling(), seed=0, periods=40)
    assert np.median(prices(market)[-10:]) >= 0.95 * 50.0


def test_ts_plays_the_current_price_with_no_history() -> None:
    ctx = Market(ce_task(-2.0)).context()
    assert ThompsonSampling().act(ctx) == pytest.approx(20.0)


def test_cils_keeps_price_dispersion_growing() -> None:
    task = ce_task(-2.5, noise=0.1, seed=0)
    cils = prices(play(task, ConstrainedILS(), seed=0))
    ils = prices(play(task, GreedyILS(), seed=0))

    def dispersion(p: np.ndarray, t: int) -> float:
        return float(((p[:t] - p[:t].mean()) ** 2).sum())

    assert dispersion(cils, 50) > 1.3 * dispersion(cils, 25)
    assert dispersion(cils, 50) > dispersion(ils, 50)
    # Greedy ILS on the same market settles on one price: incomplete learning.
    assert np.ptp(ils[-20:]) < 1e-6


def test_ucb_tries_every_arm_first() -> None:
    ucb = UCB(n_arms=8)
    market = play(ce_task(-2.5, noise=0.05), ucb, seed=0, periods=8)
    arms = ucb.arms(market.context())
    np.testing.assert_allclose(np.sort(prices(market)), arms)
    counts, _, _ = ucb.statistics(market.context())
    assert np.all(counts == 1)


def test_q_learning_updates_its_table_and_decays_epsilon() -> None:
    q = QLearning(beta_decay=0.05)
    market = Market(ce_task(-2.5, noise=0.1))
    market.reset(0)
    q.reset(0)
    market.step(q.act(market.context()))
    market.step(q.act(market.context()))
    assert q.q_table is not None
    start, eps0 = q.q_table.copy(), q.epsilon
    for _ in range(20):
        market.step(q.act(market.context()))
    assert not np.array_equal(start, q.q_table)
    assert q.epsilon < eps0 and q.epsilon == pytest.approx(math.exp(-0.05 * q.t))
    assert q.q_table.shape == (15, 15)  # no competitor: state = own last price
    q.reset(1)
    assert q.q_table is None and q.t == 0 and q.epsilon == 1.0


def test_q_learning_runs_long_from_a_rolling_window() -> None:
    """A long run (collusion audit) may pass only recent rows; each row is learnt from once."""
    q = QLearning(beta_decay=1e-3)
    q.reset(0)
    rng = np.random.default_rng(0)
    window: list[HistoryRow] = []
    for t in range(3000):
        ctx = PricingContext(
            product=Product(sku="a", unit_cost=1.0, current_price=window[-1].price if window else 2.0),
            guardrails=Guardrails(min_price=1.0, max_price=3.0), history=tuple(window),
            competitor_price=2.0,
        )
        p = q.act(ctx)
        assert 1.0 <= p <= 3.0
        comp = float(rng.uniform(1.0, 3.0))
        units = 10 * math.exp(-(p - comp))
        window = (window + [HistoryRow(period=t, price=p, units=units, competitor_price=comp)])[-3:]
    assert q.t == 2999  # rows seen: the 3000th period's row was never handed back
    assert q.q_table is not None and q.q_table.shape == (225, 15)
    assert q.epsilon == pytest.approx(math.exp(-2.999))


def test_q_learning_can_be_a_policy_competitor() -> None:
    task = TaskSpec(
        task_id="duo", seed=0, horizon=60, unit_cost=1.0, initial_price=1.6, min_price=1.0, max_price=2.5,
        demand=LogitDemand(market_size=100.0, quality=2.0, mu=0.25),
        competitors=(Competitor(kind="policy", initial_price=1.6, unit_cost=1.0, quality=2.0,
                                policy="q_learning"),),
    )
    market = Market(task, {0: make_pricer("q_learning")})  # a QLearning seller against a QLearning rival
    market.reset(0)
    seller = QLearning()
    seller.reset(1)
    while not market.done:
        market.step(seller.act(market.context()))
    assert np.all(np.isfinite(prices(market)))
    rival = np.array([p for p, _ in market.state.comp_history[0]])
    assert np.all((rival >= 1.0) & (rival <= 2.5)) and np.ptp(rival) > 0


# --- meta-learning -----------------------------------------------------------------------------


def test_meta_prior_is_deterministic_and_plausible(small_meta_prior: MetaPrior) -> None:
    again = fit_meta_prior.__wrapped__(n_tasks=30, horizon=40, seed=0)  # bypass the cache
    assert again == small_meta_prior
    generic = TSPrior()
    assert -5.2 <= small_meta_prior.beta_mean <= -0.6
    assert 0.25 <= small_meta_prior.beta_std <= 2.5
    # What transfers best: how far demand sits from the first sale, and how noisy it is.
    assert small_meta_prior.alpha_std < generic.alpha_std / 4
    assert small_meta_prior.noise_std < generic.noise_std
    assert small_meta_prior.n_tasks >= 20


@pytest.mark.slow
def test_default_meta_prior_and_meta_ts() -> None:
    prior = fit_meta_prior()
    assert prior is fit_meta_prior()  # cached in-process
    assert -5.2 <= prior.beta_mean <= -0.6
    assert prior.kappa_mean < 0  # demand curves seen in training bend downwards in log-log
    meta = make_pricer("meta_ts")
    assert meta.name == "meta_ts" and meta.prior == prior


# --- shared helpers ----------------------------------------------------------------------------


def test_argmax_profit_handles_inelastic_and_cost_above_range() -> None:
    grid = price_grid(1.0, 10.0, 50)
    assert grid[0] == 1.0 and grid[-1] == 10.0
    assert argmax_profit(grid, 2.0, log_demand=-0.5 * np.log(grid)) == 10.0  # inelastic: ceiling
    assert argmax_profit(grid, 2.0, log_demand=-3.0 * np.log(grid)) == pytest.approx(3.0, rel=0.05)
    assert argmax_profit(grid, 20.0, demand=np.ones_like(grid)) == 10.0  # nothing covers the cost
    assert argmax_profit(grid, 2.0, log_demand=1e6 * np.log(grid)) == 10.0  # no overflow


def test_stockouts_are_censored_and_chokes_are_bisected() -> None:
    rows = [HistoryRow(period=0, price=10.0, units=5.0, inventory=5.0),
            HistoryRow(period=1, price=10.0, units=4.0, inventory=9.0),
            HistoryRow(period=2, price=16.0, units=0.0, inventory=9.0),
            HistoryRow(period=3, price=12.0, units=3.0, inventory=9.0)]
    assert [r.period for r in uncensored(rows)] == [1, 2, 3]
    assert choke_cap(uncensored(rows)) == pytest.approx(math.sqrt(16.0 * 12.0))
