"""Decision states of the simulated market, and how good a price is in one of them.

A `DecisionState` freezes what a policy saw (its `PricingContext`) together with the hidden
market state the reward needs (period, stock, reference price, rivals' prices) and the true task.
`OracleScorer` values any price in such a state under the true task, relative to the oracle's
best: the low-variance signal that both the demonstration labels and the RL reward use.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from env.context import PricingContext
from env.market import Market, expected_profit
from env.oracle import HorizonPlan, myopic_price, plan_horizon
from env.task import TaskSpec

_GRID = 401


@dataclass(frozen=True)
class DecisionState:
    """One decision point: the policy's view (`context`) and the hidden state behind it."""

    task: TaskSpec
    t: int
    stock: float | None
    ref: float | None
    comp_prices: tuple[float, ...]
    context: PricingContext

    @property
    def key(self) -> str:
        return f"{self.task.task_id}@{self.t}"


def snapshot(market: Market, context: PricingContext | None = None) -> DecisionState:
    """The market's current decision state (call before `market.step`); `context`: the market's
    context of this period where the caller already has it (an episode loop's `on_step`)."""
    s = market.state
    return DecisionState(task=market.task, t=s.t, stock=s.stock, ref=s.ref,
                         comp_prices=tuple(float(c) for c in s.comp_prices),
                         context=market.context() if context is None else context)


class OracleScorer:
    """Values prices at decision states under the true task.

    Stateless tasks: this period's expected profit, against the exact per-period optimum.
    Stateful tasks (stock, reference price): the dynamic-programming Q-value (profit now plus the
    optimal value of the state the price leads to), against the plan's best price. A one-period
    profit would teach the model to sell out early; the Q-value charges that to the price that
    caused it. Plans are computed once per task and cached, like the evaluation oracle's.
    """

    def __init__(self) -> None:
        self._plans: dict[str, HorizonPlan] = {}

    def _plan(self, state: DecisionState) -> HorizonPlan:
        task = state.task
        if task.task_id not in self._plans:
            self._plans[task.task_id] = plan_horizon(task, np.array(state.comp_prices))
        return self._plans[task.task_id]

    def values(self, state: DecisionState, prices: np.ndarray | float) -> np.ndarray:
        """Expected value of each price (profit now, plus the optimal future for stateful tasks)."""
        task = state.task
        prices = np.asarray(prices, dtype=float)
        clipped = np.clip(prices, task.min_price, task.max_price)  # the market clips posted prices too
        if not task.stateful:
            return expected_profit(task, clipped, state.t, np.array(state.comp_prices), None, None)
        plan = self._plan(state)
        shape = clipped.shape
        flat = clipped.reshape(-1)
        stock = np.full(flat.shape, 0.0 if state.stock is None else state.stock)
        ref = np.full(flat.shape, 0.0 if state.ref is None else state.ref)
        return plan.q_values(state.t, flat, stock, ref).reshape(shape)

    def best(self, state: DecisionState) -> tuple[float, float]:
        """The oracle's (price, value) in this state."""
        task = state.task
        if not task.stateful:
            return myopic_price(task, state.t, np.array(state.comp_prices))
        grid = np.linspace(task.min_price, task.max_price, _GRID)
        v = self.values(state, grid)
        i = int(np.argmax(v))
        return float(grid[i]), float(v[i])

    def relative(self, state: DecisionState, price: float) -> float:
        """1 at the oracle's price, falling with the value lost, in [-1, 1].

        The loss is measured in units of the oracle's value per remaining period, so a mistake
        costs the same in a stateful task as in a stateless one, early or late in the episode.
        """
        _, best = self.best(state)
        value = float(self.values(state, price))
        return float(np.clip(1.0 - (best - value) / self.scale(state), -1.0, 1.0))

    def scale(self, state: DecisionState) -> float:
        """The oracle's value per remaining period (per period where no state carries over): the unit
        in which a lost value is comparable across tasks and periods."""
        _, best = self.best(state)
        periods = max(state.task.horizon - state.t, 1) if state.task.stateful else 1
        return max(abs(best) / periods, 1e-9)
