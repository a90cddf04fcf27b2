"""The market simulator: one seller's product over a horizon, driven by a `TaskSpec`.

Demand in period t is  D = mu(p, t, state) * X  with X lognormal, mean one, log-std `noise`.
`mu` multiplies the demand model's curve by seasonality and the reference-price effect; a member
segment adds its own curve at the discounted price. Sales are min(D, stock) when the task has
inventory. Units are continuous (expected-profit arithmetic stays exact; rounding retail units
would add nothing to what a pricer must learn).

The functions here are vectorised over price (and, for the planner, over stock and reference
price) so that the oracle and the evaluation can compute exact expected profits cheaply.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.special import ndtr

from env.context import Guardrails, HistoryRow, PricingContext, Product, Supply
from env.logit import logit_best_response, logit_shares
from env.task import ConstantElasticityDemand, LinearDemand, LogitDemand, TaskSpec


def season_multiplier(task: TaskSpec, t: int) -> float:
    """Seasonality of period t: product of harmonic patterns and any active spike."""
    m = 1.0
    for h in task.seasonality.harmonics:
        m *= 1.0 + h.amplitude * np.sin(2 * np.pi * t / h.period + h.phase)
    for s in task.seasonality.spikes:
        if s.start <= t < s.start + s.length:
            m *= 1.0 + s.lift
    return float(m)


def reference_multiplier(task: TaskSpec, price: np.ndarray, ref: np.ndarray | float | None) -> np.ndarray:
    """Asymmetric (loss-averse) anchoring on the reference price; 1 when the task has none."""
    if task.reference is None or ref is None:
        return np.ones_like(price)
    rel = (price - ref) / ref
    return np.exp(np.where(rel > 0, -task.reference.loss * rel, -task.reference.gain * rel))


def _competitor_mean_price(comp_prices: np.ndarray, price: np.ndarray) -> np.ndarray:
    """Non-logit models see competition through the mean competitor price (our price if none)."""
    return np.full_like(price, comp_prices.mean()) if comp_prices.size else price


def segment_means(
    task: TaskSpec, price: np.ndarray, t: int, comp_prices: np.ndarray, ref: np.ndarray | float | None
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per customer segment: (unit margin, mean demand) as arrays broadcast with `price`.

    The first segment is the regular one; a member segment (if any) follows.
    """
    d = task.demand
    price = np.asarray(price, dtype=float)
    common = season_multiplier(task, t) * reference_multiplier(task, price, ref)
    c = task.unit_cost
    if isinstance(d, LinearDemand):
        pc = _competitor_mean_price(comp_prices, price)
        mean = np.maximum(0.0, d.intercept - d.slope * price + d.cross * (pc - price))
        return [(price - c, mean * common)]
    if isinstance(d, ConstantElasticityDemand):
        pc = _competitor_mean_price(comp_prices, price) if comp_prices.size else d.ref_price
        cross = (pc / d.ref_price) ** d.cross if d.cross else 1.0
        regular_share = 1.0 - (task.member.share if task.member else 0.0)
        segs = [(price - c, d.scale * regular_share * (price / d.ref_price) ** d.elasticity * cross * common)]
        if task.member is not None:
            pm = price * (1 - task.member.discount)
            mean = d.scale * task.member.share * (pm / d.ref_price) ** task.member.elasticity * cross * common
            segs.append((pm - c, mean))
        return segs
    assert isinstance(d, LogitDemand)
    quals = np.array([d.quality] + [k.quality for k in task.competitors], dtype=float)
    prices = np.stack(np.broadcast_arrays(price, *[np.full_like(price, p) for p in comp_prices]), axis=-1)
    share = logit_shares(quals, prices, d.mu, d.outside_quality)[..., 0]
    return [(price - c, d.market_size * share * common)]


def expected_sold(mean: np.ndarray, stock: np.ndarray | float | None, noise: float) -> np.ndarray:
    """E[min(mean * X, stock)] for X lognormal with mean one and log-std `noise` (closed form)."""
    if stock is None:
        return mean
    stock = np.asarray(stock, dtype=float)
    if noise <= 0:
        return np.minimum(mean, stock)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (np.log(stock) - np.log(mean) + 0.5 * noise**2) / noise
        value = mean * ndtr(z - noise) + stock * (1 - ndtr(z))
    value = np.where(mean <= 0, 0.0, value)
    return np.where(stock <= 0, 0.0, value)


def expected_profit(
    task: TaskSpec,
    price: np.ndarray | float,
    t: int,
    comp_prices: np.ndarray,
    ref: np.ndarray | float | None,
    stock: np.ndarray | float | None,
) -> np.ndarray:
    """Expected profit of period t at `price` (arrays broadcast), including holding and write-off."""
    price = np.asarray(price, dtype=float)
    segs = segment_means(task, price, t, comp_prices, ref)
    total = sum(m for _, m in segs)
    sold = expected_sold(total, stock, task.noise)
    with np.errstate(divide="ignore", invalid="ignore"):
        frac = np.where(total > 0, sold / total, 0.0)
    profit = sum(margin * mean * frac for margin, mean in segs)
    inv = task.inventory
    if inv is not None and stock is not None:
        left = np.asarray(stock) - sold
        profit = profit - inv.holding_cost * left
        if inv.perishable and t == task.horizon - 1:
            profit = profit - task.unit_cost * left
    return profit


def replenished(task: TaskSpec, stock: np.ndarray | float, t: int) -> np.ndarray | float:
    """Stock at the start of period t after any scheduled delivery."""
    inv = task.inventory
    assert inv is not None
    if inv.replenish_every and t > 0 and t % inv.replenish_every == 0:
        stock = stock + inv.replenish_qty
        if inv.capacity is not None:
            stock = np.minimum(stock, inv.capacity)
    return stock


def supply_now(task: TaskSpec, t: int) -> Supply | None:
    """What the seller knows in period t of the deliveries still to come (`replenished`'s schedule)."""
    inv = task.inventory
    if inv is None:
        return None
    every = inv.replenish_every
    nxt = None
    if every and inv.replenish_qty > 0:
        nxt = every - t % every  # deliveries land at the start of periods that are multiples of `every`
        if t + nxt >= task.horizon:
            nxt = None  # none before the end
    return Supply(restock_every=every if nxt is not None else None,
                  restock_qty=inv.replenish_qty if nxt is not None else 0.0, next_restock_in=nxt,
                  holding_cost=inv.holding_cost, perishable=inv.perishable)


def next_reference(task: TaskSpec, ref: np.ndarray | float, price: np.ndarray | float):
    assert task.reference is not None
    return task.reference.memory * ref + (1 - task.reference.memory) * price


@dataclass
class StepResult:
    price: float
    units: float
    demand: float
    profit: float
    expected_profit: float
    stockout: bool


@dataclass
class MarketState:
    t: int
    stock: float | None
    ref: float | None
    comp_prices: np.ndarray
    history: list[HistoryRow] = field(default_factory=list)
    comp_history: list[list[tuple[float, float]]] = field(default_factory=list)


class Market:
    """A seeded simulation of one task. `reset(seed)` then `step(price)` until `done`.

    Competitors of kind `policy` are `Policy` objects supplied by the caller (`competitor_policies`,
    keyed by competitor index); they see their own `PricingContext` each period.
    """

    def __init__(self, task: TaskSpec, competitor_policies: dict[int, object] | None = None):
        self.task = task
        self.competitor_policies = competitor_policies or {}
        for i, comp in enumerate(task.competitors):
            if comp.kind == "policy" and i not in self.competitor_policies:
                raise ValueError(f"competitor {i} is a policy competitor but no policy was given")
        self.rng = np.random.default_rng(task.seed)
        self.state = self._initial_state()

    def _initial_state(self) -> MarketState:
        task = self.task
        stock = task.inventory.initial if task.inventory else None
        ref = None
        if task.reference is not None:
            ref = task.reference.initial or task.initial_price
        comps = np.array([c.initial_price for c in task.competitors], dtype=float)
        return MarketState(t=0, stock=stock, ref=ref, comp_prices=comps,
                           comp_history=[[] for _ in task.competitors])

    def reset(self, seed: int | None = None) -> MarketState:
        self.rng = np.random.default_rng(self.task.seed if seed is None else seed)
        self.state = self._initial_state()
        for i, pol in self.competitor_policies.items():
            pol.reset(int(self.rng.integers(2**31)) + i)
        return self.state

    @property
    def done(self) -> bool:
        return self.state.t >= self.task.horizon

    @property
    def last_price(self) -> float:
        return self.state.history[-1].price if self.state.history else self.task.initial_price

    def expected_profit(self, price: np.ndarray | float) -> np.ndarray:
        """Expected profit of `price` in the current period and state (vectorised over price)."""
        s = self.state
        return expected_profit(self.task, price, s.t, s.comp_prices, s.ref, s.stock)

    def context(self) -> PricingContext:
        """The current state as the shared `PricingContext` (what any policy may see)."""
        task, s = self.task, self.state
        return PricingContext(
            product=Product(sku=task.task_id, name=f"simulated product {task.task_id}",
                            unit_cost=task.unit_cost, current_price=self.last_price),
            guardrails=Guardrails(min_price=task.min_price, max_price=task.max_price),
            history=tuple(s.history),
            competitor_price=float(s.comp_prices.mean()) if s.comp_prices.size else None,
            competitor_prices=tuple(float(p) for p in s.comp_prices) if s.comp_prices.size else None,
            inventory=s.stock,
            periods_left=task.horizon - s.t,
            supply=supply_now(task, s.t),
        )

    def step(self, price: float) -> StepResult:
        """Post `price` for the current period, realise demand, move to the next period."""
        task, s = self.task, self.state
        if self.done:
            raise RuntimeError("the episode is over; call reset()")
        price = float(np.clip(price, task.min_price, task.max_price))
        exp_profit = float(self.expected_profit(price))
        segs = segment_means(task, np.array(price), s.t, s.comp_prices, s.ref)
        total = float(sum(m for _, m in segs))
        x = float(np.exp(task.noise * self.rng.standard_normal() - 0.5 * task.noise**2))
        demand = total * x
        sold = demand if s.stock is None else min(demand, s.stock)
        frac = sold / total if total > 0 else 0.0
        profit = float(sum(float(margin) * float(mean) * frac for margin, mean in segs))
        stock_before = s.stock
        if s.stock is not None:
            left = s.stock - sold
            profit -= task.inventory.holding_cost * left
            if task.inventory.perishable and s.t == task.horizon - 1:
                profit -= task.unit_cost * left
        s.history.append(HistoryRow(
            period=s.t, price=price, units=sold,
            competitor_price=float(s.comp_prices.mean()) if s.comp_prices.size else None,
            inventory=stock_before,
        ))
        self._competitors_record(price, x)
        s.t += 1
        if s.stock is not None:
            s.stock = float(replenished(task, s.stock - sold, s.t))
        if s.ref is not None:
            s.ref = float(next_reference(task, s.ref, price))
        if not self.done:
            self._competitors_move()
        return StepResult(price=price, units=sold, demand=demand, profit=profit,
                          expected_profit=exp_profit,
                          stockout=stock_before is not None and demand > stock_before)

    # --- competitors -------------------------------------------------------------------------

    def _competitor_units(self, j: int, our_price: float, x: float) -> float:
        d = self.task.demand
        if not isinstance(d, LogitDemand):
            return 0.0
        quals = np.array([d.quality] + [k.quality for k in self.task.competitors])
        prices = np.concatenate([[our_price], self.state.comp_prices])
        share = logit_shares(quals, prices, d.mu, d.outside_quality)[j + 1]
        return float(d.market_size * share * season_multiplier(self.task, self.state.t) * x)

    def _competitors_record(self, our_price: float, x: float) -> None:
        for j in range(len(self.task.competitors)):
            units = self._competitor_units(j, our_price, x)
            self.state.comp_history[j].append((float(self.state.comp_prices[j]), units))

    def _competitors_move(self) -> None:
        task, s = self.task, self.state
        ours = [r.price for r in s.history]
        new = s.comp_prices.copy()
        for j, comp in enumerate(task.competitors):
            if comp.kind == "fixed":
                continue
            if comp.kind in ("undercut", "match"):
                seen = ours[-comp.lag] if len(ours) >= comp.lag else task.initial_price
                target = seen * (1 - comp.undercut) if comp.kind == "undercut" else seen
                new[j] = max(target, comp.unit_cost, task.min_price * 0.5)
            elif comp.kind == "best_response":
                new[j] = logit_best_response(task, j, ours[-1], s.comp_prices)
            else:
                new[j] = float(self.competitor_policies[j].act(self._competitor_context(j)))
        s.comp_prices = new

    def _competitor_context(self, j: int) -> PricingContext:
        """What a policy competitor sees: its own product and sales, with us as its competitor."""
        task, s = self.task, self.state
        comp = task.competitors[j]
        rows = tuple(
            HistoryRow(period=i, price=p, units=u, competitor_price=s.history[i].price)
            for i, (p, u) in enumerate(s.comp_history[j])
        )
        return PricingContext(
            product=Product(sku=f"{task.task_id}-rival{j}", name="rival seller",
                            unit_cost=comp.unit_cost, current_price=float(s.comp_prices[j])),
            guardrails=Guardrails(min_price=task.min_price, max_price=task.max_price),
            history=rows,
            competitor_price=s.history[-1].price,
            periods_left=task.horizon - s.t,
        )
