"""The logit oligopoly, solved exactly: shares, best responses, Bertrand-Nash and joint-profit prices.

Firm i's share is s_i = exp((a_i - p_i)/mu) / (sum_j exp((a_j - p_j)/mu) + exp(a0/mu)). Its profit
(p_i - c_i) s_i is quasi-concave in its own price, with the first-order condition

    p_i - c_i = mu / (1 - s_i) = mu (1 + exp((a_i - p_i)/mu) / D_i),
    D_i = exp(a0/mu) + sum over j != i of exp((a_j - p_j)/mu),

whose left side rises and right side falls in p_i: exactly one root, the best response. Writing
x = (p_i - c_i)/mu - 1 gives x e^x = exp((a_i - c_i - mu)/mu) / D_i, i.e. the Lambert W function,
which the tests use as an independent check. A joint-profit maximiser over all the firms sets equal
markups m = mu / (1 - S) (S the inside share), the same equation with D = exp(a0/mu) and the firms'
exp((a_i - c_i)/mu) summed: one root again.

Why a module of its own: the Nash price anchors the collusion index and the best response drives
the best-responding rival and the audit's deviation probe, so they must be right to machine
precision, and say so when they are not. The old fixed point p <- c + mu/(1 - s) fell into a
2-cycle when shares were large and returned an unconverged value in silence (issue 13). Here every
best response is a bracketed root (`scipy.optimize.brentq`), the Nash prices come from iterating
exact best responses (a contraction for the logit), and the result is checked against the
first-order conditions: `EquilibriumNotFound` rather than a wrong number.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq
from scipy.special import logsumexp

from env.task import LogitDemand, TaskSpec

# First-order-condition residual (in units of mu) an answer must meet, and the price tolerance of a root.
FOC_TOLERANCE = 1e-9
_XTOL = 1e-13


class EquilibriumNotFound(RuntimeError):
    """The Nash iteration did not meet the first-order conditions; the message says by how much."""


def logit_shares(
    qualities: np.ndarray, prices: np.ndarray, mu: float, outside_quality: float
) -> np.ndarray:
    """Market shares of each firm (last axis) in the logit with an outside option, overflow-safe."""
    u = (qualities - prices) / mu
    top = np.maximum(u.max(axis=-1, keepdims=True), outside_quality / mu)
    e = np.exp(u - top)
    return e / (e.sum(axis=-1, keepdims=True) + np.exp(outside_quality / mu - top))


def logit_profits(prices, qualities, costs, mu: float, outside: float, market_size: float = 1.0) -> np.ndarray:
    """Each firm's expected profit per period at these prices."""
    shares = logit_shares(np.asarray(qualities, float), np.asarray(prices, float), mu, outside)
    return market_size * (np.asarray(prices) - np.asarray(costs)) * shares


def _markup_root(log_z: float, mu: float) -> float:
    """The markup m solving m/mu - 1 = exp(log_z - (m/mu - 1)), i.e. mu (1 + W(exp(log_z))).

    Solved as x + log x = log z on the bracket [z e^-hi, hi] with hi = log(1 + z) (W(z) <= log(1 + z)
    for z >= 0, and x = z e^-x), in log space so that neither a huge quality gap nor a tiny mu
    overflows. A vanishing z (a firm with no pull) has x = z to double precision.
    """
    if log_z < -700.0:
        return mu * (1.0 + float(np.exp(log_z)))
    hi = float(np.logaddexp(0.0, log_z))
    lo = float(np.exp(log_z - hi))
    x = brentq(lambda x: x + np.log(x) - log_z, lo, hi * (1 + 1e-12), xtol=_XTOL, rtol=4 * np.finfo(float).eps)
    return mu * (1.0 + x)


def _log_rest(utilities: np.ndarray, i: int, outside_utility: float) -> float:
    """log D_i: the log of everyone's exp-utility but firm i's, the outside option included."""
    return float(logsumexp(np.append(np.delete(utilities, i), outside_utility)))


def best_response(i: int, prices, qualities, costs, mu: float, outside: float,
                  bounds: tuple[float, float] | None = None) -> float:
    """Firm i's profit-maximising price against the others' `prices` (its own entry is ignored).

    With `bounds`, the best price within them: the unconstrained root clipped, which is exact
    because the profit is quasi-concave in the firm's own price.
    """
    a, p = np.asarray(qualities, float), np.asarray(prices, float)
    log_d = _log_rest((a - p) / mu, i, outside / mu)
    price = float(costs[i]) + _markup_root((a[i] - float(costs[i]) - mu) / mu - log_d, mu)
    return float(np.clip(price, *bounds)) if bounds is not None else price


def foc_residuals(prices, qualities, costs, mu: float, outside: float) -> np.ndarray:
    """Each firm's first-order condition, (p_i - c_i)/mu - 1/(1 - s_i): zero at a Nash equilibrium."""
    p, a, c = np.asarray(prices, float), np.asarray(qualities, float), np.asarray(costs, float)
    u = (a - p) / mu
    out = np.empty(p.size)
    for i in range(p.size):
        out[i] = (p[i] - c[i]) / mu - 1.0 - np.exp(u[i] - _log_rest(u, i, outside / mu))
    return out


def nash_prices(qualities, costs, mu: float, outside: float = 0.0, max_rounds: int = 10_000) -> np.ndarray:
    """The one-shot Bertrand-Nash prices: simultaneous exact best responses until they stop moving.

    Raises `EquilibriumNotFound` if the result misses the first-order conditions by more than
    `FOC_TOLERANCE`. One firm alone: its monopoly price.
    """
    a, c = np.asarray(qualities, float), np.asarray(costs, float)
    p = c + mu
    for _ in range(max_rounds):
        new = np.array([best_response(i, p, a, c, mu, outside) for i in range(a.size)])
        moved = float(np.max(np.abs(new - p)))
        p = new
        if moved <= 1e-14 * max(1.0, float(np.max(np.abs(p)))):
            break
    residual = float(np.max(np.abs(foc_residuals(p, a, c, mu, outside))))
    if not np.isfinite(residual) or residual > FOC_TOLERANCE:
        raise EquilibriumNotFound(f"logit Nash iteration stopped {residual:.2e} (in units of mu) short of the "
                                  f"first-order conditions after {max_rounds} rounds: prices {p.tolist()}")
    return p


def joint_profit_prices(qualities, costs, mu: float, outside: float = 0.0) -> np.ndarray:
    """The prices that maximise the firms' summed profit: cost plus one common markup."""
    a, c = np.asarray(qualities, float), np.asarray(costs, float)
    log_z = float(logsumexp((a - c - mu) / mu)) - outside / mu
    return c + _markup_root(log_z, mu)


@dataclass(frozen=True)
class LogitEquilibria:
    nash_prices: np.ndarray
    monopoly_prices: np.ndarray
    nash_profits: np.ndarray
    monopoly_profits: np.ndarray


def logit_equilibria(qualities, costs, mu: float, outside: float = 0.0, market_size: float = 1.0) -> LogitEquilibria:
    """One-shot Bertrand-Nash and joint-profit-maximising prices (and profits) of a logit oligopoly."""
    nash = nash_prices(qualities, costs, mu, outside)
    mono = joint_profit_prices(qualities, costs, mu, outside)
    return LogitEquilibria(nash, mono, logit_profits(nash, qualities, costs, mu, outside, market_size),
                           logit_profits(mono, qualities, costs, mu, outside, market_size))


def task_equilibria(task: TaskSpec) -> LogitEquilibria:
    """Nash and monopoly prices of a logit task (this seller first, then its competitors)."""
    d = task.demand
    if not isinstance(d, LogitDemand) or not task.competitors:
        raise ValueError("Nash/monopoly prices need logit demand with at least one competitor")
    quals = [d.quality] + [k.quality for k in task.competitors]
    costs = [task.unit_cost] + [k.unit_cost for k in task.competitors]
    return logit_equilibria(quals, costs, d.mu, d.outside_quality, d.market_size)


def logit_best_response(task: TaskSpec, j: int, our_price: float, comp_prices: np.ndarray) -> float:
    """Competitor j's expected-profit-maximising price against everyone's current prices.

    Within [min_price / 2, max_price] of the task: the range a simulated rival may charge.
    """
    d = task.demand
    if not isinstance(d, LogitDemand):
        raise ValueError("a best-responding rival needs logit demand")
    quals = [d.quality] + [k.quality for k in task.competitors]
    costs = [task.unit_cost] + [k.unit_cost for k in task.competitors]
    prices = np.concatenate([[our_price], np.asarray(comp_prices, float)])
    return best_response(j + 1, prices, quals, costs, d.mu, d.outside_quality,
                         bounds=(task.min_price * 0.5, task.max_price))
