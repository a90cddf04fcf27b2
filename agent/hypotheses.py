"""Demand hypotheses: several curve families fitted to one history, each with its fit quality.

The shipped evidence fits one log-linear curve, and the fine-tuned LLM learned to copy its
optimum; on linear and logit markets that curve is the wrong shape and its optimum is off by
10-20% of profit (`bench/results/finetune.md`). Here the same rows (`agent.evidence.usable_rows`:
stock-outs censored, choked periods out) are fitted by three families:

* **log-linear** (constant elasticity): log q = a + b log p [+ g log rival]; the evidence's own
  Bayesian fit with its stated elasticity prior, so it exists from the first period on.
* **linear**: q = a + b p [+ g rival]; has a choke price where the line reaches zero.
* **logit** (one seller against an outside option): q = M / (1 + exp(-(a + b p [+ g rival]))),
  the market size M profiled over a grid (log-odds are linear in price for a fixed M). A choke-like
  S curve: nearly flat near saturation, nearly exponential at small shares.

Each family's quality is its leave-one-out error in units (from the hat matrix, no refits: a family
is not credited for bending to a point it was fitted on), turned into a weight
w ~ exp(-n/2 log mse) over the families. Fewer than `MIN_ROWS` usable periods cannot tell a line
from a curve: then only the log-linear hypothesis (whose prior carries it) is offered.

Every hypothesis answers `mean_units(prices)` at the rival's current price, and can be written as
the simulator's own `DemandSpec`, so the stock-aware plan (`agent.candidates`) runs the env's DP on
it instead of a second planner.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np
from scipy.optimize import minimize_scalar

from agent.evidence import loglinear_posterior, usable_rows
from env import demand_fit
from env.context import PricingContext
from env.task import ConstantElasticityDemand, DemandSpec, LinearDemand, LogitDemand

MIN_ROWS = 6  # below this a two-coefficient line and curve fit equally well: no basis to choose
SPREAD = 0.02  # a std of log price below this is a price that barely moved: its effect is not measured
FAMILIES = ("loglinear", "linear", "logit")
_M_GRID = np.geomspace(1.002, 50.0, 40)  # logit market size, as multiples of the most units sold
_DRAWS = 200


@dataclass(frozen=True)
class Hypothesis:
    """One fitted demand family. `coef`/`cov` are the Gaussian posterior of its regression."""

    family: str
    coef: np.ndarray
    cov: np.ndarray
    loo_rmse: float | None  # leave-one-out root mean squared error in units (None: too few rows)
    noise: float  # log-std of demand around the curve, for plans and bands
    p_ref: float
    rival_now: float | None  # the rival price the curve is evaluated at (None: no rival column)
    market_size: float | None = None  # logit only
    weight: float = 1.0
    rows: int = 0
    _smear: float = field(default=1.0, repr=False)

    def mean_units(self, prices: np.ndarray, coef: np.ndarray | None = None) -> np.ndarray:
        """Expected units at `prices` (rival at its current price), under `coef` or the fitted one."""
        c = self.coef if coef is None else coef
        p = np.asarray(prices, dtype=float)
        if self.family == "loglinear":
            z = c[0] + c[1] * np.log(p / self.p_ref)
            if self.rival_now is not None:
                z = z + c[2] * math.log(self.rival_now / self.p_ref)
            return np.exp(np.clip(z, -700, 700)) * self._smear
        x = c[0] + c[1] * (p - self.p_ref)
        if self.rival_now is not None:
            x = x + c[2] * (self.rival_now - self.p_ref)
        if self.family == "linear":
            return np.maximum(x, 0.0)
        return self.market_size / (1.0 + np.exp(-np.clip(x, -700, 700)))

    def draws(self, rng: np.random.Generator, n: int = _DRAWS) -> np.ndarray:
        """Coefficient draws from the posterior (seeded by the caller)."""
        return rng.multivariate_normal(self.coef, self.cov, size=n, method="svd")

    def demand_spec(self) -> DemandSpec | None:
        """The hypothesis as the simulator's demand model (rival folded in at its current price).

        None when the fitted curve does not slope down, which no simulator model (and no sane plan)
        represents.
        """
        c = self.coef
        if c[1] >= 0:
            return None
        if self.family == "loglinear":
            level = c[0] + (c[2] * math.log(self.rival_now / self.p_ref) if self.rival_now is not None else 0.0)
            return ConstantElasticityDemand(scale=float(math.exp(level) * self._smear), ref_price=self.p_ref,
                                            elasticity=float(max(c[1], -20.0)))
        shift = c[2] * (self.rival_now - self.p_ref) if self.rival_now is not None else 0.0
        if self.family == "linear":
            intercept = c[0] - c[1] * self.p_ref + shift
            return LinearDemand(intercept=float(intercept), slope=float(-c[1])) if intercept > 0 else None
        # logit: log-odds x = c0 + c1 (p - p_ref) + shift = (quality - p) / mu against an outside option of 0
        mu = -1.0 / c[1]
        quality = (c[0] - c[1] * self.p_ref + shift) * mu
        return LogitDemand(market_size=float(self.market_size), quality=float(quality), mu=float(mu))


def _loo_residuals(X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Leave-one-out residuals of least squares, from the hat matrix."""
    hat = X @ np.linalg.pinv(X.T @ X) @ X.T
    return (y - hat @ y) / np.clip(1 - np.diag(hat), 1e-6, None)


def _rival_now(context: PricingContext, with_rival: bool) -> float | None:
    if not with_rival:
        return None
    if context.competitor_price is not None:
        return context.competitor_price
    return context.history[-1].competitor_price


def _columns(rows, p_ref: float, with_rival: bool, log_scale: bool) -> np.ndarray:
    price = np.array([r.price for r in rows], dtype=float)
    x = np.log(price / p_ref) if log_scale else price - p_ref
    cols = [np.ones_like(price), x]
    if with_rival:
        comp = np.array([r.competitor_price for r in rows], dtype=float)
        cols.append(np.log(comp / p_ref) if log_scale else comp - p_ref)
    return np.column_stack(cols)


def _loglinear(context: PricingContext, rows, with_rival: bool) -> Hypothesis:
    """The evidence's Bayesian log-linear fit (same prior and noise shrinkage as `agent.evidence`)."""
    p_ref = context.product.current_price
    X = _columns(rows, p_ref, with_rival, log_scale=True)
    y = np.log(np.array([r.units for r in rows], dtype=float))
    mean, cov, noise_var = loglinear_posterior(X, y)
    smear = math.exp(noise_var / 2)
    loo = None
    if len(rows) >= MIN_ROWS:
        pred = np.exp(y - _loo_residuals(X, y)) * smear
        loo = float(np.sqrt(np.mean((np.exp(y) - pred) ** 2)))
    return Hypothesis("loglinear", mean, cov, loo, math.sqrt(noise_var), p_ref, _rival_now(context, with_rival),
                      rows=len(rows), _smear=smear)


def _linear(context: PricingContext, rows, with_rival: bool, noise: float) -> Hypothesis | None:
    p_ref = context.product.current_price
    X = _columns(rows, p_ref, with_rival, log_scale=False)
    units = np.array([r.units for r in rows], dtype=float)
    fit = demand_fit.ols(X, units)
    if fit is None or fit.dof < 1 or fit.coef[1] >= 0:
        return None
    loo = float(np.sqrt(np.mean(_loo_residuals(X, units) ** 2)))
    return Hypothesis("linear", fit.coef, fit.cov, loo, noise, p_ref, _rival_now(context, with_rival),
                      rows=len(rows))


def _logit_at(X: np.ndarray, units: np.ndarray, m: float):
    """(leave-one-out RMSE in units, fit) of the log-odds regression for market size m, or None."""
    y = np.log(units / (m - units))
    fit = demand_fit.ols(X, y)
    if fit is None or fit.dof < 1 or fit.coef[1] >= 0:
        return None
    pred = m / (1 + np.exp(-(y - _loo_residuals(X, y))))
    return float(np.sqrt(np.mean((units - pred) ** 2))), fit


def _logit(context: PricingContext, rows, with_rival: bool, noise: float) -> Hypothesis | None:
    """Profile the market size M: for each M the log-odds log(q / (M - q)) are linear in price.

    A grid over M (the error can have several dips), then a bounded 1-D refinement around the best.
    """
    p_ref = context.product.current_price
    X = _columns(rows, p_ref, with_rival, log_scale=False)
    units = np.array([r.units for r in rows], dtype=float)
    log_m = np.log(_M_GRID * units.max())
    scored = [(r[0], lm) for lm in log_m if (r := _logit_at(X, units, math.exp(lm))) is not None]
    if not scored:
        return None
    i = int(np.argmin([e for e, _ in scored]))
    lo, hi = scored[max(i - 1, 0)][1], scored[min(i + 1, len(scored) - 1)][1]
    best_log_m = scored[i][1]
    if hi > lo:
        res = minimize_scalar(lambda lm: (r := _logit_at(X, units, math.exp(lm))) and r[0] or np.inf,
                              bounds=(lo, hi), method="bounded", options={"xatol": 1e-4})
        if res.fun < scored[i][0]:
            best_log_m = float(res.x)
    m = math.exp(best_log_m)
    loo, fit = _logit_at(X, units, m)
    return Hypothesis("logit", fit.coef, fit.cov, loo, noise, p_ref, _rival_now(context, with_rival),
                      market_size=m, rows=len(rows))


def rival_confounded(rows) -> bool:
    """Whether our price has only ever moved together with the rival's, so that what our own price does to
    sales cannot be told apart from what the rival's does.

    Measured as the spread of log price left after regressing it on log rival price (below `SPREAD`, as
    for a price that barely moved); False where the rival's price never varied (then it is no regressor).
    Why it matters: two copies of one deterministic policy facing each other move in lockstep; each then
    reads the joint demand curve (both prices up together loses few sales) as its own, and both settle
    near the monopoly price (`bench/audit.py`: collusion index 0.95 in self-play before this check).
    A merchant who always matched the competitor's price has the same blind spot.
    """
    comp = demand_fit.competitor_column(rows)
    if comp is None:
        return False
    log_p, log_r = np.log([r.price for r in rows]), np.log(comp)
    X = np.column_stack([np.ones_like(log_r), log_r])
    coef, *_ = np.linalg.lstsq(X, log_p, rcond=None)
    return float(np.std(log_p - X @ coef)) < SPREAD


def fit_hypotheses(context: PricingContext) -> list[Hypothesis]:
    """Every family that fits this history, best leave-one-out error first, with weights summing to 1.

    Empty without a period that sold. With fewer than `MIN_ROWS` usable periods, or prices that
    barely moved, only the log-linear hypothesis (weight 1).
    """
    rows = usable_rows(context)
    if not rows:
        return []
    with_rival = demand_fit.competitor_column(rows) is not None
    base = _loglinear(context, rows, with_rival)
    spread = float(np.std(np.log([r.price for r in rows])))
    if base.loo_rmse is None or spread < SPREAD:
        return [base]
    found = [base] + [h for h in (_linear(context, rows, with_rival, base.noise),
                                  _logit(context, rows, with_rival, base.noise)) if h is not None]
    n = len(rows)
    scores = np.array([-0.5 * n * math.log(max(h.loo_rmse, 1e-12) ** 2) for h in found])
    weights = np.exp(scores - scores.max())
    weights /= weights.sum()
    ranked = sorted(zip(found, weights, strict=True), key=lambda hw: hw[0].loo_rmse)
    return [replace(h, weight=float(w)) for h, w in ranked]
