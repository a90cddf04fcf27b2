"""The toolbox: candidate prices from the demand hypotheses, each with what it is expected to earn.

For one context (`agent.hypotheses.fit_hypotheses` gives the fitted families):

* **one optimum per family**: the price maximising this period's expected profit under that curve
  (expected sales capped by the stock on hand), within `agent.evidence.supported_range` (the
  guardrails' range, at most 30% beyond the prices tried: no curve is trusted far from its data);
* **stock plan** where stock is known and the horizon is finite: the env's own dynamic programme
  (`env.oracle.plan_horizon`) run on the best-fitting hypothesis as if it were the market, with the
  deliveries, holding cost and write-off of `PricingContext.supply` — the price that maximises
  expected profit over the rest of the horizon, not just this period;
* **exploration**: the optimum of one Thompson draw from the best hypothesis's posterior, and what
  it is expected to cost now against the best fit's optimum (information is worth buying early,
  rarely late). The fixed rule takes it while our price has only moved with the rival's
  (`agent.hypotheses.rival_confounded`): there no fit can say what our own price does, and only a
  move of our own can.

Every candidate is scored under the best-fitting hypothesis (expected units, profit and a 90% band
from posterior draws), so their numbers compare like with like. Deterministic: the draws are seeded
from the history itself, and, while the price is confounded with the rival's, from the seller's own
`seed` too, so that two copies of one policy facing each other draw different probes.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from agent.evidence import BAND, supported_range, usable_rows
from agent.hypotheses import FAMILIES, Hypothesis, fit_hypotheses, rival_confounded
from env import demand_fit
from env.context import PricingContext
from env.market import expected_sold
from env.oracle import plan_horizon
from env.task import Inventory, TaskSpec

# Every candidate a toolbox can hold, in the order it lists them (a picker's classes).
CANDIDATE_NAMES = (*FAMILIES, "stock_plan", "explore")
_GRID = 161
_PLAN_STOCK, _PLAN_PRICES, _PLAN_NOISE = 81, 61, 7


@dataclass(frozen=True)
class Candidate:
    name: str  # "loglinear", "linear", "logit", "stock_plan", "explore"
    price: float
    units: float  # expected units sold this period under the best-fitting hypothesis
    profit: float
    profit_low: float
    profit_high: float
    note: str = ""


@dataclass(frozen=True)
class Toolbox:
    hypotheses: list[Hypothesis]
    candidates: list[Candidate]
    supported_range: tuple[float, float]
    draws: np.ndarray | None = None  # the best fit's posterior draws every candidate was scored with
    confounded: bool = False  # our price only ever moved with the rival's: its own effect is unmeasured

    @property
    def best_fit(self) -> Hypothesis | None:
        return self.hypotheses[0] if self.hypotheses else None

    def candidate(self, name: str) -> Candidate | None:
        return next((c for c in self.candidates if c.name == name), None)


def _history_seed(context: PricingContext, seed: int) -> int:
    """A seed that depends on the history: the same facts always draw the same exploration price."""
    text = repr([(r.period, r.price, r.units) for r in context.history]) + f"|{seed}"
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")


def _expected_profit(h: Hypothesis, prices: np.ndarray, context: PricingContext, coef=None) -> np.ndarray:
    units = expected_sold(h.mean_units(prices, coef), context.inventory, h.noise)
    return (prices - context.product.unit_cost) * units


def myopic_optimum(h: Hypothesis, context: PricingContext, low: float, high: float, coef=None) -> float:
    grid = demand_fit.price_grid(low, high, _GRID)
    grid = np.unique(np.append(grid, np.clip(context.product.current_price, low, high)))
    return float(grid[int(np.argmax(_expected_profit(h, grid, context, coef)))])


def stock_plan_price(h: Hypothesis, context: PricingContext, low: float, high: float) -> float | None:
    """The DP price over the rest of the horizon, planning as if `h` were the market (None: no plan).

    The sub-task starts `offset` periods in so that its deliveries (every `restock_every` periods, at
    multiples of it, as in the simulator) land `next_restock_in` periods from now.
    """
    if context.inventory is None or not context.periods_left:
        return None
    spec = h.demand_spec()
    if spec is None or high <= low:
        return None
    supply = context.supply
    every = supply.restock_every if supply and supply.next_restock_in else None
    offset = (every - supply.next_restock_in) % every if every else 0
    inventory = Inventory(initial=float(context.inventory), replenish_every=every,
                          replenish_qty=supply.restock_qty if every else 0.0,
                          holding_cost=supply.holding_cost if supply else 0.0,
                          perishable=supply.perishable if supply else False)
    task = TaskSpec(task_id="plan", seed=0, horizon=offset + context.periods_left,
                    unit_cost=context.product.unit_cost, initial_price=float(np.clip(context.product.current_price,
                                                                                    low, high)),
                    min_price=low, max_price=high, demand=spec, noise=float(min(h.noise, 2.0)), inventory=inventory)
    plan = plan_horizon(task, np.zeros(0), n_stock=_PLAN_STOCK, n_prices=_PLAN_PRICES, n_noise=_PLAN_NOISE)
    return plan.price(offset, float(context.inventory), None, n_prices=_GRID)


def _score(name: str, price: float, best: Hypothesis, draws: np.ndarray, context: PricingContext,
           note: str = "") -> Candidate:
    p = np.array([price])
    sold = [expected_sold(best.mean_units(p, d), context.inventory, best.noise)[0] for d in draws]
    profits = (price - context.product.unit_cost) * np.array(sold)
    units = float(expected_sold(best.mean_units(p), context.inventory, best.noise)[0])
    lo, hi = demand_fit.percentile_pair(profits, BAND)
    return Candidate(name, float(price), units, float((price - context.product.unit_cost) * units),
                     float(lo), float(hi), note)


def build_toolbox(context: PricingContext, seed: int = 0) -> Toolbox:
    """Fit the hypotheses and derive every candidate (none without a period that sold).

    `seed` is the seller's own (a policy's `reset` seed). It enters the draws only while the price is
    confounded with the rival's; everywhere else the same facts give the same toolbox, whoever asks.
    """
    hyps = fit_hypotheses(context)
    low, high = supported_range(context)
    if not hyps:
        return Toolbox([], [], (low, high))
    best = hyps[0]
    confounded = rival_confounded(usable_rows(context))
    rng = np.random.default_rng(_history_seed(context, seed if confounded else 0))
    draws = best.draws(rng)
    cands = [_score(h.family, myopic_optimum(h, context, low, high), best, draws, context,
                    f"fit weight {h.weight:.2f}") for h in hyps]
    plan = stock_plan_price(best, context, low, high)
    if plan is not None:
        cands.append(_score("stock_plan", plan, best, draws, context,
                            f"plans {context.periods_left} periods of stock under the {best.family} fit"))
    explore = myopic_optimum(best, context, low, high, coef=draws[0])
    cands.append(_score("explore", explore, best, draws, context,
                        "our price has only moved with the competitor's, so its own effect is unmeasured"
                        if confounded else "optimum of one posterior draw"))
    return Toolbox(hyps, cands, (low, high), draws, confounded)


def score_price(toolbox: Toolbox, context: PricingContext, price: float) -> Candidate | None:
    """Any price scored the way the toolbox scored its candidates (the best fit, the same posterior draws),
    so a what-if answer agrees with the chosen candidate's numbers. None without a fit, or outside the
    range the fit is trusted in (`supported_range`): beyond the prices tried it would be a guess."""
    best, (low, high) = toolbox.best_fit, toolbox.supported_range
    if best is None or toolbox.draws is None or not low - 1e-9 <= price <= high + 1e-9:
        return None
    return _score("what_if", float(price), best, toolbox.draws, context)


def confounded_probe(toolbox: Toolbox) -> Candidate | None:
    """The exploration probe while the price is confounded with the rival's (`Toolbox.confounded`),
    else None. Every picker over the toolbox (the rule, the LLM, the GBM picker) charges it there:
    no fit can say what our own price does until our price moves on its own."""
    return toolbox.candidate("explore") if toolbox.confounded else None


def rule_candidate(toolbox: Toolbox) -> Candidate | None:
    """The fixed rule (an honest baseline for any learned picker): the exploration probe while the price
    is confounded with the rival's, else the stock plan where there is one, else the best-fitting
    family's optimum. None without a fit."""
    if (probe := confounded_probe(toolbox)) is not None:
        return probe
    for name in ("stock_plan", toolbox.best_fit.family if toolbox.best_fit else None):
        c = toolbox.candidate(name) if name else None
        if c is not None:
            return c
    return None


def rule_price(toolbox: Toolbox, context: PricingContext) -> float | None:
    """The rule's price (`rule_candidate`), None without a fit."""
    c = rule_candidate(toolbox)
    return None if c is None else c.price


_WHAT = {"loglinear": "the optimum of the log-linear (constant-elasticity) demand curve",
         "linear": "the optimum of the straight-line demand curve",
         "logit": "the optimum of the logit demand curve (a choke price)",
         "stock_plan": "the stock plan over the remaining periods",
         "explore": "an exploration price (the optimum of one posterior draw)"}


def describe_choice(toolbox: Toolbox, chosen: Candidate, chooser: str = "The model") -> str:
    """One sentence on the chosen candidate, every number from the toolbox (the rationale's words for
    a compact-prompt choice: the model writes only the price)."""
    best = toolbox.best_fit
    text = f"{chooser} chose {_WHAT.get(chosen.name, chosen.name)} out of {len(toolbox.candidates)} candidates"
    if chosen.note:
        text += f" ({chosen.note})"
    if best is not None:
        text += (f"; under the best-fitting {best.family} curve it expects {chosen.profit:,.2f} profit "
                 f"({chosen.profit_low:,.2f}–{chosen.profit_high:,.2f}) this period")
        top = max(toolbox.candidates, key=lambda c: c.profit)
        if top is not chosen and top.profit > chosen.profit + 0.005:
            text += f", against {top.profit:,.2f} for {_WHAT.get(top.name, top.name)}"
    return text + "."
