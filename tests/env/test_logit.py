"""Logit equilibria against values derived another way: Lambert W closed forms, brute-force grids,
a general-purpose optimiser, published numbers, and values computed outside the project (issue 13)."""

import numpy as np
import pytest
from scipy.optimize import minimize
from scipy.special import lambertw

from env.distribution import sample_task
from env.logit import (
    EquilibriumNotFound,
    best_response,
    foc_residuals,
    joint_profit_prices,
    logit_best_response,
    logit_equilibria,
    logit_profits,
    logit_shares,
    nash_prices,
    task_equilibria,
)
from env.scenarios import calvano_duopoly


def lambert_best_response(i, prices, a, c, mu, outside):
    """The best response in closed form: p_i = c_i + mu (1 + W(exp((a_i - c_i - mu)/mu) / D_i))."""
    a, p = np.asarray(a, float), np.asarray(prices, float)
    d = np.exp(np.delete((a - p) / mu, i)).sum() + np.exp(outside / mu)
    return c[i] + mu * (1 + lambertw(np.exp((a[i] - c[i] - mu) / mu) / d).real)


def random_markets(n_markets=60, seed=0):
    """Asymmetric markets with 1-4 sellers, many with large inside shares (where the old fixed point cycled)."""
    rng = np.random.default_rng(seed)
    for _ in range(n_markets):
        n = int(rng.integers(1, 5))
        yield rng.uniform(0, 6, n), rng.uniform(0.2, 3, n), float(rng.uniform(0.05, 1.0)), float(rng.uniform(-3, 1))


def test_calvano_nash_and_monopoly_prices():
    eq = logit_equilibria([2.0, 2.0], [1.0, 1.0], mu=0.25, outside=0.0)
    # published in Calvano et al. (2020): p_N ~ 1.473, p_M ~ 1.925
    assert eq.nash_prices == pytest.approx([1.473, 1.473], abs=1e-3)
    assert eq.monopoly_prices == pytest.approx([1.925, 1.925], abs=1e-3)

    grid = np.linspace(1.0, 3.0, 20001)

    def profit(p_own, p_rival):
        shares = logit_shares(np.array([2.0, 2.0]), np.stack(np.broadcast_arrays(p_own, p_rival), -1), 0.25, 0.0)
        return (p_own - 1.0) * shares[..., 0]

    p = 1.7  # Nash, independently: iterate best responses on a fine grid
    for _ in range(60):
        p = grid[np.argmax(profit(grid, p))]
    assert eq.nash_prices[0] == pytest.approx(p, abs=2e-4)
    joint = 2 * profit(grid, grid)  # monopoly, independently: the symmetric joint profit on a fine grid
    assert eq.monopoly_prices[0] == pytest.approx(grid[np.argmax(joint)], abs=2e-4)
    assert eq.monopoly_profits.sum() > eq.nash_profits.sum()


def test_best_response_to_calvano_nash_is_exact():
    nash = nash_prices([2.0, 2.0], [1.0, 1.0], 0.25)
    assert best_response(0, nash, [2.0, 2.0], [1.0, 1.0], 0.25, 0.0) == pytest.approx(1.4729267, abs=1e-7)
    task = calvano_duopoly()
    assert logit_best_response(task, 0, float(nash[0]), nash[1:]) == pytest.approx(1.4729267, abs=1e-7)


def test_a_single_firm_charges_its_monopoly_price():
    assert nash_prices([2.0], [1.0], 0.25) == pytest.approx([1.801985], abs=1e-6)
    assert joint_profit_prices([2.0], [1.0], 0.25) == pytest.approx([1.801985], abs=1e-6)


@pytest.mark.parametrize("market", list(random_markets()))
def test_nash_prices_on_asymmetric_markets_are_mutual_best_responses(market):
    a, c, mu, outside = market
    p = nash_prices(a, c, mu, outside)
    for i in range(a.size):
        assert p[i] == pytest.approx(lambert_best_response(i, p, a, c, mu, outside), abs=1e-9)
        # and no seller gains by deviating to any price on a fine grid around it
        grid = np.linspace(c[i], p[i] + 10 * mu, 4001)
        trial = np.tile(p, (grid.size, 1))
        trial[:, i] = grid
        assert ((grid - c[i]) * logit_shares(a, trial, mu, outside)[:, i]).max() <= \
            logit_profits(p, a, c, mu, outside)[i] + 1e-12
    assert np.abs(foc_residuals(p, a, c, mu, outside)).max() < 1e-9


@pytest.mark.parametrize("market", list(random_markets(20, seed=1)))
def test_joint_profit_prices_match_a_general_optimiser(market):
    a, c, mu, outside = market
    mono = joint_profit_prices(a, c, mu, outside)
    best = -np.inf
    for start in (c + mu, c + 3 * mu, c + 10 * mu):
        res = minimize(lambda x: -logit_profits(x, a, c, mu, outside).sum(), x0=start, method="Nelder-Mead",
                       options={"xatol": 1e-10, "fatol": 1e-14, "maxiter": 20000})
        best = max(best, -res.fun)
    assert logit_profits(mono, a, c, mu, outside).sum() >= best - 1e-10
    assert np.ptp(mono - c) == pytest.approx(0.0, abs=1e-12)  # one common markup


def test_task_with_large_shares_gets_the_right_nash_prices():
    """test-00135: the old fixed point reported [6.2436, 3.3008]; computed outside the project: [4.1014, 4.1464]."""
    eq = task_equilibria(sample_task("test", 135, 50))
    assert eq.nash_prices == pytest.approx([4.1014, 4.1464], abs=1e-4)


def test_unconverged_iteration_says_so():
    with pytest.raises(EquilibriumNotFound, match="first-order conditions"):
        nash_prices([4.7, 5.0, 3.0], [2.1, 2.1, 1.0], 1.16, 0.0, max_rounds=1)


def test_a_rivals_best_response_stays_in_the_tasks_price_range():
    task = calvano_duopoly()
    lo, hi = task.min_price * 0.5, task.max_price
    free = best_response(1, [0.01, 0.0], [2.0, 2.0], [1.0, 1.0], 0.25, 0.0)
    clipped = logit_best_response(task, 0, 0.01, np.array([1.5]))
    assert clipped == pytest.approx(min(max(free, lo), hi))
    assert lo <= clipped <= hi


def test_task_equilibria_scale_with_currency():
    base, scaled = task_equilibria(calvano_duopoly()), task_equilibria(calvano_duopoly(currency_scale=100.0))
    assert scaled.nash_prices == pytest.approx(100 * base.nash_prices, rel=1e-9)
    assert scaled.monopoly_prices == pytest.approx(100 * base.monopoly_prices, rel=1e-9)
