"""Tabular Q-learning on a price grid, as in the algorithmic-collusion experiments of Calvano et al."""

from __future__ import annotations

import math

import numpy as np

from env.context import HistoryRow, PricingContext
from env.demand_fit import price_grid, row_profit


class QLearning:
    """Epsilon-greedy Q-learning; state = last period's (own, competitor) price indices.

    Prices are an m-point grid spanning the guardrail range (geometric, m = 15); the state is the
    grid index of last period's own price and, when the market has a competitor, of the
    competitor's price (m x m states, else m). The reward of an action is the profit of the period
    it was played in, read from the history, and the update is
    Q(s, a) <- (1 - alpha) Q(s, a) + alpha (r + delta max_a' Q(s', a')), with exploration
    epsilon_t = exp(-beta_decay * t), t = periods learnt from since reset.

    Initialisation: Calvano et al. set Q0(s, a) to the discounted payoff of action a against a
    uniformly random rival, which needs the demand model; this learner does not know it, so Q0 is
    the discounted value of the first observed profit, profit_0 / (1 - delta) (or `q_init` if
    given). Then an action doing better than the status quo rises above Q0 and one doing worse
    falls below, so the greedy choice is unbiased from the start.

    The Q-table persists across act() calls until reset(); it learns only from rows it has not
    seen, so it can run for thousands of periods (a collusion audit: pass beta_decay ~ 1e-4..1e-5).
    If the history restarts (a new episode without reset) it keeps the table and starts a new
    trajectory. The default beta_decay = 0.03 still explores ~22% of the time at t = 50.

    Assumptions: a stationary repeated game on a discrete grid; no model of demand at all, so in
    a 50-period episode it barely learns (225 states x 15 actions). Reference: Calvano, Calzolari,
    Denicolo & Pastorello (2020), "Artificial intelligence, algorithmic pricing, and collusion",
    American Economic Review 110(10), 3267-3297; Watkins & Dayan (1992), Machine Learning 8.
    """

    name = "q_learning"

    def __init__(
        self,
        m: int = 15,
        alpha: float = 0.15,
        delta: float = 0.95,
        beta_decay: float = 0.03,
        q_init: float | None = None,
    ):
        if m < 2:
            raise ValueError("m: must be >= 2")
        if not 0 < alpha <= 1 or not 0 <= delta < 1 or beta_decay < 0:
            raise ValueError("need 0 < alpha <= 1, 0 <= delta < 1, beta_decay >= 0")
        self.m, self.alpha, self.delta, self.beta_decay, self.q_init = m, alpha, delta, beta_decay, q_init
        self.reset()

    def reset(self, seed: int | None = None) -> None:
        self.rng = np.random.default_rng(seed)
        self.q_table: np.ndarray | None = None
        self.grid: np.ndarray | None = None
        self.bounds: tuple[float, float] | None = None
        self.t = 0  # periods learnt from
        self._last_period: int | None = None
        self._state: int | None = None  # state after the last row learnt from
        self._duopoly = False

    @property
    def epsilon(self) -> float:
        return math.exp(-self.beta_decay * self.t)

    def _index(self, price: float) -> int:
        assert self.grid is not None
        return int(np.argmin(np.abs(np.log(self.grid / price))))

    def _encode(self, row: HistoryRow) -> int:
        own = self._index(row.price)
        if not self._duopoly:
            return own
        comp = row.competitor_price if row.competitor_price is not None else row.price
        return own * self.m + self._index(comp)

    def _setup(self, context: PricingContext) -> None:
        bounds = context.price_bounds()
        duopoly = context.competitor_price is not None or any(
            r.competitor_price is not None for r in context.history[-1:]
        )
        if self.bounds != bounds or self.q_table is None and duopoly != self._duopoly:
            self.bounds, self._duopoly = bounds, duopoly
            self.grid = price_grid(bounds[0], bounds[1], self.m)
            self.q_table = None
            self._state, self._last_period = None, None

    def _learn(self, context: PricingContext) -> None:
        rows = context.history
        if not rows:
            return
        if self._last_period is not None and rows[-1].period < self._last_period:
            self._last_period, self._state = None, None  # a new episode: new trajectory, same table
        start = len(rows)
        while start > 0 and (self._last_period is None or rows[start - 1].period > self._last_period):
            start -= 1
        if start == len(rows):
            return  # nothing new since the last call
        cost = context.product.unit_cost
        if self.q_table is None:
            n_states = self.m * self.m if self._duopoly else self.m
            q0 = self.q_init if self.q_init is not None else row_profit(rows[start], cost) / (1 - self.delta)
            self.q_table = np.full((n_states, self.m), float(q0))
        q = self.q_table
        for row in rows[start:]:
            nxt = self._encode(row)
            if self._state is not None:
                a = self._index(row.price)
                target = row_profit(row, cost) + self.delta * float(q[nxt].max())
                q[self._state, a] += self.alpha * (target - q[self._state, a])
            self._state = nxt
            self.t += 1
        self._last_period = rows[-1].period

    def act(self, context: PricingContext) -> float:
        self._setup(context)
        self._learn(context)
        assert self.grid is not None
        if self.q_table is None or self._state is None:
            return float(self.grid[self._index(context.product.current_price)])
        if self.rng.random() < self.epsilon:
            return float(self.grid[int(self.rng.integers(self.m))])
        values = self.q_table[self._state]
        best = np.flatnonzero(values >= values.max() - 1e-12 * max(1.0, abs(values.max())))
        return float(self.grid[int(self.rng.choice(best))])
