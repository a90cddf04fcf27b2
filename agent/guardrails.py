"""Guardrails: business rules applied in code after every policy, always, in a fixed order.

Nothing a model writes and nothing in a product's name can move a price outside them: the
policy's proposal is only an input here. The order, and what wins when rules pull apart:

1. `min_price`     floor
2. `max_price`     ceiling
3. `map_price`     minimum advertised price (a floor)
4. `min_margin`    floor at unit_cost / (1 - min_margin)
4b. default band   only on a side the merchant left open (`PricingContext.default_band`): with no
                   floor of any kind, not below the unit cost (`default_floor`); with no max_price,
                   not above `default_max_multiple` (3) x the highest price seen (`default_ceiling`).
                   Why: without bounds nothing but the policy decides, and a runaway proposal (a
                   model that read an instruction in a product text, say) must not become a price.
5. `max_change`    stay within current_price * (1 +/- max_change); where that band lies outside
                   the hard range of rules 1-4 (a price already outside the rules), the hard
                   range wins and the price moves to its nearest edge
5b. default cap    `default_max_change` (15%, `env.context.DEFAULT_MAX_CHANGE`) in place of a missing
                   `max_change`, exactly like it, only when the caller asks (`default_cap=True`).
                   Where it belongs: on merchant-facing recommendations, so `agent.recommend` asks
                   (chat, API, catalog, CLI all price through it); a bold move on thin evidence stays
                   a step whose sales check it. The simulated market never calls this module, and the
                   RL reward (`finetune.reward`) calls it without the cap: benchmarks and training
                   measure the pricers themselves, unchanged. A merchant's `max_change` always wins;
                   `default_max_change=None` switches the default off.
6. `price_ending`  round to the nearest price ending in those cents inside the allowed range,
                   preferring the one below, and never across the current price (an ending must not
                   turn a rise into a cut: 3.43 -> 3.69 under a 15% cap ends 3.69, not 2.99); left as
                   is when no such price fits
7. whole cents     the final price is rounded to a cent, towards the inside of the allowed range
                   (a margin floor of 14.2821 gives 14.29, never 14.28): a merchant can post it as
                   is, and the posted price still obeys every rule. Where the max_change band
                   holds no whole cent (6.6933 to 6.699, say), the hard range wins as in rule 5:
                   the nearest cent inside it (6.70), a move larger by under a cent. Kept exact
                   only when the hard range itself holds no whole cent.

A rule that holds the final price exactly at its bound without moving it (a proposal that sat on the floor)
is recorded too, in `GuardedPrice.held` (`BindingRule.held`): it binds as much as one that moved the price, and
the merchant must see it. `binding` keeps only the rules that moved the price (the RL reward's clamp penalty).

Rules 1-4b form the hard range [floor, ceiling], whose floor is never below one cent; guardrails
that leave it empty (a margin floor above the maximum price, say) are a `GuardrailConflict`, never
a silent choice.
A proposal that is not a finite number of at least one cent (`MIN_PRICE`) is replaced by the
current price first (a sub-cent "price" would print as 0.00).
"""

from __future__ import annotations

import math

from pydantic import BaseModel

from env.context import Guardrails, PricingContext

MIN_PRICE = 0.01


class GuardrailConflict(ValueError):
    """The guardrails admit no price at all."""


class BindingRule(BaseModel):
    """One rule that changed the price: which, from what, to what, and why in words."""

    rule: str
    before: float
    after: float
    detail: str
    held: bool = False  # the price sat exactly at this rule's bound: the rule held it there without moving it

    def words(self) -> str:
        """The rule's effect in words: '(12.00 → 10.00)', or 'holds the price at its bound 10.00'."""
        if self.held:
            return f"{self.detail} (holds the price at its bound {self.after:,.2f})"
        return f"{self.detail} ({self.before:,.2f} → {self.after:,.2f})"


class GuardedPrice(BaseModel):
    price: float
    proposal: float
    binding: list[BindingRule]  # the rules that moved the price
    held: list[BindingRule] = []  # the rules whose bound the final price sits on, without having moved it

    @property
    def rules(self) -> list[BindingRule]:
        """Every rule that bound the price: those that moved it, then those that held it at their bound."""
        return self.binding + self.held


def hard_range(context: PricingContext) -> tuple[float, float]:
    """[floor, ceiling] from rules 1-4b, or GuardrailConflict when it is empty."""
    g, cost = context.guardrails, context.product.unit_cost
    default_floor, default_ceiling = context.default_band()
    # one cent is always a floor: a final price is whole cents, and a sub-cent current price (kept when
    # a proposal is invalid) would otherwise round to a "price" of 0.00
    floors = {"one cent": MIN_PRICE, "min_price": g.min_price, "map_price": g.map_price,
              "default_floor": default_floor}
    if g.min_margin is not None:
        floors["min_margin"] = cost / (1 - g.min_margin)
    floor = max(v for v in floors.values() if v is not None)
    ceiling = g.max_price if g.max_price is not None else default_ceiling
    if floor > ceiling:
        which = max((v, k) for k, v in floors.items() if v is not None)[1]
        raise GuardrailConflict(f"{which} requires a price of at least {floor:.2f} but max_price is {ceiling:.2f}")
    return floor, ceiling


def _with_ending(price: float, ending: float, low: float, high: float, current: float) -> float | None:
    below = math.floor(price - ending) + ending
    side = 0.0 if abs(price - current) <= 1e-9 else price - current
    candidates = [c for c in (below, below + 1)
                  if low - 1e-9 <= c <= high + 1e-9 and (c - current) * side >= -1e-9]
    if not candidates:
        return None
    return min(candidates, key=lambda c: (abs(c - price), c))


def change_cap(guardrails: Guardrails, default_cap: bool) -> tuple[str, float] | None:
    """(rule, largest relative change per period): the merchant's `max_change`, else the default cap where
    asked for and not switched off, else None."""
    if guardrails.max_change is not None:
        return "max_change", guardrails.max_change
    if default_cap and guardrails.default_max_change is not None:
        return "default_max_change", guardrails.default_max_change
    return None


def apply_guardrails(proposal: float, context: PricingContext, default_cap: bool = False) -> GuardedPrice:
    """The final price for `proposal` under the context's guardrails, with every rule that bound it.

    `default_cap`: apply the default cap per period (rule 5b) where the merchant set no `max_change`;
    merchant-facing recommendations do, the RL reward and what-if checks do not."""
    g = context.guardrails
    current = context.product.current_price
    binding: list[BindingRule] = []
    bounds: list[tuple[str, float, bool, str]] = []  # (rule, bound, is a floor, detail): checked for `held`

    def bind(rule: str, before: float, after: float, detail: str, bound: float | None = None,
             floor: bool = True) -> float:
        if abs(after - before) > 1e-9:
            binding.append(BindingRule(rule=rule, before=round(before, 6), after=round(after, 6), detail=detail))
        if bound is not None:
            bounds.append((rule, bound, floor, detail))
        return after

    floor, ceiling = hard_range(context)
    valid = isinstance(proposal, int | float) and math.isfinite(proposal) and proposal >= MIN_PRICE
    price = float(proposal) if valid else bind(
        "invalid_proposal", 0.0, current, "the proposal was not a price of at least 0.01; kept the current price")
    if g.min_price is not None:
        price = bind("min_price", price, max(price, g.min_price), f"not below the minimum price {g.min_price:.2f}",
                     g.min_price)
    if g.max_price is not None:
        price = bind("max_price", price, min(price, g.max_price), f"not above the maximum price {g.max_price:.2f}",
                     g.max_price, floor=False)
    if g.map_price is not None:
        price = bind("map_price", price, max(price, g.map_price),
                     f"not below the minimum advertised price {g.map_price:.2f}", g.map_price)
    if g.min_margin is not None:
        margin_floor = context.product.unit_cost / (1 - g.min_margin)
        price = bind("min_margin", price, max(price, margin_floor),
                     f"keeps at least a {g.min_margin:.0%} margin over the unit cost (price >= {margin_floor:.2f})",
                     margin_floor)
    default_floor, default_ceiling = context.default_band()
    if default_floor is not None:
        price = bind("default_floor", price, max(price, default_floor),
                     f"no floor is set, so not below the unit cost {default_floor:.2f} (set min_price to go lower)",
                     default_floor)
    if default_ceiling is not None:
        price = bind("default_ceiling", price, min(price, default_ceiling),
                     f"no maximum price is set, so not above {g.default_max_multiple:g}x the highest price seen "
                     f"({default_ceiling:.2f}; set max_price to go higher)", default_ceiling, floor=False)
    low, high = floor, ceiling
    cap = change_cap(g, default_cap)
    if cap is not None:
        rule, share = cap
        band_low, band_high = current * (1 - share), current * (1 + share)
        low, high = max(floor, band_low), min(ceiling, band_high)
        if low > high:  # the current price is already outside the hard range: the hard range wins
            low = high = floor if band_high < floor else ceiling
            # recorded even when an earlier rule already moved the price there: the limit was overridden
            binding.append(BindingRule(
                rule=rule, before=round(price, 6), after=round(low, 6),
                detail=(f"overridden: a move of at most {share:.0%} from {current:.2f} cannot reach the "
                        f"allowed range, so the price goes to its nearest edge {low:.2f}")))
            price = low
        else:
            detail = (f"changes at most {share:.0%} per period from {current:.2f}" if rule == "max_change" else
                      f"no max change is set, so at most the default {share:.0%} per period from {current:.2f}; "
                      "set max_change to allow more")
            price = bind(rule, price, min(max(price, low), high), detail, band_low)
            bounds.append((rule, band_high, False, detail))
    if g.price_ending is not None:
        ended = _with_ending(price, g.price_ending, low, high, current)
        if ended is not None:
            price = bind("price_ending", price, ended, f"ends in .{round(g.price_ending * 100):02d}")
    cents = _whole_cents(price, low, high)
    if cents is None:
        cents = _whole_cents(price, floor, ceiling)
    final = round(price, 6) if cents is None else cents
    moved = {b.rule for b in binding}
    held = [BindingRule(rule=rule, before=final, after=final, detail=detail, held=True)
            for rule, bound, is_floor, detail in bounds
            if rule not in moved and valid and _at_bound(final, bound, is_floor)]
    return GuardedPrice(price=final, proposal=float(proposal) if math.isfinite(proposal) else float("nan"),
                        binding=binding, held=list({b.rule: b for b in held}.values()))


def _at_bound(price: float, bound: float, is_floor: bool) -> bool:
    """Whether `price` sits on `bound`: exactly, or on the nearest whole cent inside it."""
    if abs(price - bound) <= 1e-9:
        return True
    edge = (math.ceil if is_floor else math.floor)(round(bound * 100, 6)) / 100
    return abs(price - edge) <= 1e-9


def _whole_cents(price: float, low: float, high: float) -> float | None:
    """The cent nearest to `price` inside [low, high] (rule 7), or None when no whole cent lies there."""
    cents = round(price, 2)
    if cents < low - 1e-9:
        cents = math.ceil(round(low * 100, 6)) / 100
    elif cents > high + 1e-9:
        cents = math.floor(round(high * 100, 6)) / 100
    return cents if low - 1e-9 <= cents <= high + 1e-9 else None
