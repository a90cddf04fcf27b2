"""Demand fitting, once for the whole project: the classical pricers and the agent's evidence.

Every learning baseline and the evidence the LLM reads fit a demand curve to the same observed
history, so the rules live here once: which rows measure demand (stock-outs are censored, a
period that sold next to nothing marks a choke price), ordinary least squares, the noise variance
shrunk towards a prior, the conjugate Gaussian update, the log-linear and linear design matrices,
and the argmax-profit-over-a-grid step. Before issue 14 the evidence re-derived these with other
thresholds (it kept choked periods in its fit, and needed six rows and a 1% spread before it
used the rival's price); `tests/agent/test_fit_pins.py` records what the move changed.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from env.context import HistoryRow

GRID_SIZE = 256
LOG_OFFSET = 0.01  # zero sales enter log(units) as log(LOG_OFFSET * mean units): a steep drop, not -inf
CHOKE_FRACTION = 0.02  # a period selling under 2% of the median units is read as a choke price


def uncensored(history: Sequence[HistoryRow]) -> list[HistoryRow]:
    """Rows whose units measure demand. A stock-out row only shows the stock, so it is dropped."""
    return [r for r in history if r.inventory is None or r.units < r.inventory * (1 - 1e-9) - 1e-12]


def choked(rows: Sequence[HistoryRow]) -> np.ndarray:
    """Which (uncensored) rows sold next to nothing: under CHOKE_FRACTION of the median units.

    Mean-one lognormal noise of realistic size never cuts demand 50-fold, so such a row means
    the demand curve itself is near zero there (a choke price). A log-linear model, which
    cannot produce a zero, must not be fitted to it: log(0 + small) would dominate the fit.
    """
    units = np.array([r.units for r in rows], dtype=float)
    if not units.size:
        return np.zeros(0, dtype=bool)
    # statistics.median: np.median's value, without its ~70 us of dispatch on a short history (issue 17)
    return units <= CHOKE_FRACTION * float(statistics.median(units.tolist()))


def demand_rows(history: Sequence[HistoryRow]) -> list[HistoryRow]:
    """Rows a log-linear demand model can be fitted to: neither stocked out nor choked."""
    rows = uncensored(history)
    return [r for r, bad in zip(rows, choked(rows), strict=True) if not bad]


def choke_price(rows: Sequence[HistoryRow]) -> float | None:
    """The lowest price of an (uncensored) row that sold next to nothing, or None: where demand ends."""
    flags = choked(rows)
    return float(min(r.price for r, bad in zip(rows, flags, strict=True) if bad)) if flags.any() else None


def choke_cap(rows: Sequence[HistoryRow], fallback_step: float = 1.25) -> float | None:
    """Highest price worth trying given choked rows (None if none): bisect towards the choke.

    The cap is the geometric midpoint between the lowest choked price and the highest price
    below it that still sold, so repeated probes home in on the choke price instead of
    revisiting it; with no selling price below, it is the choked price / fallback_step.
    """
    z = choke_price(rows)
    if z is None:
        return None
    flags = choked(rows)
    price = np.array([r.price for r in rows], dtype=float)
    below = price[~flags & (price < z)]
    return float(np.sqrt(z * below.max())) if below.size else z / fallback_step


def row_profit(row: HistoryRow, unit_cost: float) -> float:
    """Profit of a past period as a pricer can see it: margin times units sold."""
    return (row.price - unit_cost) * row.units


def clip(price: float, low: float, high: float) -> float:
    return float(min(max(price, low), high))


def price_grid(low: float, high: float, n: int = GRID_SIZE) -> np.ndarray:
    """Geometric grid over [low, high]: prices act multiplicatively, so resolution is relative."""
    if high <= low * (1 + 1e-12):
        return np.array([float(low)])
    grid = np.geomspace(low, high, n)
    grid[0], grid[-1] = low, high  # exact end points, so a chosen bound is the bound itself
    return grid


def argmax_profit(
    grid: np.ndarray,
    unit_cost: float,
    demand: np.ndarray | None = None,
    log_demand: np.ndarray | None = None,
) -> float:
    """The grid price maximising (p - c) * demand(p); demand given directly or as its log.

    The log form avoids overflow when a sampled elasticity is extreme. If no grid price covers
    the unit cost (a cost above the ceiling), the ceiling loses least and is returned.
    """
    margin = grid - unit_cost
    if not np.any(margin > 0):
        return float(grid[-1])
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if log_demand is not None:
            score = np.where(margin > 0, np.log(np.where(margin > 0, margin, 1.0)) + log_demand, -np.inf)
        else:
            assert demand is not None
            score = margin * np.maximum(demand, 0.0)
    score = np.where(np.isnan(score), -np.inf, score)
    if np.all(score == -np.inf):
        return float(grid[-1])
    return float(grid[int(np.argmax(score))])


@dataclass(frozen=True)
class OLSFit:
    coef: np.ndarray
    cov: np.ndarray  # sigma2 * (X'X)^-1; NaN where the residual variance is unknown (no dof)
    sigma2: float
    dof: int


def ols(X: np.ndarray, y: np.ndarray) -> OLSFit | None:
    """Least squares with standard errors; None when the coefficients are not identified."""
    n, k = X.shape
    if n < k:
        return None
    coef, _, rank, _ = np.linalg.lstsq(X, y, rcond=None)
    if rank < k:
        return None
    dof = n - k
    resid = y - X @ coef
    sigma2 = float(resid @ resid / dof) if dof > 0 else float("nan")
    cov = sigma2 * np.linalg.pinv(X.T @ X)
    return OLSFit(coef=coef, cov=cov, sigma2=sigma2, dof=dof)


def residual_variance(X: np.ndarray, y: np.ndarray, prior_std: float, prior_weight: float) -> float:
    """Plug-in noise variance: the least-squares residual variance shrunk towards prior_std**2.

    It is the posterior mean of an inverse-gamma prior worth `prior_weight` pseudo-observations,
    so a short or collinear history falls back on the prior instead of a 0/0.
    """
    n = X.shape[0]
    rss, dof = 0.0, 0
    if n:
        coef, _, rank, _ = np.linalg.lstsq(X, y, rcond=None)
        resid = y - X @ coef
        dof = max(n - int(rank), 0)
        rss = float(resid @ resid) if dof else 0.0
    return (prior_weight * prior_std**2 + rss) / (prior_weight + dof)


def gaussian_posterior(
    X: np.ndarray, y: np.ndarray, prior_mean: np.ndarray, prior_cov: np.ndarray, noise_var: float
) -> tuple[np.ndarray, np.ndarray]:
    """Conjugate Normal update of regression coefficients with known noise variance."""
    prec0 = np.linalg.inv(prior_cov)
    prec = prec0 + X.T @ X / noise_var
    cov = np.linalg.inv(prec)
    cov = 0.5 * (cov + cov.T)
    mean = cov @ (prec0 @ prior_mean + X.T @ y / noise_var)
    return mean, cov


def sample_gaussian(rng: np.random.Generator, mean: np.ndarray, cov: np.ndarray) -> np.ndarray:
    """One draw from N(mean, cov) via Cholesky (with jitter for near-singular covariances)."""
    jitter = 1e-12 * max(float(np.trace(cov)), 1e-12)
    for _ in range(6):
        try:
            chol = np.linalg.cholesky(cov + jitter * np.eye(len(mean)))
            return mean + chol @ rng.standard_normal(len(mean))
        except np.linalg.LinAlgError:
            jitter *= 100
    return mean.copy()


def log_offset(units: np.ndarray) -> float:
    """The small amount added before taking logs: LOG_OFFSET times the mean units."""
    units = np.asarray(units, dtype=float)
    return LOG_OFFSET * max(float(units.mean()) if units.size else 0.0, 1e-9)


def log_units(units: np.ndarray, offset: float | None = None) -> np.ndarray:
    """log(units + small): zero sales are informative (demand collapsed) but must stay finite."""
    units = np.asarray(units, dtype=float)
    return np.log(units + (log_offset(units) if offset is None else offset))


def varies(x: np.ndarray) -> bool:
    return x.size > 1 and float(np.ptp(x)) > 1e-9


def competitor_column(rows: Sequence[HistoryRow]) -> np.ndarray | None:
    """Competitor prices of the rows when every row has one and they vary (else not estimable)."""
    comp = [r.competitor_price for r in rows]
    if not comp or any(c is None for c in comp):
        return None
    arr = np.asarray(comp, dtype=float)
    return arr if varies(np.log(arr)) else None


def loglinear_design(
    rows: Sequence[HistoryRow],
    p_ref: float,
    with_competitor: bool,
    offset: float | None = None,
    curvature: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """X = [1, x, (x^2), (log(competitor / p_ref))] with x = log(p / p_ref); y = log(units + small)."""
    x = np.log(np.array([r.price for r in rows], dtype=float) / p_ref)
    cols = [np.ones_like(x), x] + ([x**2] if curvature else [])
    if with_competitor:
        cols.append(np.log(np.array([r.competitor_price for r in rows], dtype=float) / p_ref))
    units = np.array([r.units for r in rows], dtype=float)
    return np.column_stack(cols) if rows else np.zeros((0, len(cols))), log_units(units, offset)


def linear_design(
    rows: Sequence[HistoryRow], p_ref: float, with_competitor: bool
) -> tuple[np.ndarray, np.ndarray]:
    """X = [1, p - p_ref, (competitor - p_ref)], y = units: the linear demand curve, centred."""
    price = np.array([r.price for r in rows], dtype=float)
    cols = [np.ones_like(price), price - p_ref]
    if with_competitor:
        cols.append(np.array([r.competitor_price for r in rows], dtype=float) - p_ref)
    units = np.array([r.units for r in rows], dtype=float)
    return np.column_stack(cols) if rows else np.zeros((0, len(cols))), units


def fit_linear_demand(rows: Sequence[HistoryRow]) -> tuple[float, float] | None:
    """OLS of units = a - b * price; returns (a, b), or None without two distinct prices."""
    if len(rows) < 2:
        return None
    price = np.array([r.price for r in rows], dtype=float)
    if not varies(price):
        return None
    X = np.column_stack([np.ones_like(price), price])
    fit = ols(X, np.array([r.units for r in rows], dtype=float))
    if fit is None:
        return None
    return float(fit.coef[0]), float(-fit.coef[1])


def percentile_pair(values: np.ndarray, percentiles: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    """`np.percentile(values, percentiles, axis=0)` (two of them, e.g. a 90% band), bit for bit, from one sort.

    Why by hand: np.percentile partitions the draws once per call and costs ~45% of a classical
    catalog score (issue 17); one sort, then numpy's own linear interpolation (Hyndman & Fan's
    method 7, with its `_lerp` switch at gamma 0.5), gives the same floats several times faster.
    `tests/env/test_percentile_pair.py` checks the identity against np.percentile.
    """
    return sorted_percentile_pair(np.sort(values, axis=0), percentiles)


def sorted_percentile_pair(ordered: np.ndarray, percentiles: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    """`percentile_pair` of values already sorted along axis 0 (a caller that can reuse one sort)."""
    n = ordered.shape[0]
    out = []
    for q in percentiles:
        quantile = np.float64(q) / 100
        virtual = (n - 1) * quantile  # numpy's virtual index for method 'linear'
        below = min(max(int(np.floor(virtual)), 0), n - 1)
        above = min(below + 1, n - 1)
        gamma = virtual - np.floor(virtual)
        a, b = ordered[below], ordered[above]
        diff = b - a
        out.append(b - diff * (1 - gamma) if gamma >= 0.5 else a + diff * gamma)
    return out[0], out[1]
