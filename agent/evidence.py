"""Evidence: deterministic demand analysis of a product's history (no LLM involved).

The demand model is log-linear, log(units) = alpha + beta * log(price / p_ref) [+ gamma *
log(competitor / p_ref) when the competitor's price varies], fitted by Bayesian least squares
with a Normal prior on the elasticity beta. The prior is stated, not hidden:
beta ~ N(-2.0, 1.5^2), a brand-level retail elasticity (scanner data put brands at about -2.4
to -5.2, categories at about -0.6 to -1.1). With varied prices the data dominate; with flat or
too little history the posterior *is* the prior and the evidence says the elasticity is not
identified from the data. Periods that sold out (units at the stock level) are censored and
left out: they show supply, not demand.

From the posterior come the expected units and profit at any price, with a 90% band from
posterior draws (seeded, so the same history always gives the same evidence), and the
model-optimal price over the allowed range, within 30% of the prices already tried
(`supported_range`).
"""

from __future__ import annotations

import math

import numpy as np
from pydantic import BaseModel, PrivateAttr, TypeAdapter

from agent import evidence_notes
from agent.guardrails import GuardrailConflict, hard_range
from env import demand_fit
from env.context import PricingContext

PRIOR_ELASTICITY = -2.0
PRIOR_ELASTICITY_STD = 1.5
BAND = (5.0, 95.0)  # percentiles of the 90% band
EXTRAPOLATION = 1.3  # the model-optimal price stays within 30% beyond the prices tried
_DRAWS = 400
_GRID = 121


class DemandFit(BaseModel):
    elasticity: float
    elasticity_low: float
    elasticity_high: float
    identified: bool
    observations: int
    price_variation: float  # std of log price over the fitted rows
    noise: float  # residual std of log units
    method: str
    note: str


class CurvePoint(BaseModel):
    price: float
    units: float
    units_low: float
    units_high: float
    profit: float
    profit_low: float
    profit_high: float


class _Posterior(BaseModel):
    mean: list[float]
    cov: list[list[float]]
    noise: float
    p_ref: float
    with_competitor: bool


_POINT_FIELDS = tuple(CurvePoint.model_fields)  # "price" first
_BAND_ROWS = [_POINT_FIELDS.index(f) for f in ("units_low", "units_high", "profit_low", "profit_high")]
_CURVE = TypeAdapter(list[CurvePoint])


class _Derived:
    """What `compute_evidence` worked out on the way, kept so later questions need not redo it: the curve as columns
    (for `Evidence.point`), the posterior and its seeded draws (for `profit_change_band`, whose band pairs the same
    draws), the notes' parts. Not part of the evidence's value: evidences are equal whatever their caches hold."""

    __slots__ = ("table", "posterior", "draws", "seed", "competitor", "cost", "notes")
    __hash__ = None  # type: ignore[assignment]

    def __init__(self) -> None:
        self.table: np.ndarray | None = None  # the curve's columns; band rows NaN until `fill_bands` asks for them
        self.posterior: _Posterior | None = None
        self.draws: np.ndarray | None = None  # the posterior's coefficient draws under `seed`
        self.seed: int | None = None
        self.competitor: float | None = None
        self.cost: float = 0.0
        self.notes: list[tuple[str, dict]] = []  # the notes as (kind, numbers), in `Evidence.notes`' order

    def fill_bands(self, columns: np.ndarray) -> None:
        """Work out the 90% bands of the table's `columns` that are still NaN (the same floats as the whole
        curve's: each price's draws are computed and sorted on their own)."""
        table = self.table
        missing = columns[np.isnan(table[_BAND_ROWS[0], columns])]  # type: ignore[index]
        if missing.size and self.posterior is not None:
            prices = table[0, missing]  # type: ignore[index]
            units = _unit_draws(self.posterior, prices, self.competitor, self.seed, self.draws)  # type: ignore[arg-type]
            table[np.ix_(_BAND_ROWS, missing)] = _bands(units, prices - self.cost)  # type: ignore[index]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Derived)


class Evidence(BaseModel):
    """Everything the rationale may quote. Numbers in explanations come from here only."""

    fit: DemandFit | None
    curve: list[CurvePoint]
    model_optimal_price: float | None
    at_current: CurvePoint | None
    competitor_price: float | None
    competitor_gap_pct: float | None  # (our current price - competitor's) / competitor's, in %
    search_range: tuple[float, float]  # the prices the guardrails allow (the curve's range)
    supported_range: tuple[float, float]  # where the optimum is searched: within 30% of the prices tried
    notes: list[str]
    _cache: _Derived = PrivateAttr(default_factory=lambda: _Derived())

    def note_parts(self) -> list[tuple[str, dict]]:
        """The notes as (kind, numbers) (`agent.evidence_notes`), to write them in another language; empty where
        this evidence was not computed here (e.g. read back from JSON) or its notes were replaced."""
        parts = self._cache.notes
        return parts if [evidence_notes.english(k, v) for k, v in parts] == self.notes else []

    def point(self, price: float) -> CurvePoint | None:
        """Expected units and profit at `price`, interpolated on the curve (on its columns where the evidence
        was computed without the point list, `compute_evidence(with_curve=False)`: the same numbers).

        None without a fit and outside the curve's range: an edge value passed off as the estimate
        at a price beyond it would be a number the evidence does not hold.
        """
        table = self._cache.table
        if table is None or (self.curve and table.shape[1] != len(self.curve)):  # built once per curve
            if not self.curve:
                return None
            table = self._cache.table = np.array([[getattr(c, f) for f in _POINT_FIELDS] for c in self.curve]).T
        xs = table[0]
        if not xs[0] * (1 - 1e-9) <= price <= xs[-1] * (1 + 1e-9):
            return None
        j = int(np.searchsorted(xs, price))  # np.interp reads the two prices around `price`, at most
        self._cache.fill_bands(np.arange(max(j - 1, 0), min(j + 1, len(xs) - 1) + 1))
        values = {f: float(np.interp(price, xs, column)) for f, column in zip(_POINT_FIELDS, table, strict=True)}
        values["price"] = price
        return CurvePoint(**values)


def usable_rows(context: PricingContext) -> list:
    """Rows that show demand (`env.demand_fit.demand_rows`): neither sold out nor choked.

    Unless fewer than two such periods sold anything: then sold-out periods enter as what they
    are, lower bounds on demand. Dropping them left a product that sold out on the way up and
    nothing at the top with no fit at all, stuck at a price where nothing sells.
    """
    rows = [r for r in demand_fit.demand_rows(context.history) if r.units > 0]
    if len(rows) < 2:
        dead = choke_price(context)
        rows = [r for r in context.history if r.units > 0 and (dead is None or r.price < dead)]
    return rows


def choke_price(context: PricingContext) -> float | None:
    """The lowest price at which (next to) nothing sold although stock was there, if any.

    A log-linear curve never reaches zero, so it cannot represent a choke price: fitted with zero
    sales floored to some small number, it reads them as a mild drop and keeps a price at which
    nothing sells. Those periods are kept out of the fit and bound the search from above instead
    (`env.demand_fit.choke_cap`, which homes in on the choke as probes come back).
    """
    return demand_fit.choke_price(demand_fit.uncensored(context.history))


def loglinear_posterior(X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """(posterior mean, covariance, noise variance) of log(units) on the log-linear design `X`.

    The one place the evidence's prior lives (the toolbox's log-linear hypothesis reuses it): the
    level essentially free, the elasticity the stated prior, a cross elasticity ~ N(0, 1); the
    residual noise is the sample estimate shrunk towards 0.2 with 3 pseudo-observations (with no more
    rows than coefficients the fit is exact and the residuals say nothing about the noise).
    """
    k = X.shape[1]
    prior_mean = np.zeros(k)
    prior_mean[1] = PRIOR_ELASTICITY
    prior_cov = np.diag([10.0**2, PRIOR_ELASTICITY_STD**2, 1.0][:k])
    noise_var = demand_fit.residual_variance(X, y, prior_std=0.2, prior_weight=3.0)
    mean, cov = demand_fit.gaussian_posterior(X, y, prior_mean, prior_cov, noise_var)
    return mean, cov, noise_var


def _fit(context: PricingContext) -> tuple[_Posterior | None, DemandFit | None]:
    rows = usable_rows(context)
    if not rows:
        return None, None
    p_ref = context.product.current_price
    with_comp = demand_fit.competitor_column(rows) is not None
    X, y = demand_fit.loglinear_design(rows, p_ref, with_comp, offset=0.0)  # every row sold: log(units)
    mean, cov, noise_var = loglinear_posterior(X, y)
    sd = math.sqrt(cov[1, 1])
    variation = float(np.std(X[:, 1]))
    identified = len(rows) >= 3 and variation > 0.02 and sd < 0.6 * PRIOR_ELASTICITY_STD
    if identified:
        note = f"estimated from {len(rows)} periods with price changes"
        if len(demand_fit.uncensored(rows)) < len(rows):
            note += " (periods that sold out count as lower bounds on demand)"
    elif variation <= 0.02:
        note = (f"not identified: the price barely changed in the history, so the elasticity is the prior "
                f"{PRIOR_ELASTICITY:.1f} (typical for a branded product)")
    else:
        note = f"weakly identified from {len(rows)} periods: the prior {PRIOR_ELASTICITY:.1f} still weighs in"
    fit = DemandFit(
        elasticity=float(mean[1]), elasticity_low=float(mean[1] - 1.645 * sd),
        elasticity_high=float(mean[1] + 1.645 * sd), identified=identified, observations=len(rows),
        price_variation=variation, noise=math.sqrt(noise_var),
        method="Bayesian log-linear least squares, prior N(-2.0, 1.5^2) on the elasticity", note=note)
    post = _Posterior(mean=mean.tolist(), cov=cov.tolist(), noise=math.sqrt(noise_var), p_ref=p_ref,
                      with_competitor=with_comp)
    return post, fit


def markdown_price(context: PricingContext) -> float | None:
    """The next price to try when nothing has sold at any price tried although there was stock, else None.

    Why: with no period that sold there is no demand to fit, and holding the price keeps it where nothing
    sells for ever (a seller who started above the choke price earned 0% of the oracle's profit over 50
    periods, `bench/results/ood.md`, far_start). So the price steps down geometrically towards the prices
    that sell (`env.demand_fit.choke_cap`: the lowest price that sold nothing / 1.25, then bisection once a
    lower price sells), inside the guardrails. None while some period sold (then the fit decides), when
    nothing was tried, or when the rules allow no lower price.
    """
    if usable_rows(context):
        return None
    cap = demand_fit.choke_cap(demand_fit.uncensored(context.history))
    if cap is None:
        return None
    low, high = search_range(context)
    price = demand_fit.clip(cap, low, high)
    return price if price < context.product.current_price * (1 - 1e-9) else None


def no_fit_price(context: PricingContext) -> tuple[float, str]:
    """(price, why) for a context without a demand fit: the markdown step where nothing sold, else the
    current price (one implementation for every policy's no-fit case)."""
    step = markdown_price(context)
    if step is not None:
        return step, (f"nothing sold at any price tried although there was stock: stepping down to {step:.2f} to "
                      "find the prices that sell")
    return context.product.current_price, ("no period has sold yet, so there is no demand to fit; the price "
                                           "stays until there is")


def search_range(context: PricingContext) -> tuple[float, float]:
    """Where prices are considered: the guardrails' hard range (`agent.guardrails.hard_range`).

    With no bounds set that is the default band (unit cost to 3x the highest price seen), so the
    curve and the optimum never lie where the guardrails would not let a price go. Guardrails that
    admit no price are refused at every entry point; here they fall back to the nearer rule.
    """
    try:
        return hard_range(context)
    except GuardrailConflict:
        ceiling = context.guardrails.max_price
        return ceiling, ceiling


def supported_range(context: PricingContext) -> tuple[float, float]:
    """The allowed range cut to at most `EXTRAPOLATION` beyond the prices already tried.

    A log-linear fit is a local approximation: extrapolated to an untried corner of a wide
    range it can promise profits that are not there. So the model-optimal price moves at most
    30% beyond the data per decision; a truly inelastic product still reaches its ceiling, in a
    few geometric steps, each one checked by the sales it brings.
    """
    return _supported(context, search_range(context))


def _supported(context: PricingContext, allowed: tuple[float, float]) -> tuple[float, float]:
    low, high = allowed
    seen = [r.price for r in context.history] + [context.product.current_price]
    data_low, data_high = min(seen) / EXTRAPOLATION, max(seen) * EXTRAPOLATION
    cap = demand_fit.choke_cap(demand_fit.uncensored(context.history))
    if cap is not None:
        data_high = min(data_high, cap)
    if data_high < low or data_low > high or data_low > data_high:  # data outside the rules: keep the rules
        return low, high
    return max(low, data_low), min(high, data_high)


def _competitor(context: PricingContext) -> float | None:
    comp = context.competitor_price
    if comp is None and context.history and context.history[-1].competitor_price is not None:
        comp = context.history[-1].competitor_price
    return comp


def _coefficient_draws(post: _Posterior, seed: int) -> np.ndarray:
    """The seeded posterior draws of the fit's coefficients (draws x coefficients)."""
    rng = np.random.default_rng(seed)
    return rng.multivariate_normal(np.array(post.mean), np.array(post.cov), size=_DRAWS, method="cholesky")


def _unit_draws(post: _Posterior, prices: np.ndarray, comp: float | None, seed: int,
                draws: np.ndarray | None = None) -> np.ndarray:
    """Expected units at `prices` under each seeded posterior draw (draws x prices); `draws`, when given,
    are `_coefficient_draws(post, seed)` already made."""
    draws = _coefficient_draws(post, seed) if draws is None else draws
    # exp(level + elasticity * log_rel [+ cross * log_comp]) * smear, computed in place in one array: the same
    # float operations element by element as the broadcast expression, 2.4x faster (issue 17)
    units = np.multiply.outer(draws[:, 1], np.log(prices / post.p_ref))
    units += draws[:, :1]
    if post.with_competitor and comp is not None:
        units += draws[:, 2:3] * math.log(comp / post.p_ref)
    np.exp(units, out=units)
    units *= math.exp(post.noise**2 / 2)  # mean of lognormal noise
    return units


def profit_change_band(context: PricingContext, price: float, seed: int = 0,
                       evidence: Evidence | None = None) -> tuple[float, float, float] | None:
    """(mean, low, high): the expected change in profit per period of `price` against the current price,
    with its 90% band, from the same seeded posterior draws as `compute_evidence` (paired: each draw prices
    both, so what the two prices share in uncertainty cancels). None without a fit. `evidence`, computed
    for this `context`, lends its fit instead of a second one."""
    cache = evidence._cache if evidence is not None and evidence._cache.posterior is not None else None
    post = cache.posterior if cache is not None else _fit(context)[0]
    if post is None:
        return None
    current, cost = context.product.current_price, context.product.unit_cost
    prices = np.array([price, current])
    draws = cache.draws if cache is not None and cache.seed == seed else None
    profit = (prices - cost)[None, :] * _unit_draws(post, prices, _competitor(context), seed, draws)
    change = profit[:, 0] - profit[:, 1]
    low, high = demand_fit.percentile_pair(change, BAND)
    return float(change.mean()), float(low), float(high)


def _bands(units: np.ndarray, margin: np.ndarray) -> np.ndarray:
    """The 90% bands (units low, high, profit low, high) of unit draws (draws x prices) at these margins.

    One sort serves both: each price's profits are its units times one margin, so they sort in the units'
    order (reversed where the margin is negative) into exactly the floats a sort of the profits gives."""
    ordered_units = np.sort(units, axis=0)
    ordered_profit = margin[None, :] * ordered_units
    losing = margin < 0
    ordered_profit[:, losing] = ordered_profit[::-1, losing]
    return np.stack([*demand_fit.sorted_percentile_pair(ordered_units, BAND),
                     *demand_fit.sorted_percentile_pair(ordered_profit, BAND)])


def compute_evidence(context: PricingContext, seed: int = 0, with_curve: bool = True) -> Evidence:
    """Fits demand on the history and derives the curve, optimum and competitor gap.

    `with_curve=False` leaves `curve` empty (the ~250 points are a quarter of a classical catalog score, and a
    catalog row never shows them); `point`, `at_current` and every other number are the same."""
    post, fit = _fit(context)
    allowed_low, allowed_high = search_range(context)
    choke = choke_price(context)
    low, high = _supported(context, (allowed_low, allowed_high))
    ranges = {"search_range": (allowed_low, allowed_high), "supported_range": (low, high)}
    cost = context.product.unit_cost
    notes: list[tuple[str, dict]] = []  # (kind, numbers): `agent.evidence_notes`
    comp = _competitor(context)
    gap = None if comp is None else 100.0 * (context.product.current_price - comp) / comp
    if post is None:
        notes.append(("no_history", {}))
        if (step := markdown_price(context)) is not None:
            notes.append(("markdown", {"price": step}))
        return _with_notes(Evidence(fit=None, curve=[], model_optimal_price=None, at_current=None,
                                    competitor_price=comp, competitor_gap_pct=gap, notes=[], **ranges), notes)
    # the whole allowed range for the curve, and a dense grid where the optimum is searched
    grid = [np.geomspace(allowed_low, allowed_high, _GRID), np.geomspace(low, high, _GRID),
            [context.product.current_price]]
    prices = np.unique(np.concatenate(grid))
    prices = prices[(prices >= allowed_low) & (prices <= allowed_high)]
    draws = _coefficient_draws(post, seed)
    units = _unit_draws(post, prices, comp, seed, draws)
    mean_units = units.mean(axis=0)
    profit = (prices - cost)[None, :] * units
    mean_profit = profit.mean(axis=0)
    # a catalog row (no curve) reads the bands at two or three prices only: they are filled when asked for
    bands = _bands(units, prices - cost) if with_curve else np.full((4, len(prices)), np.nan)
    columns = np.stack([prices, mean_units, bands[0], bands[1], mean_profit, bands[2], bands[3]])
    cache = _Derived()
    cache.table, cache.posterior, cache.draws, cache.seed, cache.competitor, cache.cost = \
        columns, post, draws, seed, comp, cost
    # one validation call for the whole curve, from plain floats: point by point from numpy scalars it was a
    # fifth of a classical catalog score (issue 17)
    curve = _CURVE.validate_python([dict(zip(_POINT_FIELDS, row, strict=True)) for row in columns.T.tolist()]) \
        if with_curve else []
    inside = np.flatnonzero((prices >= low * (1 - 1e-9)) & (prices <= high * (1 + 1e-9)))
    best = int(inside[np.argmax(mean_profit[inside])])
    optimum = float(prices[best])
    at_top, at_bottom = best == inside[-1], best == inside[0]
    if choke is not None and high < allowed_high:
        notes.append(("choke", {"price": choke}))
    seen = [r.price for r in context.history] + [context.product.current_price]
    # a price's true distance from the prices tried: 1/1.3 of the lowest is 23% below it, not 30%
    if at_top and high < allowed_high and choke is None:
        notes.append(("top_edge", {"price": high, "distance": 100 * (high / max(seen) - 1), "seen": max(seen)}))
    elif at_bottom and low > allowed_low:
        notes.append(("bottom_edge", {"price": low, "distance": 100 * (low / min(seen) - 1), "seen": min(seen)}))
    elif at_top and context.guardrails.max_price is None:
        notes.append(("inelastic", {}))
    if not fit.identified:
        notes.append(("elasticity", {"fit_note": fit.note}))
    if context.inventory is not None and mean_units[best] > context.inventory:
        notes.append(("stock", {"stock": context.inventory}))
    at_current = None
    if allowed_low <= context.product.current_price <= allowed_high:  # the current price is on the grid
        j = int(np.flatnonzero(np.abs(prices - context.product.current_price) < 1e-9)[0])
        cache.fill_bands(np.array([j]))
        at_current = CurvePoint(**dict(zip(_POINT_FIELDS, columns[:, j].tolist(), strict=True)))
    evidence = Evidence(fit=fit, curve=curve, model_optimal_price=optimum, at_current=at_current,
                        competitor_price=comp, competitor_gap_pct=gap, notes=[], **ranges)
    evidence._cache = cache
    return _with_notes(evidence, notes)


def _with_notes(evidence: Evidence, parts: list[tuple[str, dict]]) -> Evidence:
    """`evidence` with its notes in English (`notes`) and as (kind, numbers) (`note_parts`)."""
    evidence.notes = [evidence_notes.english(kind, values) for kind, values in parts]
    evidence._cache.notes = parts
    return evidence
