"""The simulator itself: demand shapes, noise, inventory, reference prices, reproducibility."""

import numpy as np
import pytest

from env.distribution import sample_task, sample_tasks
from env.market import Market, expected_sold, segment_means
from env.scenarios import SCENARIOS, make_scenario
from env.task import (
    ConstantElasticityDemand,
    Inventory,
    LinearDemand,
    LogitDemand,
    ReferencePrice,
    Seasonality,
    Spike,
    TaskSpec,
)


def make_task(demand, **kw) -> TaskSpec:
    base = dict(task_id="t", seed=1, horizon=20, unit_cost=5.0, initial_price=10.0, min_price=5.0,
                max_price=40.0, demand=demand, noise=0.1)
    base.update(kw)
    return TaskSpec(**base)


def elasticity(task: TaskSpec, price: float, t: int = 0) -> float:
    """d ln q / d ln p by central differences on the mean demand."""
    h = 1e-4
    comps = np.array([c.initial_price for c in task.competitors])
    q = [sum(m for _, m in segment_means(task, np.array(price * np.exp(s)), t, comps, None)) for s in (-h, h)]
    return float((np.log(q[1]) - np.log(q[0])) / (2 * h))


def test_constant_elasticity_has_its_elasticity_everywhere():
    task = make_task(ConstantElasticityDemand(scale=100, elasticity=-2.7, ref_price=10))
    for p in (6.0, 10.0, 33.0):
        assert elasticity(task, p) == pytest.approx(-2.7, abs=1e-6)


def test_linear_elasticity_grows_with_price():
    task = make_task(LinearDemand(intercept=200, slope=5))
    for p in (8.0, 20.0, 30.0):
        assert elasticity(task, p) == pytest.approx(-5 * p / (200 - 5 * p), rel=1e-5)
    assert elasticity(task, 30.0) < elasticity(task, 8.0) < 0


def test_logit_elasticity_matches_formula():
    task = make_task(LogitDemand(market_size=100, quality=12, mu=2.0))
    p = 11.0
    share = np.exp((12 - p) / 2) / (np.exp((12 - p) / 2) + 1)
    assert elasticity(task, p) == pytest.approx(-p * (1 - share) / 2.0, rel=1e-5)


def test_sampled_tasks_have_realistic_elasticities_at_their_initial_price():
    seen = []
    for task in sample_tasks("train", 150):
        if task.demand.kind == "logit" or task.reference is not None:
            continue
        # at the initial state: the rival (if any) posting our price, no season, no member segment
        rivals = tuple(c.model_copy(update={"initial_price": task.initial_price}) for c in task.competitors)
        plain = task.model_copy(update={"seasonality": Seasonality(), "member": None, "competitors": rivals})
        e = elasticity(plain, task.initial_price)
        seen.append(e)
        assert -5.2 - 1e-6 <= e <= -0.6 + 1e-6, task.task_id
    assert min(seen) < -4 and max(seen) > -1.1  # both brand-level and inelastic category-level markets


def test_expected_sold_matches_monte_carlo():
    rng = np.random.default_rng(0)
    mean, stock, sigma = 100.0, 95.0, 0.3
    draws = mean * np.exp(sigma * rng.standard_normal(400_000) - sigma**2 / 2)
    assert float(expected_sold(np.array(mean), stock, sigma)) == pytest.approx(np.minimum(draws, stock).mean(),
                                                                                 rel=3e-3)
    assert float(expected_sold(np.array(mean), None, sigma)) == mean


def test_noise_is_mean_one():
    task = make_task(ConstantElasticityDemand(scale=100, elasticity=-2, ref_price=10), noise=0.25, horizon=4000)
    m = Market(task)
    m.reset(3)
    units = [m.step(10.0).units for _ in range(4000)]
    assert np.mean(units) == pytest.approx(100, rel=0.02)


def test_reference_price_loss_aversion():
    ref = ReferencePrice(memory=0.8, loss=2.0, gain=0.5)
    task = make_task(ConstantElasticityDemand(scale=100, elasticity=-2, ref_price=10), reference=ref)
    base = make_task(ConstantElasticityDemand(scale=100, elasticity=-2, ref_price=10))
    up = segment_means(task, np.array(11.0), 0, np.array([]), 10.0)[0][1] / segment_means(
        base, np.array(11.0), 0, np.array([]), None)[0][1]
    down = segment_means(task, np.array(9.0), 0, np.array([]), 10.0)[0][1] / segment_means(
        base, np.array(9.0), 0, np.array([]), None)[0][1]
    assert up < 1 < down
    assert 1 - up > down - 1  # a rise hurts more than an equal cut helps


def test_inventory_caps_sales_and_replenishes():
    inv = Inventory(initial=50, replenish_every=5, replenish_qty=30, holding_cost=0.1)
    task = make_task(ConstantElasticityDemand(scale=40, elasticity=-2, ref_price=10), inventory=inv, noise=0.0)
    m = Market(task)
    m.reset(0)
    r0 = m.step(10.0)
    r1 = m.step(10.0)
    assert r0.units == pytest.approx(40) and r1.units == pytest.approx(10) and r1.stockout
    assert r1.profit == pytest.approx(10 * 5)  # nothing left to hold
    for _ in range(3):
        m.step(10.0)
    assert m.state.stock == pytest.approx(30)  # delivery at the start of period 5
    assert m.context().inventory == pytest.approx(30)


def test_perishable_stock_is_written_off_at_the_horizon():
    inv = Inventory(initial=100, perishable=True)
    task = make_task(ConstantElasticityDemand(scale=10, elasticity=-2, ref_price=10), inventory=inv, noise=0.0,
                     horizon=1)
    m = Market(task)
    m.reset(0)
    r = m.step(10.0)
    assert r.profit == pytest.approx(10 * 5 - 90 * 5)
    assert r.expected_profit == pytest.approx(r.profit)


def test_spike_lifts_demand():
    task = make_task(ConstantElasticityDemand(scale=10, elasticity=-2, ref_price=10), noise=0.0,
                     seasonality=Seasonality(spikes=(Spike(start=2, length=1, lift=1.5),)))
    m = Market(task)
    m.reset(0)
    units = [m.step(10.0).units for _ in range(4)]
    assert units == pytest.approx([10, 10, 25, 10])


def test_same_seed_same_path_other_seed_other_path():
    task = sample_task("test", 3)

    def path(seed):
        m = Market(task)
        m.reset(seed)
        return [m.step(task.initial_price * (1 + 0.01 * t)).units for t in range(task.horizon)]

    assert path(7) == path(7)
    assert path(7) != path(8)


def test_splits_are_disjoint_and_reproducible():
    assert sample_task("train", 5) == sample_task("train", 5)
    train = {t.model_dump_json(exclude={"task_id"}) for t in sample_tasks("train", 300)}
    test = {t.model_dump_json(exclude={"task_id"}) for t in sample_tasks("test", 300)}
    assert not train & test
    spec = sample_task("validation", 2)
    assert TaskSpec.model_validate_json(spec.model_dump_json()) == spec


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_every_scenario_runs(name):
    from env.episode import build_policy

    task = make_scenario(name)
    rivals = {i: build_policy("cost_plus", task) for i, c in enumerate(task.competitors) if c.kind == "policy"}
    m = Market(task, rivals)
    m.reset(0)
    while not m.done:
        r = m.step(task.initial_price)
        assert np.isfinite(r.profit) and r.units >= 0
    assert len(m.state.history) == task.horizon


@pytest.mark.parametrize(
    ("change", "field"),
    [({"unit_cost": -1.0}, "unit_cost"), ({"horizon": 0}, "horizon"), ({"noise": float("nan")}, "noise"),
     ({"min_price": 50.0}, "min_price")],
)
def test_invalid_specs_name_the_field(change, field):
    spec = sample_task("test", 0).model_dump()
    spec.update(change)
    with pytest.raises(ValueError, match=field):
        TaskSpec.model_validate(spec)
