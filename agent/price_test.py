"""A price test: when the evidence cannot tell whether a new price beats the current one, measure it.

Thin evidence (two or three sales points) leaves the expected gain of a price move inside its own
uncertainty. Then the honest answer is not a bold move but a test, designed here from the same fit:

* **design** (`design_price_test`): charge the current price and the candidate price in alternating
  periods (current, candidate, current, ...), for `periods_per_arm` periods each. The number comes from
  the textbook two-sample power calculation on profit per period,
  n per arm = (z_{1-alpha/2} + z_{1-beta})^2 (sigma_a^2 + sigma_b^2) / delta^2
  (= 2 (z + z)^2 sigma^2 / delta^2 when both arms are equally noisy), where delta is the expected
  difference in profit per period from the fitted demand and sigma each arm's per-period standard
  deviation of profit, from the fit's residual noise: units are lognormal around the curve with
  log-std s (`agent.evidence.DemandFit.noise`), so sd(units) = mean * sqrt(exp(s^2) - 1). Stated
  defaults: 95% confidence (alpha 0.05, two-sided) and 80% power. A difference that would take more
  than `MAX_PERIODS_PER_ARM` periods per price to see is reported as not worth testing.
* **read-out** (`read_price_test`): the new sales rows (price, units per period) in, the price that
  won and by how much profit per period out, with a Welch t interval at the same confidence (the two
  prices' periods need not be equally noisy). No winner is named while the interval holds zero.

Alternating periods (rather than one block at each price) spread seasonality and trend over both
arms alike; a shop that can split traffic may run both prices at once with the same numbers per arm.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Mapping
from statistics import NormalDist, fmean, variance

from pydantic import BaseModel

from agent.evidence import Evidence
from env.context import PricingContext

ALPHA = 0.05  # two-sided: 95% confidence
POWER = 0.8
MAX_PERIODS_PER_ARM = 52  # beyond this a difference is too small to be worth a test (a year of weeks)
_SAME_PRICE = 0.005  # rows within half a percent (and a cent) of an arm's price count as charged at it

try:  # scipy is a dependency of the project; the fallbacks keep this module usable without it
    from scipy import stats as _stats
except ImportError:  # pragma: no cover
    _stats = None


@functools.lru_cache(maxsize=256)
def z_quantile(q: float) -> float:
    """The standard normal quantile (scipy.stats.norm, else statistics.NormalDist). Cached: a catalog asks
    the same two levels for every product, and scipy's ppf costs about half a millisecond a call."""
    return float(_stats.norm.ppf(q)) if _stats is not None else NormalDist().inv_cdf(q)


@functools.lru_cache(maxsize=1024)
def t_quantile(q: float, df: float) -> float:
    """Student's t quantile (scipy.stats.t; without scipy, the normal one: slightly narrow at small df)."""
    return float(_stats.t.ppf(q, df)) if _stats is not None else NormalDist().inv_cdf(q)


def sample_size(sigma: float, delta: float, alpha: float = ALPHA, power: float = POWER,
                sigma_other: float | None = None) -> int:
    """Periods (observations) per arm to detect a difference `delta` in means with a two-sided test at level
    `alpha` and the given `power`: ceil((z_{1-alpha/2} + z_{power})^2 (sigma^2 + sigma_other^2) / delta^2),
    `sigma_other` defaulting to `sigma` (then 2 (z + z)^2 sigma^2 / delta^2). Textbook check: sigma 10,
    delta 5, alpha 0.05, power 0.8 gives 62.79, so 63 per arm."""
    if not delta or not math.isfinite(delta):
        raise ValueError("the difference to detect must be a finite non-zero number")
    if sigma < 0 or (sigma_other is not None and sigma_other < 0):
        raise ValueError("standard deviations cannot be negative")
    other = sigma if sigma_other is None else sigma_other
    z = z_quantile(1 - alpha / 2) + z_quantile(power)
    return max(2, math.ceil(round(z**2 * (sigma**2 + other**2) / delta**2, 9)))


class PriceTest(BaseModel):
    """Which prices to charge, for how long, and what the test can tell (every number from the fit)."""

    current_price: float
    test_price: float
    metric: str = "profit per period"
    expected_difference: float  # test - current, expected profit per period under the fitted demand
    sd_current: float  # per-period standard deviation of profit at each price (fitted residual noise)
    sd_test: float
    log_noise: float  # the fit's residual log-std of units
    confidence: float  # 1 - alpha, two-sided
    power: float
    periods_per_arm: int  # the power calculation's n, even where it is not feasible
    total_periods: int
    expected_units_current: float  # per period
    expected_units_test: float
    feasible: bool  # periods_per_arm <= MAX_PERIODS_PER_ARM
    plan: str  # the design in words


class PriceTestResult(BaseModel):
    """What the new sales say: each price's mean profit per period, the difference and its interval."""

    current_price: float
    test_price: float
    periods_current: int
    periods_test: int
    ignored_rows: int  # rows at neither price
    profit_current: float | None
    profit_test: float | None
    difference: float | None  # test - current, profit per period
    low: float | None  # Welch t interval of the difference at `confidence`
    high: float | None
    confidence: float
    winner: float | None  # the price that won, None while the interval holds zero (or too few periods)
    summary: str


def _sd_profit(units: float, margin: float, log_noise: float) -> float:
    return abs(margin) * units * math.sqrt(math.expm1(log_noise**2))


def design_price_test(context: PricingContext, evidence: Evidence, test_price: float, alpha: float = ALPHA,
                      power: float = POWER) -> PriceTest | None:
    """The test of `test_price` against the current price, from the evidence's fit; None where there is
    nothing to test (no fit, no estimate at either price, the same price, no expected difference)."""
    current, cost = context.product.current_price, context.product.unit_cost
    here, there = evidence.at_current, evidence.point(test_price)
    if evidence.fit is None or here is None or there is None or abs(test_price - current) < 0.005:
        return None
    delta = there.profit - here.profit
    if abs(delta) < 1e-9:
        return None
    noise = evidence.fit.noise
    sd_a, sd_b = _sd_profit(here.units, current - cost, noise), _sd_profit(there.units, test_price - cost, noise)
    n = sample_size(sd_a, delta, alpha, power, sd_b)
    feasible = n <= MAX_PERIODS_PER_ARM
    level = f"{1 - alpha:.0%} confidence and {power:.0%} power"
    if feasible:
        plan = (f"Alternate the two prices period by period ({current:,.2f}, {test_price:,.2f}, {current:,.2f}, ...) "
                f"for {2 * n} periods, {n} at each (about {n * here.units:,.0f} and {n * there.units:,.0f} units). "
                f"That tells an expected difference of {delta:+,.2f} profit per period apart from the noise in "
                f"your sales (a per-period spread of about {sd_a:,.2f} and {sd_b:,.2f}) with {level}. "
                "Then upload the new sales: I will say which price won and by how much, with an interval.")
    else:
        plan = (f"The expected difference ({delta:+,.2f} profit per period) is small against the noise in your "
                f"sales (a per-period spread of about {sd_a:,.2f}): telling it apart with {level} would take "
                f"{n:,} periods at each price ({2 * n:,} in all), longer than a test is worth. Move in small steps "
                "instead and let each period's sales sharpen the estimate.")
    return PriceTest(current_price=current, test_price=test_price, expected_difference=delta, sd_current=sd_a,
                     sd_test=sd_b, log_noise=noise, confidence=1 - alpha, power=power, periods_per_arm=n,
                     total_periods=2 * n, expected_units_current=here.units, expected_units_test=there.units,
                     feasible=feasible, plan=plan)


def _row(row: object) -> tuple[float, float]:
    if isinstance(row, Mapping):
        return float(row["price"]), float(row["units"])
    if hasattr(row, "price") and hasattr(row, "units"):
        return float(row.price), float(row.units)
    price, units = row  # a (price, units) pair
    return float(price), float(units)


def _near(price: float, target: float) -> bool:
    return abs(price - target) <= max(0.01, _SAME_PRICE * target)


def read_price_test(rows: Iterable[object], current_price: float, test_price: float, unit_cost: float,
                    alpha: float = ALPHA) -> PriceTestResult:
    """Which of two prices earned more profit per period in `rows` (each a period's price and units sold:
    `HistoryRow`s, mappings or (price, units) pairs), by how much, with a Welch t interval at 1 - alpha."""
    arms: dict[str, list[float]] = {"current": [], "test": []}
    ignored = 0
    for row in rows:
        price, units = _row(row)
        arm = "current" if _near(price, current_price) else "test" if _near(price, test_price) else None
        if arm is None:
            ignored += 1
        else:
            arms[arm].append((price - unit_cost) * units)
    a, b = arms["current"], arms["test"]
    base = dict(current_price=current_price, test_price=test_price, periods_current=len(a), periods_test=len(b),
                ignored_rows=ignored, confidence=1 - alpha)
    if len(a) < 2 or len(b) < 2:
        return PriceTestResult(**base, profit_current=fmean(a) if a else None, profit_test=fmean(b) if b else None,
                               difference=None, low=None, high=None, winner=None,
                               summary=(f"Not enough periods yet: {len(a)} at {current_price:,.2f} and {len(b)} at "
                                        f"{test_price:,.2f}; at least 2 at each price are needed for an interval."))
    mean_a, mean_b = fmean(a), fmean(b)
    low, high = welch_interval(a, b, alpha)
    diff = mean_b - mean_a
    winner = test_price if low > 0 else current_price if high < 0 else None
    interval = f"{diff:+,.2f} profit per period ({1 - alpha:.0%} interval {low:+,.2f} to {high:+,.2f})"
    if winner is None:
        summary = (f"No clear winner yet: {test_price:,.2f} earned {interval} against {current_price:,.2f}, "
                   f"over {len(b)} and {len(a)} periods; the interval holds zero, so keep testing or hold "
                   f"{current_price:,.2f}.")
    else:
        loser = current_price if winner == test_price else test_price
        summary = (f"{winner:,.2f} won: {abs(diff):,.2f} more profit per period than {loser:,.2f} "
                   f"({test_price:,.2f} vs {current_price:,.2f}: {interval}; {len(b)} and {len(a)} periods).")
    return PriceTestResult(**base, profit_current=mean_a, profit_test=mean_b, difference=diff, low=low, high=high,
                           winner=winner, summary=summary)


def welch_interval(a: list[float], b: list[float], alpha: float = ALPHA) -> tuple[float, float]:
    """The Welch t interval for mean(b) - mean(a) at confidence 1 - alpha (unequal variances; Welch-
    Satterthwaite degrees of freedom). Each sample needs at least two values."""
    va, vb = variance(a) / len(a), variance(b) / len(b)
    diff = fmean(b) - fmean(a)
    se = math.sqrt(va + vb)
    if se == 0:
        return diff, diff
    df = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
    half = t_quantile(1 - alpha / 2, df) * se
    return diff - half, diff + half
