"""From a PricingContext to a Recommendation: evidence -> policy proposal -> guardrails -> rationale.

The rationale is grounded: its numbers are formatted from the evidence and the guardrail
record, never copied from the model. The model's own one-line reason is shown only when every
number it quotes is one the evidence or the context holds (within rounding); otherwise it is
dropped and a flag says so.

Safe by default (issue 16): every recommendation here runs the guardrails with the default cap per
period (`env.context.DEFAULT_MAX_CHANGE`, 15%, where the merchant set no `max_change`; see
`agent.guardrails` rule 5b). It lives here and not in the guardrails themselves because this is the one
door every merchant-facing price goes through (chat and API via `agent.service`, the catalog scorer, the
CLI), while the simulated market never calls the guardrails and the RL reward calls them without the
cap: benchmark numbers and training rewards of the simulated policies stay what they were. A rule that
holds the price at its bound counts as binding. Where the expected gain lies inside its own 90% band
(`agent.evidence.profit_change_band`), the rationale says so, offers a smaller step or holding, and
carries a price test (`agent.price_test`) that would settle it.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel

from agent.evidence import Evidence, compute_evidence, profit_change_band
from agent.guardrails import BindingRule, apply_guardrails
from agent.policy import Proposal
from agent.price_test import PriceTest, design_price_test
from env.context import Policy, PricingContext


def sku_seed(sku: str) -> int:
    """The seed a product's decision is drawn with, derived from its SKU alone.

    Why: a policy with randomness (an exploration probe, Thompson sampling) must give a product the same
    price whichever door asks (chat, API, catalog) and wherever the product sits in a catalog.
    """
    return int.from_bytes(hashlib.blake2b(sku.encode("utf-8"), digest_size=4).digest(), "big")


class Recommendation(BaseModel):
    sku: str
    price: float
    previous_price: float
    change_pct: float
    proposed_price: float  # the policy's price before guardrails
    expected_units: float | None
    expected_units_low: float | None
    expected_units_high: float | None
    expected_profit: float | None
    expected_profit_low: float | None
    expected_profit_high: float | None
    expected_profit_change: float | None  # per period, vs keeping the current price
    expected_profit_change_low: float | None = None  # its 90% band (paired posterior draws)
    expected_profit_change_high: float | None = None
    gain_uncertain: bool = False  # the band of the change holds zero: the evidence cannot tell the prices apart
    smaller_step: float | None = None  # half way to the price (guardrails applied), offered when uncertain
    price_test: PriceTest | None = None  # how to settle it by measuring, offered when uncertain
    confidence: Literal["high", "medium", "low"]
    rationale: str
    model_reason: str | None
    candidate: str | None = None  # the toolbox candidate the model chose (compact-prompt adapters)
    evidence: Evidence
    binding_rules: list[BindingRule]
    flags: list[str]
    policy: str
    model_id: str | None
    adapter_id: str | None
    latency_ms: float


_NUM = re.compile(r"-?\d+(?:\.\d+)?")


def _known_numbers(context: PricingContext, evidence: Evidence, price: float) -> list[float]:
    g, p = context.guardrails, context.product
    values = [p.unit_cost, p.current_price, price, context.competitor_price, context.inventory,
              g.min_price, g.max_price, g.map_price, evidence.model_optimal_price, evidence.competitor_gap_pct]
    values += [100 * v for v in (g.min_margin, g.max_change) if v is not None]
    if evidence.fit is not None:
        values += [evidence.fit.elasticity, evidence.fit.elasticity_low, evidence.fit.elasticity_high]
    for q in (evidence.at_current, evidence.point(price),
              evidence.point(evidence.model_optimal_price) if evidence.model_optimal_price else None):
        if q is not None:
            values += [q.units, q.profit, q.units_low, q.units_high, q.profit_low, q.profit_high]
    for r in context.history[-24:]:
        values += [r.price, r.units, r.competitor_price]
    return [abs(v) for v in values if v is not None]


def grounded(reason: str, known: Sequence[float]) -> bool:
    """Whether every number in `reason` matches a known number (1% or one cent), ignoring small counts."""
    for token in _NUM.findall(reason):
        x = abs(float(token))
        if x <= 12 and float(token).is_integer():  # "one of 3 rules", "last 2 weeks": not a claim about data
            continue
        if not any(abs(x - k) <= max(0.01, 0.01 * k) for k in known):
            return False
    return True


def _confidence(evidence: Evidence, point, proposal: Proposal) -> Literal["high", "medium", "low"]:
    if proposal.fallback or evidence.fit is None or not evidence.fit.identified or point is None:
        return "low"
    band = (point.profit_high - point.profit_low) / max(abs(point.profit), 1e-9)
    return "high" if band < 0.25 else "medium"


def _money(x: float) -> str:
    return f"{x:,.2f}"


def explain(context: PricingContext, evidence: Evidence, price: float, binding: list[BindingRule],
            point, confidence: str, choice: str | None = None) -> str:
    """Plain words, every number from the evidence, the toolbox (`choice`, the chosen candidate's
    sentence) or the guardrail record."""
    current = context.product.current_price
    change = 100 * (price - current) / current
    parts = [f"Recommended price {_money(price)} (now {_money(current)}, {change:+.1f}%)."]
    if choice:
        parts.append(choice)
    fit = evidence.fit
    if fit is None:
        parts.append("There is no usable sales history yet, so demand could not be estimated; "
                     "the price stays where the guardrails allow.")
    else:
        if fit.identified:
            parts.append(f"Demand elasticity is about {fit.elasticity:.1f} (90% range {fit.elasticity_high:.1f} "
                         f"to {fit.elasticity_low:.1f}), estimated from {fit.observations} periods: a 1% higher "
                         f"price loses about {abs(fit.elasticity):.1f}% of units.")
        else:
            parts.append(f"The elasticity is not identified from this history ({fit.note.split(':')[-1].strip()}); "
                         f"the estimate {fit.elasticity:.1f} leans on the prior.")
        if point is not None:
            text = (f"At {_money(price)} the model expects {point.units:,.0f} units "
                    f"({point.units_low:,.0f}–{point.units_high:,.0f}) and a profit of {_money(point.profit)} "
                    f"({_money(point.profit_low)}–{_money(point.profit_high)}) per period")
            if evidence.at_current is not None:
                text += f", against {_money(evidence.at_current.profit)} at the current price"
            parts.append(text + ".")
        if evidence.model_optimal_price is not None and abs(evidence.model_optimal_price - price) > 0.005:
            parts.append(f"The demand model alone would charge {_money(evidence.model_optimal_price)}.")
    if evidence.competitor_price is not None:
        gap = evidence.competitor_gap_pct
        parts.append(f"The competitor charges {_money(evidence.competitor_price)}; we are currently "
                     f"{abs(gap):.1f}% {'above' if gap > 0 else 'below'} it.")
    for rule in binding:
        parts.append(f"Guardrail {rule.rule}: {rule.words()}.")
    parts.append(f"Confidence: {confidence}.")
    return " ".join(parts)


def uncertain_words(rec: Recommendation, plan: bool = True) -> str:
    """The plain words for a gain inside its uncertainty: what the evidence cannot tell, what to do instead
    (and, with `plan`, the price test that would settle it)."""
    now, price = _money(rec.previous_price), _money(rec.price)
    change = rec.expected_profit_change
    text = (f"The expected {'gain' if change >= 0 else 'change in profit'}, {change:+,.2f} per period, is inside "
            f"its 90% band ({rec.expected_profit_change_low:+,.2f} to {rec.expected_profit_change_high:+,.2f}): "
            f"the sales so far cannot tell whether {price} earns more than {now}. ")
    step = f"a smaller step to {_money(rec.smaller_step)}, or " if rec.smaller_step is not None else ""
    test = rec.price_test
    text += f"Safer: {step}hold {now}" + (f" and test {price} against it." if test and test.feasible else ".")
    return text + (f" {test.plan}" if plan and test is not None else "")


def _uncertainty(context: PricingContext, evidence: Evidence, price: float, point) -> dict:
    """The change band, and where it holds zero a smaller step and a price test."""
    current = context.product.current_price
    if point is None or evidence.at_current is None or abs(price - current) < 0.005:
        return {}
    band = profit_change_band(context, price, evidence=evidence)
    if band is None:
        return {}
    _, low, high = band
    out = {"expected_profit_change_low": low, "expected_profit_change_high": high}
    if not low < 0 < high:
        return out
    step = apply_guardrails(current + (price - current) / 2, context, default_cap=True).price
    if abs(step - current) < 0.01 or abs(step - price) < 0.01:
        step = None
    return out | {"gain_uncertain": True, "smaller_step": step,
                  "price_test": design_price_test(context, evidence, price)}


def build_recommendation(context: PricingContext, evidence: Evidence, proposal: Proposal, policy: Policy,
                         latency_ms: float) -> Recommendation:
    guarded = apply_guardrails(proposal.price, context, default_cap=True)
    price = guarded.price
    point = evidence.point(price)
    flags = []
    if proposal.fallback:
        flags.append(f"fallback: {proposal.fallback}")
    if evidence.fit is not None and not evidence.fit.identified:
        flags.append("elasticity not identified: prior used")
    if evidence.fit is None:
        flags.append("no usable history")
    elif point is None:
        flags.append("no demand estimate at this price: it lies outside the range the evidence covers")
    flags += [f"note: {n}" for n in evidence.notes if "elasticity" not in n]
    if context.product.name_cut_from is not None:
        flags.append(f"name cut to its first {len(context.product.name):,} of {context.product.name_cut_from:,} "
                     "characters (names never enter the price)")
    reason = proposal.reason
    if reason and not grounded(reason, _known_numbers(context, evidence, price)):
        flags.append("model reason dropped: it quoted numbers that are not in the evidence")
        reason = None
    confidence = _confidence(evidence, point, proposal)
    current = context.product.current_price
    profit_change = None
    if point is not None and evidence.at_current is not None:
        profit_change = point.profit - evidence.at_current.profit
    uncertainty = _uncertainty(context, evidence, price, point)
    if uncertainty.get("gain_uncertain"):
        flags.append("gain uncertain: the 90% band of the expected profit change holds zero")
    rec = Recommendation(
        sku=context.product.sku, price=price, previous_price=current,
        change_pct=100 * (price - current) / current, proposed_price=proposal.price,
        expected_units=point.units if point else None, expected_units_low=point.units_low if point else None,
        expected_units_high=point.units_high if point else None,
        expected_profit=point.profit if point else None, expected_profit_low=point.profit_low if point else None,
        expected_profit_high=point.profit_high if point else None, expected_profit_change=profit_change,
        **uncertainty, confidence=confidence,
        rationale=explain(context, evidence, price, guarded.rules, point, confidence, proposal.candidate_words),
        model_reason=reason, candidate=proposal.candidate, evidence=evidence, binding_rules=guarded.rules,
        flags=flags,
        policy=policy.name, model_id=getattr(policy, "model_id", None), adapter_id=getattr(policy, "adapter_id", None),
        latency_ms=latency_ms,
    )
    if rec.gain_uncertain:  # said plainly, before the confidence
        head, _, tail = rec.rationale.rpartition(" Confidence: ")
        rec.rationale = f"{head} {uncertain_words(rec)} Confidence: {tail}"
    return rec


def recommend_batch(contexts: Sequence[PricingContext], policy: Policy,
                    seeds: Sequence[int] | None = None, with_curve: bool = True) -> list[Recommendation]:
    """Recommendations for several products; an LLM policy generates for all of them in one batch
    (`seeds`: the products' own seeds, for a policy that draws, e.g. an exploration probe; `with_curve=False`:
    evidence without its point list, for a catalog's rows, which never show it)."""
    start = time.perf_counter()
    evidences = [compute_evidence(c, with_curve=with_curve) for c in contexts]
    if hasattr(policy, "propose_batch"):
        proposals = (policy.propose_batch(contexts, evidences) if seeds is None
                     else policy.propose_batch(contexts, evidences, seeds=seeds))
    else:
        proposals = [Proposal(price=float(policy.act(c))) for c in contexts]
    latency = 1000 * (time.perf_counter() - start) / max(len(contexts), 1)
    return [build_recommendation(c, e, p, policy, latency)
            for c, e, p in zip(contexts, evidences, proposals, strict=True)]


def recommend(context: PricingContext, policy: Policy) -> Recommendation:
    return recommend_batch([context], policy)[0]
