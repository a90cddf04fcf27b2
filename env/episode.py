"""One episode loop for every caller: the harness, the RL rollouts, the collusion audit, the simulator.

A policy is resolved by name (`build_policy`): `oracle`, a name of the caller's `factories`
(in-process policies such as the agent's, `agent.registry.in_process_policies`), else a classical
pricer of `env.pricers`. The same resolution builds the task's policy rivals (`start_market`), so
a self-play rival is the caller's policy too.

`play_episodes` plays one policy on started markets until they are done and returns each
market's `Trajectory` (price, units, demand, realised and expected profit, stock-out, stock and
the rivals' prices, period by period). A policy with `act_batch` may play several markets in
lock-step (one batched call per period); a plain one plays one market. `on_step(i, market,
context, price)` runs after each decision and before the market moves: a caller records what it
needs there (the RL rollouts freeze the decision state and score the price).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from tqdm import tqdm

from env.context import Policy, PricingContext
from env.market import Market, StepResult
from env.oracle import OraclePolicy
from env.task import TaskSpec

PolicyFactory = Callable[[TaskSpec], Policy]
Factories = Mapping[str, PolicyFactory]
OnStep = Callable[[int, Market, PricingContext, float], None]


def policy_names(factories: Factories | None = None) -> list[str]:
    """Every name `build_policy` knows: the oracle, the classical pricers, then the caller's factories."""
    from env.pricers import PRICER_NAMES

    return list(dict.fromkeys(["oracle", *PRICER_NAMES, *(factories or {})]))


def build_policy(name: str, task: TaskSpec, factories: Factories | None = None) -> Policy:
    """A fresh policy for one task. Only the oracle reads the task; the others see contexts."""
    if name == "oracle":
        return OraclePolicy(task)
    if factories and name in factories:
        return factories[name](task)
    from env.pricers import make_pricer

    return make_pricer(name)


def check_policy_names(names: Sequence[str], factories: Factories | None = None) -> None:
    known = policy_names(factories)
    for n in names:
        if n not in known:
            raise ValueError(f"policies: unknown policy '{n}' (choose from {', '.join(known)})")


def start_market(task: TaskSpec, episode_seed: int, factories: Factories | None = None) -> Market:
    """A market on the noise of `episode_seed`, with pricers built for any policy rivals."""
    rivals = {i: build_policy(c.policy, task, factories) for i, c in enumerate(task.competitors)
              if c.kind == "policy"}
    market = Market(task, rivals)
    market.reset(episode_seed)
    return market


@dataclass
class Trajectory:
    """One policy's episode on one task, period by period."""

    policy: str
    task_id: str
    prices: np.ndarray
    units: np.ndarray
    demand: np.ndarray
    profits: np.ndarray  # realised
    expected_profits: np.ndarray  # expected, given the state (the harness's comparisons use these)
    stockouts: np.ndarray
    stock: np.ndarray  # stock before the period's sales; NaN without inventory
    competitor_prices: np.ndarray  # periods x rivals: the rivals' prices each period was played against
    act_seconds: float
    episode_seconds: float

    @property
    def revenue(self) -> np.ndarray:
        return self.prices * self.units


def _finite_price(price: float, policy: Policy, task: TaskSpec) -> float:
    price = float(price)
    if not math.isfinite(price):
        raise ValueError(f"policy {policy.name} returned a non-finite price on {task.task_id}")
    return price


class _Recorder:
    """Collects one market's periods while it plays."""

    def __init__(self, market: Market):
        self.market, self.steps, self.stock, self.rivals, self.spent = market, [], [], [], 0.0

    def step(self, price: float) -> None:
        s = self.market.state
        self.stock.append(np.nan if s.stock is None else float(s.stock))
        self.rivals.append(np.array(s.comp_prices, dtype=float))
        self.steps.append(self.market.step(price))

    def trajectory(self, policy: Policy, episode_seconds: float) -> Trajectory:
        steps: list[StepResult] = self.steps

        def column(attr: str, dtype=float) -> np.ndarray:
            return np.array([getattr(s, attr) for s in steps], dtype=dtype)

        rivals = np.array(self.rivals, dtype=float).reshape(len(steps), len(self.market.task.competitors))
        return Trajectory(policy.name, self.market.task.task_id, column("price"), column("units"), column("demand"),
                          column("profit"), column("expected_profit"), column("stockout", bool),
                          np.array(self.stock, dtype=float), rivals, self.spent, episode_seconds)


def play_episodes(policy: Policy, markets: Sequence[Market], *, batched: bool = False,
                  on_step: OnStep | None = None, progress: tqdm | None = None) -> list[Trajectory]:
    """Plays `policy` on started markets until each is done; one trajectory per market.

    `batched`: one `policy.act_batch` call per period over the live markets (a batched policy
    must keep no per-market state between calls: each context carries all it may use); the time
    of a call is shared among its markets. Otherwise `policy.act`, on exactly one market. The
    caller builds the markets (`start_market`) and resets the policy, so the order in which
    seeds are drawn is the caller's.
    """
    if not batched and len(markets) != 1:
        raise ValueError("a policy without act_batch plays one market at a time")
    recorders = [_Recorder(m) for m in markets]
    start = time.perf_counter()
    while True:
        live = [i for i, m in enumerate(markets) if not m.done]
        if not live:
            break
        contexts = [markets[i].context() for i in live]
        tick = time.perf_counter()
        prices = policy.act_batch(contexts) if batched else [policy.act(contexts[0])]
        share = (time.perf_counter() - tick) / len(live)
        for i, context, price in zip(live, contexts, prices, strict=True):
            price = _finite_price(price, policy, markets[i].task)
            recorders[i].spent += share
            if on_step is not None:
                on_step(i, markets[i], context, price)
            recorders[i].step(price)
        if progress is not None:
            progress.update(len(live))
    elapsed = (time.perf_counter() - start) / len(markets)
    return [r.trajectory(policy, elapsed) for r in recorders]


def play_episode(policy: Policy, task: TaskSpec, episode_seed: int, policy_seed: int,
                 factories: Factories | None = None, on_step: OnStep | None = None) -> Trajectory:
    """One plain policy's episode on the noise of `episode_seed` (its own randomness: `policy_seed`)."""
    started = time.perf_counter()
    market = start_market(task, episode_seed, factories)
    policy.reset(policy_seed)
    [trajectory] = play_episodes(policy, [market], on_step=on_step)
    trajectory.episode_seconds = time.perf_counter() - started
    return trajectory
