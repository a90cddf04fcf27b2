"""Meta Thompson sampling (Bastani, Simchi-Levi & Zhu 2021): a TS prior learnt across products."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from env.context import HistoryRow
from env.demand_fit import competitor_column, demand_rows, log_offset, loglinear_design, ols
from env.distribution import sample_task
from env.market import Market
from env.pricers.thompson import ThompsonSampling, TSPrior

MIN_BETA_STD = 0.25  # floor on the learnt prior spread: never let the prior rule out a product
MIN_GAMMA_STD = 0.25
MIN_KAPPA_STD = 0.25
MIN_ALPHA_STD = 0.15
MIN_TASKS = 5  # fewer usable estimates than this and the generic prior is kept for that coefficient


@dataclass(frozen=True)
class MetaPrior(TSPrior):
    """A TSPrior whose transferable parts were estimated from training products.

    beta (own elasticity at the first price), kappa (log-log curvature), gamma (cross
    elasticity), the noise level and the spread of the intercept around the first observation are
    what products share; the intercept itself is product-specific and still anchored on each
    product's first sale. `n_tasks` counts the training products whose fit entered the estimates.
    """

    n_tasks: int = 0


@dataclass(frozen=True)
class TaskFit:
    """One training product's least-squares fit of the log-linear model."""

    beta: float
    beta_se: float
    kappa: float
    kappa_se: float
    gamma: float | None
    gamma_se: float | None
    alpha_gap: float  # fitted intercept minus the first observation's log units
    noise_var: float


def _random_effects(est: np.ndarray, se: np.ndarray, floor: float) -> tuple[float, float]:
    """Method of moments: mean of the estimates, variance = var(estimates) - mean(se^2), floored.

    Estimates are winsorised at 3 robust standard deviations first: a product whose demand
    collapsed to zero gives a wild log-linear slope that would otherwise dominate the spread.
    """
    med = float(np.median(est))
    mad = 1.4826 * float(np.median(np.abs(est - med))) or 1.0
    est = np.clip(est, med - 3 * mad, med + 3 * mad)
    var = float(np.var(est, ddof=1)) - float(np.mean(se**2))
    return float(np.mean(est)), max(var, floor**2) ** 0.5


def fit_task(history: Sequence[HistoryRow]) -> TaskFit | None:
    """Least squares of log(units) on log prices from observed rows only (None if not identified)."""
    rows = demand_rows(history)  # as ThompsonSampling fits it
    if len(rows) < 6:
        return None
    p_ref = history[0].price
    with_comp = competitor_column(rows) is not None
    offset = log_offset(np.array([r.units for r in history]))
    X, y = loglinear_design(rows, p_ref, with_comp, offset, curvature=True)
    fit = ols(X, y)
    if fit is None or fit.dof < 3:
        return None
    se = np.sqrt(np.diag(fit.cov))
    return TaskFit(
        beta=float(fit.coef[1]), beta_se=float(se[1]), kappa=float(fit.coef[2]), kappa_se=float(se[2]),
        gamma=float(fit.coef[3]) if with_comp else None, gamma_se=float(se[3]) if with_comp else None,
        alpha_gap=float(fit.coef[0] - np.log(history[0].units + offset)), noise_var=fit.sigma2,
    )


@functools.lru_cache(maxsize=8)
def fit_meta_prior(n_tasks: int = 100, horizon: int = 50, seed: int = 0) -> MetaPrior:
    """Learn the TS prior from `n_tasks` TRAIN products, each played by generic-prior TS.

    Each product's history is fitted by least squares with the model TS uses (log-linear with
    curvature, competitor term when estimable); the prior mean and spread of each coefficient
    come from those estimates by method of moments (`_random_effects`). Using TS itself as the
    behaviour policy makes the training data look like the data the learnt prior will meet.
    Only what a seller would observe is used: the markets are simulated, the behaviour policy
    sees contexts, and each product's coefficients are fitted from its history rows — the true
    task parameters are never read. Deterministic given the arguments, and cached in-process.
    """
    rng = np.random.default_rng(seed)
    fits: list[TaskFit] = []
    for i in range(n_tasks):
        market = Market(sample_task("train", i, horizon))
        market.reset(int(rng.integers(2**31)))
        behaviour = ThompsonSampling()
        behaviour.reset(int(rng.integers(2**31)))
        while not market.done:
            market.step(behaviour.act(market.context()))
        fit = fit_task(market.state.history)
        if fit is not None and np.isfinite(fit.beta_se):
            fits.append(fit)
    generic = TSPrior()
    if len(fits) < MIN_TASKS:
        return MetaPrior(n_tasks=len(fits))
    beta_mean, beta_std = _random_effects(
        np.array([f.beta for f in fits]), np.array([f.beta_se for f in fits]), MIN_BETA_STD)
    kappa_mean, kappa_std = _random_effects(
        np.array([f.kappa for f in fits]), np.array([f.kappa_se for f in fits]), MIN_KAPPA_STD)
    with_gamma = [f for f in fits if f.gamma is not None and np.isfinite(f.gamma_se)]
    gamma_mean, gamma_std = generic.gamma_mean, generic.gamma_std
    if len(with_gamma) >= MIN_TASKS:
        gammas = np.array([f.gamma for f in with_gamma])
        gamma_mean, gamma_std = _random_effects(
            gammas, np.array([f.gamma_se for f in with_gamma]), MIN_GAMMA_STD)
    noise_std = float(np.sqrt(np.median([f.noise_var for f in fits])))
    gaps = np.array([f.alpha_gap for f in fits])
    alpha_std = max(float(np.sqrt(np.mean(gaps**2))), MIN_ALPHA_STD)
    return MetaPrior(beta_mean=beta_mean, beta_std=beta_std, gamma_mean=gamma_mean, gamma_std=gamma_std,
                     kappa_mean=kappa_mean, kappa_std=kappa_std, alpha_std=alpha_std, noise_std=noise_std,
                     n_tasks=len(fits))


class MetaThompsonSampling(ThompsonSampling):
    """Log-linear Thompson sampling with a prior learnt across training products.

    Bastani et al. show that when products share a prior over demand parameters, estimating that
    prior from past products (method of moments on per-product estimates, inflated for the
    estimation noise) and running TS with it cuts the cost of exploration on each new product,
    at a regret price that vanishes as more products are seen. Here the shared parts are the own
    elasticity beta, the curvature kappa, the cross effect gamma, the noise level and how far the
    true intercept sits from the first observation; `fit_meta_prior()` learns them (cached) when
    `prior` is None.

    Assumptions: as ThompsonSampling, plus that new products come from the same distribution as
    the training products. Reference: Bastani, Simchi-Levi & Zhu (2021), "Meta dynamic pricing:
    transfer learning across experiments", Management Science 68(3), 1865-1881 (2022).
    """

    name = "meta_ts"

    def __init__(self, prior: TSPrior | None = None, grid_size: int = 256, max_step: float | None = 1.15):
        super().__init__(model="loglinear", prior=prior or fit_meta_prior(), grid_size=grid_size,
                         max_step=max_step)
