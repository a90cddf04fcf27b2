"""Gymnasium environments over the market simulator.

`PricingEnv` — one fixed task (a `TaskSpec`, its JSON, or a scenario preset name).
    action:      Box([min_price], [max_price]), the price to post, in the task's currency.
    observation: Box(0, inf, (5,)) = [period, last price, last units sold,
                 competitor's posted price (0 if none), stock on hand (0 if no inventory)].
    reward:      the period's realised profit.
    terminated:  after `horizon` periods (the selling season ends). Never truncated.
    info:        `expected_profit` of the action taken, `oracle_price` and `oracle_expected_profit`
                 (the oracle's price for the current state and its one-period expected profit;
                 see env.oracle for which oracle), `units`, `demand`, `stockout`, `task_id`.

`MetaPricingEnv` — a new task from a split of the task distribution at every reset (meta-RL).
    Tasks differ in price scale, so spaces are normalised: action in [0, 1] maps linearly onto
    the task's [min_price, max_price]; observation = [t / horizon, last price position in the
    range, log1p(last units), competitor price position (0 if none), stock / initial stock].

Both expose `context()`: the current state as the shared `PricingContext` that every policy reads.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from env.context import PricingContext
from env.distribution import DEFAULT_HORIZON, sample_task
from env.market import Market
from env.oracle import OraclePolicy
from env.scenarios import make_scenario
from env.task import TaskSpec


def _as_task(task: TaskSpec | dict | str) -> TaskSpec:
    if isinstance(task, TaskSpec):
        return task
    if isinstance(task, dict):
        return TaskSpec.model_validate(task)
    if task.lstrip().startswith("{"):
        return TaskSpec.model_validate_json(task)
    return make_scenario(task)


class PricingEnv(gym.Env):
    """One product's market for one task; see the module docstring for the spaces."""

    metadata = {"render_modes": []}

    def __init__(self, task: TaskSpec | dict | str = "inventory_constrained",
                 competitor_policies: dict[int, Any] | None = None, compute_oracle: bool = True):
        self.compute_oracle = compute_oracle
        self._competitor_policies = competitor_policies
        self._set_task(_as_task(task))
        self.action_space = spaces.Box(np.float32(self.task.min_price), np.float32(self.task.max_price),
                                       shape=(1,), dtype=np.float32)
        self.observation_space = spaces.Box(0.0, np.inf, shape=(5,), dtype=np.float32)

    def _set_task(self, task: TaskSpec) -> None:
        self.task = task
        policies = self._competitor_policies
        if policies is None and any(c.kind == "policy" for c in task.competitors):
            from env.pricers import make_pricer  # lazily: pricers are optional for plain tasks

            policies = {i: make_pricer(c.policy) for i, c in enumerate(task.competitors) if c.kind == "policy"}
        self.market = Market(task, policies)
        self.oracle = OraclePolicy(task)

    def context(self) -> PricingContext:
        return self.market.context()

    def _obs(self) -> np.ndarray:
        s = self.market.state
        last = s.history[-1] if s.history else None
        comp = float(s.comp_prices.mean()) if s.comp_prices.size else 0.0
        return np.array([s.t, self.market.last_price, last.units if last else 0.0, comp,
                         s.stock if s.stock is not None else 0.0], dtype=np.float32)

    def _price(self, action) -> float:
        return float(np.asarray(action, dtype=float).reshape(-1)[0])

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        episode_seed = int(self.np_random.integers(2**31)) if seed is not None else self.task.seed
        self.market.reset(episode_seed)
        self.oracle.reset(episode_seed)
        return self._obs(), {"task_id": self.task.task_id}

    def step(self, action):
        info: dict[str, Any] = {"task_id": self.task.task_id}
        if self.compute_oracle:
            oracle_price = self.oracle.act(self.market.context())
            info["oracle_price"] = oracle_price
            info["oracle_expected_profit"] = float(self.market.expected_profit(oracle_price))
        result = self.market.step(self._price(action))
        info.update(expected_profit=result.expected_profit, units=result.units, demand=result.demand,
                    stockout=result.stockout, price=result.price)
        return self._obs(), float(result.profit), self.market.done, False, info


class MetaPricingEnv(PricingEnv):
    """A fresh task from `split` at every reset; normalised spaces (see the module docstring)."""

    def __init__(self, split: str = "train", horizon: int = DEFAULT_HORIZON, n_tasks: int = 100_000,
                 compute_oracle: bool = True):
        self.split, self.horizon, self.n_tasks = split, horizon, n_tasks
        self.compute_oracle = compute_oracle
        self._competitor_policies = None
        self._set_task(sample_task(split, 0, horizon))
        self.action_space = spaces.Box(0.0, 1.0, shape=(1,), dtype=np.float32)
        self.observation_space = spaces.Box(0.0, np.inf, shape=(5,), dtype=np.float32)

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        gym.Env.reset(self, seed=seed)
        index = (options or {}).get("task_index")
        if index is None:
            index = int(self.np_random.integers(self.n_tasks))
        self._set_task(sample_task(self.split, int(index), self.horizon))
        return super().reset(seed=seed, options=options)

    def _price(self, action) -> float:
        a = float(np.clip(np.asarray(action, dtype=float).reshape(-1)[0], 0.0, 1.0))
        return self.task.min_price + a * (self.task.max_price - self.task.min_price)

    def _position(self, price: float) -> float:
        return (price - self.task.min_price) / (self.task.max_price - self.task.min_price)

    def _obs(self) -> np.ndarray:
        s = self.market.state
        last = s.history[-1] if s.history else None
        comp = self._position(float(s.comp_prices.mean())) if s.comp_prices.size else 0.0
        initial_stock = self.task.inventory.initial if self.task.inventory else 0.0
        stock = s.stock / initial_stock if s.stock is not None and initial_stock > 0 else 0.0
        return np.array([s.t / self.task.horizon, self._position(self.market.last_price),
                         np.log1p(last.units) if last else 0.0, max(comp, 0.0), stock], dtype=np.float32)


ENV_IDS = {
    "pricing/Market-v0": {"entry_point": "env.gym_envs:PricingEnv"},
    "pricing/MetaMarket-v0": {"entry_point": "env.gym_envs:MetaPricingEnv"},
    "pricing/SeasonalPerishable-v0": {"entry_point": "env.gym_envs:PricingEnv",
                                      "kwargs": {"task": "seasonal_perishable"}},
    "pricing/MemberPricing-v0": {"entry_point": "env.gym_envs:PricingEnv", "kwargs": {"task": "member_pricing"}},
    "pricing/InventoryConstrained-v0": {"entry_point": "env.gym_envs:PricingEnv",
                                        "kwargs": {"task": "inventory_constrained"}},
    "pricing/CalvanoDuopoly-v0": {"entry_point": "env.gym_envs:PricingEnv", "kwargs": {"task": "calvano_duopoly"}},
}


def register_envs() -> None:
    """Registers every env id with gymnasium (idempotent)."""
    for env_id, spec in ENV_IDS.items():
        if env_id not in gym.registry:
            gym.register(id=env_id, **spec)
