"""The merchant chat, without the web page: a message and the facts so far in, chat messages out.

Kept free of Gradio so it can be tested (and reused) as plain Python. A turn is:

1. read the message (`ui.facts.read_message`): new facts, a what-if price, a "why not lower?";
2. ask for what is missing (unit cost, sales at a price) instead of guessing it;
3. otherwise recommend: evidence (demand fit), policy proposal, guardrails, exactly as the API
   and the batch scorer do (`agent.recommend`), and explain it with numbers from the evidence;
4. answer follow-ups from the same fitted demand model.

Messages follow Gradio's "messages" format (role, content, metadata); the tool steps carry a
`metadata.title`, which the chat shows as collapsible steps, and the chart is a PNG file message.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict

from agent.candidates import score_price
from agent.evidence import Evidence, compute_evidence
from agent.guardrails import GuardrailConflict
from agent.price_test import PriceTest, read_price_test
from agent.recommend import Recommendation, uncertain_words
from agent.service import PricingService
from env.context import DEFAULT_MAX_CHANGE, PricingContext
from ui.charts import recommendation_chart
from ui.facts import MerchantFacts, facts_from_context, facts_from_history_file, read_message
from ui.message import Extraction, extract

GREETING = ("Tell me about a product and how it sold, for example: *\"I sell a ceramic mug, it costs me $4, "
            "I sold 120 at $12 last week and 90 at $14 this week, my competitor is at $13.50 — what should I "
            "charge?\"* You can also pick a demo SKU or upload a sales-history CSV (columns `price`, `units`, "
            "optionally `period`/`date` and `competitor_price`).")
FOLLOW_UPS = "You can ask: *what if I charge $…?* · *why not lower?* · *set my floor margin to 30%*."


class ChatState(BaseModel):
    """What the chat remembers between turns: the facts and the last recommended price."""

    model_config = ConfigDict(extra="forbid")

    facts: MerchantFacts = MerchantFacts()
    recommended_price: float | None = None
    candidate: str | None = None  # the toolbox candidate behind it (compact-prompt adapters): what-ifs use its fit
    price_test: PriceTest | None = None  # the test proposed with it: an uploaded sales file is read out against it


@dataclass
class Turn:
    messages: list[dict]
    state: ChatState
    recommendation: Recommendation | None = None
    charts: list[str] = field(default_factory=list)


def _money(x: float | None) -> str:
    return "—" if x is None else f"${x:,.2f}"


def _say(text: str) -> dict:
    return {"role": "assistant", "content": text}


def _step(title: str, text: str) -> dict:
    return {"role": "assistant", "content": text, "metadata": {"title": title, "status": "done"}}


def _chart(path) -> dict:
    return {"role": "assistant", "content": {"path": str(path), "alt_text": "sales history, demand and profit curves"}}


def describe_facts(facts: MerchantFacts) -> str:
    """The facts as the merchant can check them, marking what is still unknown."""
    rows = [f"- product: {facts.name or '(unnamed)'} — from {facts.source}",
            f"- unit cost: {_money(facts.unit_cost) if facts.unit_cost is not None else 'unknown'}",
            f"- price now: {_money(facts.price_now()) if facts.price_now() else 'unknown'}"]
    if facts.sales:
        shown = facts.sales[-6:]
        more = f" (last {len(shown)} of {len(facts.sales)})" if len(facts.sales) > len(shown) else ""
        rows.append(f"- sales{more}: " + "; ".join(f"{s.units:,.0f} at {_money(s.price)}" for s in shown))
    else:
        rows.append("- sales: none yet")
    if facts.competitor_price is not None:
        rows.append(f"- competitor: {_money(facts.competitor_price)}")
    rules = [f"min {_money(facts.min_price)}" if facts.min_price else "",
             f"max {_money(facts.max_price)}" if facts.max_price else "",
             f"margin floor {facts.min_margin:.0%}" if facts.min_margin is not None else "",
             f"max change {facts.max_change:.0%}" if facts.max_change is not None else ""]
    rules = [r for r in rules if r]
    default = "" if facts.max_change is not None else f" (default: at most {DEFAULT_MAX_CHANGE:.0%} change per period)"
    rows.append(f"- guardrails: {', '.join(rules) if rules else 'none set'}{default}")
    return "\n".join(rows)


def _versus(price: float, point, score: Callable[[float], object], context: PricingContext,
            state: ChatState) -> list[str]:
    """A what-if price against the current price and the last recommendation, each scored by `score`
    (the same model of demand as `point`, so the differences mean something)."""
    lines = []
    for label, other in (("the current price", context.product.current_price),
                         ("my recommendation", state.recommended_price)):
        q = score(other) if other is not None else None
        if q is not None and abs(other - price) > 0.005:
            lines.append(f"- vs {label} {_money(other)}: {point.units - q.units:+,.0f} units, "
                         f"{point.profit - q.profit:+,.2f} profit per period.")
    return lines


def _fit_text(evidence: Evidence) -> str:
    fit = evidence.fit
    if fit is None:
        return "No usable sales yet: demand could not be estimated."
    text = (f"Elasticity {fit.elasticity:.2f} (90% range {fit.elasticity_low:.2f} to {fit.elasticity_high:.2f}) "
            f"from {fit.observations} periods, {fit.method}; "
            f"{'identified from the price changes' if fit.identified else 'not identified, leaning on the prior'}.")
    if evidence.model_optimal_price is not None:
        text += f" The demand model alone would charge {_money(evidence.model_optimal_price)}."
    return text


def _answer_text(rec: Recommendation) -> str:
    ev = rec.evidence
    lines = [f"**Recommended price: {_money(rec.price)}** (now {_money(rec.previous_price)}, {rec.change_pct:+.1f}%)."]
    if rec.expected_units is not None:
        now = ev.at_current
        units = (f"- Expected units: **{rec.expected_units:,.0f}** per period "
                 f"({rec.expected_units_low:,.0f}–{rec.expected_units_high:,.0f})")
        if now is not None:
            units += f", against {now.units:,.0f} at the current price"
        lines.append(units + ".")
        profit = (f"- Expected profit: **{_money(rec.expected_profit)}** per period "
                  f"({_money(rec.expected_profit_low)}–{_money(rec.expected_profit_high)})")
        if rec.expected_profit_change is not None:
            profit += f", {rec.expected_profit_change:+,.2f} vs keeping {_money(rec.previous_price)}"
        lines.append(profit + ".")
    fit = ev.fit
    if fit is not None:
        lines.append(f"- Evidence: a 1% higher price loses about {abs(fit.elasticity):.1f}% of units "
                     f"(elasticity {fit.elasticity:.2f}, {'well identified' if fit.identified else 'uncertain'}).")
    if ev.competitor_price is not None and ev.competitor_gap_pct is not None:
        side = "above" if ev.competitor_gap_pct > 0 else "below"
        lines.append(f"- Competitor at {_money(ev.competitor_price)}: you are now {abs(ev.competitor_gap_pct):.1f}% "
                     f"{side} it.")
    if rec.binding_rules:
        lines.append("- Guardrails: " + "; ".join(b.words() for b in rec.binding_rules) + ".")
    else:
        lines.append("- Guardrails: none bound the price.")
    if rec.gain_uncertain:
        lines.append("- **Uncertain gain.** " + uncertain_words(rec, plan=False))
        if rec.price_test is not None:
            lines.append(f"- **Price test.** {rec.price_test.plan}")
    lines.append(f"- Confidence: {rec.confidence}.")
    lines.append("")
    lines.append(FOLLOW_UPS)
    return "\n".join(lines)


def _policy_text(rec: Recommendation) -> str:
    who = rec.policy + (f" ({rec.model_id}" + (f" + {rec.adapter_id}" if rec.adapter_id else "") + ")"
                        if rec.model_id else "")
    text = f"{who} proposed {_money(rec.proposed_price)} in {rec.latency_ms:,.0f} ms."
    if rec.candidate:
        text += f" It chose the toolbox's `{rec.candidate}` candidate (the chart draws every hypothesis)."
    if rec.model_reason:
        text += f" Its reason: \"{rec.model_reason}\""
    if rec.flags:
        text += " Flags: " + "; ".join(rec.flags) + "."
    return text


def _guardrail_text(rec: Recommendation) -> str:
    if not rec.binding_rules:
        return f"No rule bound the price: {_money(rec.proposed_price)} stands."
    return "\n".join(f"- {b.rule}: {b.words()}" for b in rec.binding_rules)


class Assistant:
    """One chat turn at a time, pricing through `service` (the server's one pricing service: its lock, the
    SKU's seed, its guardrail check). Follow-ups ask the same service for the toolbox the recommendation was
    chosen from and for what the guardrails make of a price, so what-if numbers agree with the recommendation.
    `PolicyBusy` from the service passes through: the page turns it into a chat message."""

    def __init__(self, service: PricingService, reader: Callable[[str], Extraction] | None = None):
        self.service = service
        self.reader = reader or extract  # the chat's MessageReader (LLM + matcher); the matcher by default

    # --- entry points ---------------------------------------------------------------------------

    def respond(self, text: str, state: ChatState) -> Turn:
        text = (text or "").strip()
        if not text:
            return Turn([_say(GREETING)], state)
        try:
            reading = read_message(text[:4000], state.facts, self.reader)
        except ValueError as err:
            return Turn([_say(f"I could not use that: {err}")], state)
        if reading.reset:
            return Turn([_say("Starting over. " + GREETING)], ChatState())
        kept = {} if reading.changed else {"recommended_price": state.recommended_price, "candidate": state.candidate,
                                           "price_test": state.price_test}
        new = ChatState(facts=reading.facts, **kept)  # new facts: the last recommendation no longer holds
        steps = [_step("Facts extracted", (f"Read from your message: {', '.join(reading.changed)}.\n\n"
                                           if reading.changed else "Nothing new in this message.\n\n")
                       + describe_facts(reading.facts))]
        if new.facts.missing():
            return Turn(steps + [_say("Before I can price this I need a bit more:\n\n"
                                      + "\n".join(f"- {q}" for q in new.facts.missing()))], new)
        if reading.what_if is not None and not reading.changed:
            return self._what_if(reading.what_if, new, steps)
        if reading.why_not is not None and not reading.changed:
            return self._why_not(reading.why_not, new, steps)
        return self._recommend(new, steps)

    def use_facts(self, facts: MerchantFacts, note: str) -> Turn:
        """Facts from the form, a demo SKU or a file: show them and recommend (or ask what is missing)."""
        state = ChatState(facts=facts)
        steps = [_step("Facts extracted", f"{note}\n\n" + describe_facts(facts))]
        if facts.missing():
            return Turn(steps + [_say("I still need:\n\n" + "\n".join(f"- {q}" for q in facts.missing()))], state)
        return self._recommend(state, steps)

    def use_context(self, context: PricingContext, source: str) -> Turn:
        return self.use_facts(facts_from_context(context, source), f"Loaded {source}.")

    def use_file(self, path: str, state: ChatState) -> Turn:
        """A sales file: re-price on it, first reading out the price test proposed last time, if one was."""
        try:
            facts = facts_from_history_file(path, state.facts)
        except ValueError as err:
            return Turn([_say(f"That file did not work: {err}")], state)
        turn = self.use_facts(facts, f"Read {len(facts.sales)} sales rows from the uploaded file.")
        test = state.price_test
        if test is not None and facts.unit_cost is not None:
            result = read_price_test(facts.sales, test.current_price, test.test_price, facts.unit_cost,
                                     1 - test.confidence)
            if result.periods_current or result.periods_test:
                turn.messages.insert(1, _say(f"**Price test result.** {result.summary}"))
        return turn

    # --- the three kinds of answer ----------------------------------------------------------------

    def _context(self, state: ChatState) -> PricingContext | str:
        try:
            return state.facts.context()
        except ValueError as err:
            return f"These facts do not fit together: {err}. Correct them in the form and press *Update*."

    def _recommend(self, state: ChatState, steps: list[dict]) -> Turn:
        context = self._context(state)
        if isinstance(context, str):
            return Turn(steps + [_say(context)], state)
        try:
            rec = self.service.recommend(context)
        except GuardrailConflict as err:
            return Turn(steps + [_say(f"Your guardrails leave no possible price: {err}. "
                                      "Relax one of them (in the form or in the chat).")], state)
        box = self.service.toolbox(context) if rec.candidate else None  # the candidates the model chose from
        chart = recommendation_chart(context, rec.evidence, rec.price, toolbox=box, chosen=rec.candidate)
        steps += [_step("Demand fit", _fit_text(rec.evidence)),
                  _step("Pricing policy", _policy_text(rec)),
                  _step("Guardrails", _guardrail_text(rec))]
        state = state.model_copy(update={"recommended_price": rec.price, "candidate": rec.candidate,
                                         "price_test": rec.price_test if rec.gain_uncertain else None})
        return Turn(steps + [_say(_answer_text(rec)), _chart(chart)], state, rec, [str(chart)])

    def _what_if(self, price: float, state: ChatState, steps: list[dict]) -> Turn:
        context = self._context(state)
        if isinstance(context, str):
            return Turn(steps + [_say(context)], state)
        if state.candidate:
            return self._what_if_toolbox(price, context, state, steps)
        evidence = compute_evidence(context)
        point = evidence.point(price)
        if point is None:
            low, high = evidence.search_range
            return Turn(steps + [_say(f"I have no demand estimate at {_money(price)}: the fitted model covers "
                                      f"{_money(low)}–{_money(high)}, and beyond the prices you have tried it would "
                                      "be a guess.")], state)
        lines = [f"At **{_money(price)}** the model expects **{point.units:,.0f}** units "
                 f"({point.units_low:,.0f}–{point.units_high:,.0f}) and **{_money(point.profit)}** profit per period "
                 f"({_money(point.profit_low)}–{_money(point.profit_high)})."]
        lines += _versus(price, point, evidence.point, context, state) + self._guardrail_lines(price, context)
        chart = recommendation_chart(context, evidence, state.recommended_price or context.product.current_price,
                                     what_if=price)
        steps.append(_step("Demand fit", _fit_text(evidence)))
        return Turn(steps + [_say("\n".join(lines)), _chart(chart)], state, charts=[str(chart)])

    def _what_if_toolbox(self, price: float, context: PricingContext, state: ChatState, steps: list[dict]) -> Turn:
        """A what-if after a compact-prompt recommendation: the toolbox's best fit scores the price, the
        same way it scored the candidate the model chose, so the numbers agree with the recommendation's."""
        box = self.service.toolbox(context)
        point = score_price(box, context, price)
        if point is None:
            low, high = box.supported_range
            return Turn(steps + [_say(f"I have no demand estimate at {_money(price)}: the fitted curves are trusted "
                                      f"over {_money(low)}–{_money(high)}, and beyond the prices you have tried it "
                                      "would be a guess.")], state)
        lines = [f"At **{_money(price)}** the model expects **{point.units:,.0f}** units and "
                 f"**{_money(point.profit)}** profit per period ({_money(point.profit_low)}–"
                 f"{_money(point.profit_high)}), under the {box.best_fit.family} demand curve that fits best."]
        lines += (_versus(price, point, lambda p: score_price(box, context, p), context, state)
                  + self._guardrail_lines(price, context))
        chart = recommendation_chart(context, compute_evidence(context), state.recommended_price or price,
                                     what_if=price, toolbox=box, chosen=state.candidate)
        steps.append(_step("Demand fit", "; ".join(f"{h.family} fit weight {h.weight:.2f}" for h in box.hypotheses)
                           + f". Scored under the best fit ({box.best_fit.family})."))
        return Turn(steps + [_say("\n".join(lines)), _chart(chart)], state, charts=[str(chart)])

    def _guardrail_lines(self, price: float, context: PricingContext) -> list[str]:
        try:
            guarded = self.service.check_price(price, context)
            if guarded.binding:
                return ["- Your guardrails would not allow it: " + "; ".join(b.detail for b in guarded.binding)
                        + f" (they would give {_money(guarded.price)})."]
        except GuardrailConflict as err:
            return [f"- Your guardrails admit no price at all: {err}."]
        return []

    def _why_not(self, direction: str, state: ChatState, steps: list[dict]) -> Turn:
        context = self._context(state)
        if isinstance(context, str):
            return Turn(steps + [_say(context)], state)
        if state.recommended_price is None:  # asked before any recommendation: make one, quietly
            try:
                rec = self.service.recommend(context)
                state = state.model_copy(update={"recommended_price": rec.price, "candidate": rec.candidate})
            except GuardrailConflict as err:
                return Turn(steps + [_say(f"Your guardrails leave no possible price: {err}.")], state)
        price = state.recommended_price
        evidence = compute_evidence(context)
        other = round(price * (0.9 if direction == "lower" else 1.1), 2)
        lines = []
        try:
            guarded = self.service.check_price(other, context)
            if guarded.binding:
                lines.append(f"Going {direction} to {_money(other)} hits your guardrails: "
                             + "; ".join(b.detail for b in guarded.binding) + ".")
        except GuardrailConflict:
            pass
        here, there = evidence.point(price), evidence.point(other)
        if here is not None and there is not None:
            lines.append(f"At {_money(other)} (10% {direction}) the model expects {there.units:,.0f} units "
                         f"({there.units - here.units:+,.0f}) but {_money(there.profit)} profit per period, "
                         f"{there.profit - here.profit:+,.2f} against {_money(price)}.")
            if there.profit > here.profit:
                lines.append(f"By the demand model alone {direction} would earn more; the recommendation also "
                             "weighs how uncertain the fit is, how far the price moves from what you have tried, "
                             "and your guardrails.")
            else:
                fit = evidence.fit
                if fit is not None:
                    lines.append(f"With an elasticity of about {fit.elasticity:.1f}, the units "
                                 f"{'gained' if direction == 'lower' else 'kept'} do not make up for the margin "
                                 f"{'lost' if direction == 'lower' else 'given up in volume'}.")
        elif not lines:
            lines.append(f"I cannot compare: {_money(other)} is outside the prices the evidence covers "
                         f"({_money(evidence.search_range[0])}–{_money(evidence.search_range[1])}).")
        return Turn(steps + [_say(" ".join(lines))], state)
