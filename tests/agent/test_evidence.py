"""The demand fit recovers simulated elasticities and is honest about flat or missing history."""

import numpy as np
import pytest

from agent import evidence as ev_module
from agent.evidence import EXTRAPOLATION, PRIOR_ELASTICITY, choke_price, compute_evidence
from env.context import Guardrails, HistoryRow, PricingContext, Product
from env.market import Market
from env.task import ConstantElasticityDemand, Inventory, TaskSpec


def simulated_context(elasticity: float, periods: int = 30, seed: int = 0, spread: float = 0.15,
                      noise: float = 0.1) -> PricingContext:
    task = TaskSpec(task_id="fit", seed=seed, horizon=periods + 1, unit_cost=5.0, initial_price=10.0,
                    min_price=2.0, max_price=60.0, noise=noise,
                    demand=ConstantElasticityDemand(scale=100, elasticity=elasticity, ref_price=10.0))
    market = Market(task)
    market.reset(seed + 10_000)  # demand noise independent of the price moves below
    prices = 10.0 * np.exp(np.random.default_rng(seed).normal(0, spread, periods))
    for p in prices:
        market.step(float(p))
    return market.context()


@pytest.mark.parametrize("elasticity", [-0.8, -1.5, -2.5, -4.0])
def test_fit_recovers_known_elasticity(elasticity):
    hits = 0
    for seed in range(10):
        fit = compute_evidence(simulated_context(elasticity, seed=seed)).fit
        assert fit.identified
        assert fit.elasticity == pytest.approx(elasticity, abs=0.4)
        hits += fit.elasticity_low <= elasticity <= fit.elasticity_high
    assert hits >= 8  # a 90% interval


def test_optimum_matches_the_lerner_rule():
    ev = compute_evidence(simulated_context(-2.5, periods=40, noise=0.05))
    assert ev.model_optimal_price == pytest.approx(5.0 * 2.5 / 1.5, rel=0.08)
    best = ev.point(ev.model_optimal_price)
    assert best.profit_low <= best.profit <= best.profit_high
    assert best.profit >= max(c.profit for c in ev.curve) - 1e-9


def test_inelastic_demand_moves_up_at_most_30_percent_beyond_the_data():
    ctx = simulated_context(-0.6, periods=30)
    ctx = ctx.model_copy(update={"guardrails": Guardrails(max_price=25.0)})
    ev = compute_evidence(ctx)
    top = max(r.price for r in ctx.history) * EXTRAPOLATION
    assert ev.model_optimal_price == pytest.approx(top, rel=1e-6) and top < 25.0
    assert any("does not extrapolate" in n for n in ev.notes)


def test_following_the_evidence_reaches_the_ceiling_of_an_inelastic_market():
    demand = ConstantElasticityDemand(scale=100, elasticity=-0.7, ref_price=10)
    task = TaskSpec(task_id="inelastic", seed=0, horizon=20, unit_cost=5.0, initial_price=10.0, min_price=5.0,
                    max_price=40.0, noise=0.05, demand=demand)
    market = Market(task)
    market.reset(1)
    for _ in range(12):
        ctx = market.context()
        market.step(compute_evidence(ctx).model_optimal_price or ctx.product.current_price)
    assert market.state.history[-1].price == pytest.approx(40.0)


def test_a_price_that_sold_nothing_bounds_the_search():
    rows = [HistoryRow(period=0, price=10.0, units=100.0), HistoryRow(period=1, price=11.0, units=92.0),
            HistoryRow(period=2, price=14.0, units=0.0), HistoryRow(period=3, price=12.0, units=80.0)]
    ctx = PricingContext(product=Product(sku="s", unit_cost=5, current_price=12.0), history=tuple(rows),
                         guardrails=Guardrails(max_price=40.0))
    assert choke_price(ctx) == 14.0
    ev = compute_evidence(ctx)
    assert ev.model_optimal_price < 14.0 and ev.fit.observations == 3
    assert any("nothing sold at 14.00" in n for n in ev.notes)


def test_flat_history_is_not_identified_and_uses_the_prior():
    rows = tuple(HistoryRow(period=i, price=10.0, units=100.0 + i % 3) for i in range(20))
    ev = compute_evidence(PricingContext(product=Product(sku="s", unit_cost=5, current_price=10), history=rows))
    assert not ev.fit.identified
    assert ev.fit.elasticity == pytest.approx(PRIOR_ELASTICITY, abs=0.05)
    assert "not identified" in ev.fit.note and any("not identified" in n for n in ev.notes)


def test_no_history_gives_no_curve():
    ev = compute_evidence(PricingContext(product=Product(sku="s", unit_cost=5, current_price=10)))
    assert ev.fit is None and ev.curve == [] and ev.model_optimal_price is None
    assert ev.notes and ev.point(12.0) is None


def test_stockouts_are_censored():
    demand = ConstantElasticityDemand(scale=100, elasticity=-2.0, ref_price=10)
    task = TaskSpec(task_id="cap", seed=0, horizon=40, unit_cost=5.0, initial_price=10.0, min_price=2.0,
                    max_price=60.0, noise=0.05, demand=demand,
                    inventory=Inventory(initial=60, replenish_every=1, replenish_qty=60, capacity=60))
    m = Market(task)
    m.reset(1)
    for p in 10.0 * np.exp(np.random.default_rng(3).normal(0.3, 0.2, 30)):
        m.step(float(p))
    ev = compute_evidence(m.context())
    assert ev.fit.observations < 30  # sold-out periods were left out
    assert ev.fit.elasticity == pytest.approx(-2.0, abs=0.5)


def test_competitor_gap_and_determinism():
    ctx = simulated_context(-2.0).model_copy(update={"competitor_price": 8.0})
    ev = compute_evidence(ctx)
    assert ev.competitor_gap_pct == pytest.approx(100 * (ctx.product.current_price - 8.0) / 8.0)
    assert compute_evidence(ctx) == ev


def test_two_period_history_predicts_units_of_the_same_size_as_observed():
    """A merchant's "120 at $12, 90 at $14": the fit is exact, so the residuals carry no noise
    information; the expected units must stay near what was sold, not explode through a noise
    estimate measured against the prior."""
    rows = (HistoryRow(period=0, price=12.0, units=120.0), HistoryRow(period=1, price=14.0, units=90.0))
    ev = compute_evidence(PricingContext(product=Product(sku="m", unit_cost=4.0, current_price=14.0), history=rows))
    assert 60 < ev.at_current.units < 140
    assert ev.fit.noise < 0.5
    assert ev.at_current.units_low < 90 < ev.at_current.units_high


def test_a_choke_price_is_kept_out_of_the_fit_as_the_pricers_keep_it():
    """Issue 14, item 1: the evidence selects rows by the same rules as the classical pricers
    (`env.demand_fit`). Periods that sold next to nothing above a choke price used to stay in the
    log-linear fit and wreck it (noise 1.7, elasticity -4.9 where the truth is -2)."""
    from env import demand_fit

    rng = np.random.default_rng(7)
    prices = np.round(10 * np.exp(rng.normal(0, 0.15, 30)), 2)
    rows = tuple(HistoryRow(period=t, price=float(p),
                            units=round(float(100 * (p / 10) ** -2 * np.exp(rng.normal(0, 0.1))) if p < 11 else 0.2, 1))
                 for t, p in enumerate(prices))
    context = PricingContext(product=Product(sku="C", unit_cost=4.0, current_price=float(prices[-1])), history=rows)
    ev = compute_evidence(context)
    assert ev.fit.observations == len(demand_fit.demand_rows(rows)) < len(rows)
    assert ev.fit.identified and abs(ev.fit.elasticity - (-2.0)) < 0.3 and ev.fit.noise < 0.2
    assert choke_price(context) == min(float(p) for p in prices if p >= 11)
    assert ev.supported_range[1] == pytest.approx(demand_fit.choke_cap(list(rows)))
    assert abs(ev.model_optimal_price / 8.0 - 1) < 0.1  # c * e / (1 + e) = 4 * 2 = 8, below the choke


def test_what_the_evidence_keeps_changes_no_number_and_no_equality():
    from agent.evidence import profit_change_band

    ctx = simulated_context(-2.0, periods=20)
    ev, again = compute_evidence(ctx), compute_evidence(ctx)
    assert ev == again and ev == ev.model_copy(deep=True)
    price = ev.model_optimal_price
    assert profit_change_band(ctx, price, evidence=ev) == profit_change_band(ctx, price)
    assert profit_change_band(ctx, price, seed=3, evidence=ev) == profit_change_band(ctx, price, seed=3)
    inside = (ev.curve[3].price + ev.curve[4].price) / 2
    fresh = type(ev).model_validate_json(ev.model_dump_json())  # no cache: the point is rebuilt from the curve
    assert fresh.point(inside) == ev.point(inside)
    shorter = ev.model_copy(update={"curve": ev.curve[:10]})  # a copy with another curve does not reuse the old
    assert shorter.point(ev.curve[20].price) is None


def test_curve_bands_are_numpys_percentiles_of_the_draws_below_cost_too():

    ctx = simulated_context(-2.0, periods=20)
    ctx = ctx.model_copy(update={"guardrails": Guardrails(min_price=3.0)})  # the curve starts below cost (5)
    ev = compute_evidence(ctx, seed=7)
    post, _ = ev_module._fit(ctx)
    prices = np.array([c.price for c in ev.curve])
    assert prices[0] < ctx.product.unit_cost < prices[-1]
    units = ev_module._unit_draws(post, prices, None, 7)
    profit = (prices - ctx.product.unit_cost)[None, :] * units
    for field, values in (("units", units), ("profit", profit)):
        low, high = np.percentile(values, ev_module.BAND, axis=0)
        assert np.array_equal([getattr(c, f"{field}_low") for c in ev.curve], low)
        assert np.array_equal([getattr(c, f"{field}_high") for c in ev.curve], high)


def _with_varying_competitor(ctx: PricingContext) -> PricingContext:
    rows = [r.model_copy(update={"competitor_price": 9.0 + (i % 3)}) for i, r in enumerate(ctx.history)]
    return ctx.model_copy(update={"history": tuple(rows), "competitor_price": 10.5})


@pytest.mark.parametrize("variant", ["plain", "floor below cost", "varying competitor"])
def test_evidence_without_its_point_list_answers_every_number_the_same(variant):
    """The lean evidence works its bands out only at the prices asked for: the same floats as the full curve's
    (with a cross-price term, and where margins are negative and the profit order reverses)."""
    ctx = simulated_context(-2.0, periods=20)
    if variant == "floor below cost":
        ctx = ctx.model_copy(update={"guardrails": Guardrails(min_price=3.0)})
    elif variant == "varying competitor":
        ctx = _with_varying_competitor(ctx)
        assert ev_module._fit(ctx)[0].with_competitor
    full, lean = compute_evidence(ctx, seed=3), compute_evidence(ctx, seed=3, with_curve=False)
    assert lean.curve == [] and full.curve
    assert lean.model_dump(exclude={"curve"}) == full.model_dump(exclude={"curve"})
    low, high = full.curve[0].price, full.curve[-1].price
    for price in (low, high, (low + high) / 2, full.model_optimal_price, ctx.product.current_price,
                  low * 0.9, high * 1.1):
        assert lean.point(price) == full.point(price)


def test_notes_come_with_their_parts_for_other_languages():
    """Each note is a kind and its numbers (`agent.evidence_notes`); a copy read back from JSON has no parts (its
    notes may be anything), and the English text is what the notes always said."""
    from agent.evidence_notes import english

    ctx = simulated_context(-2.0, periods=20, spread=0.02)  # barely varied prices: the prior elasticity is noted
    ev = compute_evidence(ctx)
    parts = ev.note_parts()
    assert parts and [english(kind, values) for kind, values in parts] == ev.notes
    assert any(kind == "elasticity" for kind, _ in parts)
    assert type(ev).model_validate_json(ev.model_dump_json()).note_parts() == []
    assert english("bottom_edge", {"price": 9.23, "distance": 100 * (1 / 1.3 - 1), "seen": 12.0}) == (
        "profit still rises towards 9.23, 23% below the lowest price tried (12.00): the model does not extrapolate "
        "further")
