"""The price-test designer and read-out (issue 16): sample size against the textbook two-sample
calculation, a design from the fitted noise, and a Welch interval that agrees with scipy's."""

import math
from statistics import NormalDist

import numpy as np
import pytest
from scipy import stats

from agent.evidence import compute_evidence
from agent.price_test import (
    MAX_PERIODS_PER_ARM,
    design_price_test,
    read_price_test,
    sample_size,
    welch_interval,
)
from env.context import HistoryRow, PricingContext, Product


def test_sample_size_matches_the_textbook_two_sample_calculation():
    # n = 2 (z_0.975 + z_0.8)^2 sigma^2 / delta^2 = 2 (1.95996 + 0.84162)^2 100 / 25 = 62.79 -> 63 per arm
    assert sample_size(10, 5) == 63
    z = NormalDist().inv_cdf(0.975) + NormalDist().inv_cdf(0.8)
    assert 2 * z**2 * 100 / 25 == pytest.approx(62.79, abs=0.01)
    assert sample_size(10, -5) == 63  # a difference either way
    assert sample_size(10, 5, power=0.9) == math.ceil(2 * (1.959964 + 1.281552) ** 2 * 4)  # 85
    assert sample_size(10, 5, alpha=0.1) == math.ceil(2 * (1.644854 + 0.841621) ** 2 * 4)  # 50
    assert sample_size(10, 10) == 16  # 15.7: halve the noise-to-difference ratio, quarter the periods
    # unequal noise: (z + z)^2 (sigma_a^2 + sigma_b^2) / delta^2
    assert sample_size(6, 5, sigma_other=8) == math.ceil(z**2 * (36 + 64) / 25)
    with pytest.raises(ValueError):
        sample_size(10, 0)


def _thin(units_high: float = 90.0) -> PricingContext:
    return PricingContext(product=Product(sku="MUG", unit_cost=4.0, current_price=14.0),
                          history=(HistoryRow(period=0, price=12.0, units=120),
                                   HistoryRow(period=1, price=14.0, units=units_high)))


def test_the_design_comes_from_the_fitted_demand_and_its_noise():
    context = _thin()
    evidence = compute_evidence(context)
    design = design_price_test(context, evidence, 11.9)
    here, there = evidence.at_current, evidence.point(11.9)
    assert design.current_price == 14.0 and design.test_price == 11.9
    assert design.expected_difference == pytest.approx(there.profit - here.profit)
    s = evidence.fit.noise
    assert design.log_noise == s
    assert design.sd_current == pytest.approx((14.0 - 4.0) * here.units * math.sqrt(math.exp(s**2) - 1))
    assert design.sd_test == pytest.approx((11.9 - 4.0) * there.units * math.sqrt(math.exp(s**2) - 1))
    assert design.periods_per_arm == sample_size(design.sd_current, design.expected_difference,
                                                 sigma_other=design.sd_test)
    assert design.total_periods == 2 * design.periods_per_arm
    assert design.confidence == 0.95 and design.power == 0.8
    assert design.feasible == (design.periods_per_arm <= MAX_PERIODS_PER_ARM)
    assert f"{design.periods_per_arm} periods at each price" in design.plan
    # a bigger step is a bigger difference: fewer periods
    far = design_price_test(context, evidence, evidence.supported_range[0])
    assert far.periods_per_arm < design.periods_per_arm
    assert far.feasible and "Alternate the two prices" in far.plan and "upload the new sales" in far.plan
    # nothing to test
    assert design_price_test(context, evidence, 14.0) is None
    assert design_price_test(context, evidence, 1e6) is None  # no estimate there
    bare = PricingContext(product=Product(sku="X", unit_cost=4.0, current_price=14.0))
    assert design_price_test(bare, compute_evidence(bare), 12.0) is None


def test_the_read_out_names_the_winner_with_a_welch_interval():
    rng = np.random.default_rng(0)
    rows = []
    for t in range(40):  # alternating, as the design says; the test price truly earns more
        price = 14.0 if t % 2 == 0 else 11.9
        mean = 90.0 if price == 14.0 else 140.0
        rows.append(HistoryRow(period=t, price=price, units=float(round(mean * math.exp(rng.normal(0, 0.2))))))
    rows.append(HistoryRow(period=40, price=13.0, units=100))  # at neither price: ignored
    result = read_price_test(rows, 14.0, 11.9, unit_cost=4.0)
    a = [(r.price - 4.0) * r.units for r in rows if r.price == 14.0]
    b = [(r.price - 4.0) * r.units for r in rows if r.price == 11.9]
    assert result.periods_current == 20 and result.periods_test == 20 and result.ignored_rows == 1
    assert result.difference == pytest.approx(np.mean(b) - np.mean(a))
    ci = stats.ttest_ind(b, a, equal_var=False).confidence_interval(0.95)
    assert (result.low, result.high) == pytest.approx((ci.low, ci.high))
    assert result.low > 0 and result.winner == 11.9
    assert result.summary.startswith("11.90 won:") and "95% interval" in result.summary
    # rows as (price, units) pairs or mappings give the same answer
    pairs = [(r.price, r.units) for r in rows]
    assert read_price_test(pairs, 14.0, 11.9, 4.0).difference == pytest.approx(result.difference)
    assert read_price_test([{"price": p, "units": u} for p, u in pairs], 14.0, 11.9, 4.0).winner == 11.9


def test_no_winner_while_the_interval_holds_zero_or_the_periods_are_too_few():
    rows = [(14.0, 90), (11.9, 118), (14.0, 110), (11.9, 122), (14.0, 95), (11.9, 100)]
    result = read_price_test(rows, 14.0, 11.9, unit_cost=4.0)
    assert result.low < 0 < result.high and result.winner is None
    assert result.summary.startswith("No clear winner yet")
    few = read_price_test([(14.0, 90), (11.9, 118), (14.0, 95)], 14.0, 11.9, unit_cost=4.0)
    assert few.winner is None and few.low is None and "Not enough periods yet" in few.summary
    # the current price winning is said as clearly
    lost = read_price_test([(14.0, 100), (11.9, 80), (14.0, 102), (11.9, 78), (14.0, 101), (11.9, 79)],
                           14.0, 11.9, unit_cost=4.0)
    assert lost.winner == 14.0 and lost.high < 0


def test_welch_interval_agrees_with_scipy_for_unequal_variances():
    a, b = [10.0, 12.0, 9.0, 11.0, 13.0], [20.0, 5.0, 31.0, 14.0, 26.0, 18.0, 9.0]
    ci = stats.ttest_ind(b, a, equal_var=False).confidence_interval(0.9)
    assert welch_interval(a, b, alpha=0.1) == pytest.approx((ci.low, ci.high))
    assert welch_interval([5.0, 5.0], [7.0, 7.0]) == (2.0, 2.0)  # no spread: the difference itself
