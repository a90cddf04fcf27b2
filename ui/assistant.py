"""The merchant chat, without the web page: a message and the facts so far in, chat messages out.

Kept free of Gradio so it can be tested (and reused) as plain Python. A turn is:

1. read the message (`ui.facts.read_message`): new facts, a what-if price, a "why not lower?";
2. ask for what is missing (unit cost, sales at a price) instead of guessing it;
3. otherwise recommend: evidence (demand fit), policy proposal, guardrails, exactly as the API
   and the batch scorer do (`agent.recommend`), and explain it with numbers from the evidence;
4. answer follow-ups from the same fitted demand model (a what-if price, why not lower / higher, how
   sensitive the customers are to price).

Every answer is in the language of the merchant's latest message (`Reading.language`); a turn that is not a
message (a demo SKU, an upload, the form) keeps the conversation's language (`ChatState.language`). The
texts are in `ui.answers`, translated by the gettext catalogs of `ui.i18n`.

Messages follow Gradio's "messages" format (role, content, metadata); the tool steps carry a
`metadata.title`, which the chat shows as collapsible steps, and the chart is a PNG file message.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict

from agent.candidates import score_price
from agent.evidence import compute_evidence
from agent.guardrails import GuardrailConflict
from agent.price_test import PriceTest, read_price_test
from agent.recommend import Recommendation
from agent.service import PricingService
from env.context import PricingContext
from ui.answers import (
    answer_text,
    changed_words,
    describe_facts,
    elasticity_text,
    fit_text,
    guardrail_text,
    policy_text,
    price_test_result,
    rule_detail,
)
from ui.charts import recommendation_chart
from ui.facts import MerchantFacts, facts_from_context, facts_from_history_file, read_message
from ui.i18n import N_, Voice, translator
from ui.message import Extraction, extract, language_of

GREETING = N_("Tell me about a product and how it sold, for example: *\"I sell a ceramic mug, it costs me $4, "
              "I sold 120 at $12 last week and 90 at $14 this week, my competitor is at $13.50 — what should I "
              "charge?\"* You can also pick a demo SKU or upload a sales-history file (CSV or other text table, "
              "Excel, Parquet or JSON Lines; columns `price`, `units`, optionally `period`/`date` and "
              "`competitor_price`).")


class ChatState(BaseModel):
    """What the chat remembers between turns: the facts, the last recommended price and the language."""

    model_config = ConfigDict(extra="forbid")

    facts: MerchantFacts = MerchantFacts()
    recommended_price: float | None = None
    candidate: str | None = None  # the toolbox candidate behind it (compact-prompt adapters): what-ifs use its fit
    price_test: PriceTest | None = None  # the test proposed with it: an uploaded sales file is read out against it
    language: str = "en"  # the merchant's latest message's: turns that are not messages answer in it


@dataclass
class Turn:
    messages: list[dict]
    state: ChatState
    recommendation: Recommendation | None = None
    charts: list[str] = field(default_factory=list)


def _say(text: str) -> dict:
    return {"role": "assistant", "content": text}


def _step(title: str, text: str) -> dict:
    return {"role": "assistant", "content": text, "metadata": {"title": title, "status": "done"}}


def _chart(path, v: Voice) -> dict:
    return {"role": "assistant", "content": {"path": str(path), "alt_text": v._("sales history, demand and profit "
                                                                                "curves")}}


def _questions(facts: MerchantFacts, v: Voice) -> str:
    return "\n".join(f"- {v._(q)}" for q in facts.missing())


def _versus(price: float, point, score: Callable[[float], object], context: PricingContext,
            state: ChatState, v: Voice) -> list[str]:
    """A what-if price against the current price and the last recommendation, each scored by `score`
    (the same model of demand as `point`, so the differences mean something)."""
    lines = []
    for line, other in ((N_("- vs the current price {price}: {units} units, {profit} profit per period."),
                         context.product.current_price),
                        (N_("- vs my recommendation {price}: {units} units, {profit} profit per period."),
                         state.recommended_price)):
        q = score(other) if other is not None else None
        if q is not None and abs(other - price) > 0.005:
            lines.append(v._(line).format(price=v.money(other), units=v.num(point.units - q.units, 0, sign=True),
                                          profit=v.money(point.profit - q.profit, sign=True)))
    return lines


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
            return Turn([_say(translator(state.language)._(GREETING))], state)
        try:
            reading = read_message(text[:4000], state.facts, self.reader)
        except ValueError as err:
            lang = language_of(text)
            return Turn([_say(translator(lang)._("I could not use that: {error}").format(error=err))],
                        state.model_copy(update={"language": lang}))
        v = translator(reading.language, reading.facts.currency)
        if reading.reset:
            return Turn([_say(v.sentences([v._("Starting over."), v._(GREETING)]))], ChatState(language=v.lang))
        kept = {} if reading.changed else {"recommended_price": state.recommended_price, "candidate": state.candidate,
                                           "price_test": state.price_test}
        # new facts: the last recommendation no longer holds
        new = ChatState(facts=reading.facts, language=v.lang, **kept)
        read = (v._("Read from your message: {changed}.").format(changed=changed_words(reading.changed, v))
                if reading.changed else v._("Nothing new in this message."))
        steps = [_step(v._("Facts extracted"), read + "\n\n" + describe_facts(reading.facts, v))]
        if new.facts.missing():
            return Turn(steps + [_say(v._("Before I can price this I need a bit more:") + "\n\n"
                                      + _questions(new.facts, v))], new)
        if reading.question == "elasticity":
            return self._elasticity(new, steps)
        if reading.what_if is not None and not reading.changed:
            return self._what_if(reading.what_if, new, steps)
        if reading.why_not is not None and not reading.changed:
            return self._why_not(reading.why_not, new, steps)
        return self._recommend(new, steps)

    def use_facts(self, facts: MerchantFacts, note: str, language: str = "en") -> Turn:
        """Facts from the form, a demo SKU or a file: show them and recommend (or ask what is missing).
        `note` is in `language`, the conversation's."""
        v = translator(language, facts.currency)
        state = ChatState(facts=facts, language=v.lang)
        steps = [_step(v._("Facts extracted"), f"{note}\n\n" + describe_facts(facts, v))]
        if facts.missing():
            return Turn(steps + [_say(v._("I still need:") + "\n\n" + _questions(facts, v))], state)
        return self._recommend(state, steps)

    def use_context(self, context: PricingContext, source: str, language: str = "en") -> Turn:
        note = translator(language)._("Loaded {source}.").format(source=source)
        return self.use_facts(facts_from_context(context, source), note, language)

    def use_form(self, facts: MerchantFacts, state: ChatState) -> Turn:
        """Facts as the merchant corrected them in the form."""
        return self.use_facts(facts, translator(state.language)._("Using the facts as corrected in the form."),
                              state.language)

    def use_file(self, path: str, state: ChatState) -> Turn:
        """A sales file: re-price on it, first reading out the price test proposed last time, if one was."""
        v = translator(state.language, state.facts.currency)
        try:
            facts = facts_from_history_file(path, state.facts)
        except ValueError as err:
            return Turn([_say(v._("That file did not work: {error}").format(error=err))], state)
        n = len(facts.sales)
        note = v.ngettext("Read {n} sales row from the uploaded file.", "Read {n} sales rows from the uploaded file.",
                          n).format(n=v.num(n, 0))
        turn = self.use_facts(facts, note, state.language)
        test = state.price_test
        if test is not None and facts.unit_cost is not None:
            result = read_price_test(facts.sales, test.current_price, test.test_price, facts.unit_cost,
                                     1 - test.confidence)
            if result.periods_current or result.periods_test:
                turn.messages.insert(1, _say(v._("**Price test result.** {summary}").format(
                    summary=price_test_result(result, v))))
        return turn

    # --- the kinds of answer ----------------------------------------------------------------------

    def _context(self, state: ChatState) -> PricingContext | str:
        try:
            return state.facts.context()
        except ValueError as err:
            return translator(state.language)._("These facts do not fit together: {error}. Correct them in the "
                                                "form and press *Update*.").format(error=err)

    def _recommend(self, state: ChatState, steps: list[dict]) -> Turn:
        v = translator(state.language, state.facts.currency)
        context = self._context(state)
        if isinstance(context, str):
            return Turn(steps + [_say(context)], state)
        try:
            rec = self.service.recommend(context)
        except GuardrailConflict as err:
            return Turn(steps + [_say(v._("Your guardrails leave no possible price: {error}. Relax one of them (in "
                                          "the form or in the chat).").format(error=err))], state)
        box = self.service.toolbox(context) if rec.candidate else None  # the candidates the model chose from
        chart = recommendation_chart(context, rec.evidence, rec.price, toolbox=box, chosen=rec.candidate)
        steps += [_step(v._("Demand fit"), fit_text(rec.evidence, v)),
                  _step(v._("Pricing policy"), policy_text(rec, v)),
                  _step(v._("Guardrails"), guardrail_text(rec, v))]
        state = state.model_copy(update={"recommended_price": rec.price, "candidate": rec.candidate,
                                         "price_test": rec.price_test if rec.gain_uncertain else None})
        return Turn(steps + [_say(answer_text(rec, v)), _chart(chart, v)], state, rec, [str(chart)])

    def _elasticity(self, state: ChatState, steps: list[dict]) -> Turn:
        """"How sensitive are my customers to price?": the evidence's fit, not another recommendation."""
        v = translator(state.language, state.facts.currency)
        context = self._context(state)
        if isinstance(context, str):
            return Turn(steps + [_say(context)], state)
        evidence = compute_evidence(context)
        steps.append(_step(v._("Demand fit"), fit_text(evidence, v)))
        return Turn(steps + [_say(elasticity_text(evidence, v))], state)

    def _what_if(self, price: float, state: ChatState, steps: list[dict]) -> Turn:
        v = translator(state.language, state.facts.currency)
        context = self._context(state)
        if isinstance(context, str):
            return Turn(steps + [_say(context)], state)
        if state.candidate:
            return self._what_if_toolbox(price, context, state, steps)
        evidence = compute_evidence(context)
        point = evidence.point(price)
        if point is None:
            low, high = evidence.search_range
            return Turn(steps + [_say(v._("I have no demand estimate at {price}: the fitted model covers {low}–{high}, "
                                          "and beyond the prices you have tried it would be a guess.").format(
                price=v.money(price), low=v.money(low), high=v.money(high)))], state)
        lines = [v._("At **{price}** the model expects **{units}** units ({low}–{high}) and **{profit}** profit per "
                     "period ({profit_low}–{profit_high}).").format(
            price=v.money(price), units=v.num(point.units, 0), low=v.num(point.units_low, 0),
            high=v.num(point.units_high, 0), profit=v.money(point.profit), profit_low=v.money(point.profit_low),
            profit_high=v.money(point.profit_high))]
        lines += _versus(price, point, evidence.point, context, state, v) + self._guardrail_lines(price, context, v)
        chart = recommendation_chart(context, evidence, state.recommended_price or context.product.current_price,
                                     what_if=price)
        steps.append(_step(v._("Demand fit"), fit_text(evidence, v)))
        return Turn(steps + [_say("\n".join(lines)), _chart(chart, v)], state, charts=[str(chart)])

    def _what_if_toolbox(self, price: float, context: PricingContext, state: ChatState, steps: list[dict]) -> Turn:
        """A what-if after a compact-prompt recommendation: the toolbox's best fit scores the price, the
        same way it scored the candidate the model chose, so the numbers agree with the recommendation's."""
        v = translator(state.language, state.facts.currency)
        box = self.service.toolbox(context)
        point = score_price(box, context, price)
        if point is None:
            low, high = box.supported_range
            return Turn(steps + [_say(v._("I have no demand estimate at {price}: the fitted curves are trusted over "
                                          "{low}–{high}, and beyond the prices you have tried it would be a "
                                          "guess.").format(price=v.money(price), low=v.money(low),
                                                           high=v.money(high)))], state)
        lines = [v._("At **{price}** the model expects **{units}** units and **{profit}** profit per period "
                     "({profit_low}–{profit_high}), under the {family} demand curve that fits best.").format(
            price=v.money(price), units=v.num(point.units, 0), profit=v.money(point.profit),
            profit_low=v.money(point.profit_low), profit_high=v.money(point.profit_high), family=box.best_fit.family)]
        lines += (_versus(price, point, lambda p: score_price(box, context, p), context, state, v)
                  + self._guardrail_lines(price, context, v))
        chart = recommendation_chart(context, compute_evidence(context), state.recommended_price or price,
                                     what_if=price, toolbox=box, chosen=state.candidate)
        fits = v.clauses(v._("{family} fit weight {weight}").format(family=h.family, weight=v.num(h.weight))
                         for h in box.hypotheses)
        steps.append(_step(v._("Demand fit"), v._("{fits}. Scored under the best fit ({family}).").format(
            fits=fits, family=box.best_fit.family)))
        return Turn(steps + [_say("\n".join(lines)), _chart(chart, v)], state, charts=[str(chart)])

    def _guardrail_lines(self, price: float, context: PricingContext, v: Voice) -> list[str]:
        try:
            guarded = self.service.check_price(price, context)
            if guarded.binding:
                return [v._("- Your guardrails would not allow it: {rules} (they would give {price}).").format(
                    rules=v.clauses(rule_detail(b, v) for b in guarded.binding), price=v.money(guarded.price))]
        except GuardrailConflict as err:
            return [v._("- Your guardrails admit no price at all: {error}.").format(error=err)]
        return []

    def _why_not(self, direction: str, state: ChatState, steps: list[dict]) -> Turn:
        v = translator(state.language, state.facts.currency)
        context = self._context(state)
        if isinstance(context, str):
            return Turn(steps + [_say(context)], state)
        if state.recommended_price is None:  # asked before any recommendation: make one, quietly
            try:
                rec = self.service.recommend(context)
                state = state.model_copy(update={"recommended_price": rec.price, "candidate": rec.candidate})
            except GuardrailConflict as err:
                return Turn(steps + [_say(v._("Your guardrails leave no possible price: {error}.").format(
                    error=err))], state)
        price = state.recommended_price
        evidence = compute_evidence(context)
        lower = direction == "lower"
        other = round(price * (0.9 if lower else 1.1), 2)
        lines = []
        try:
            guarded = self.service.check_price(other, context)
            if guarded.binding:
                lines.append((v._("Going lower to {price} hits your guardrails: {rules}.") if lower else
                              v._("Going higher to {price} hits your guardrails: {rules}.")).format(
                    price=v.money(other), rules=v.clauses(rule_detail(b, v) for b in guarded.binding)))
        except GuardrailConflict:
            pass
        here, there = evidence.point(price), evidence.point(other)
        if here is not None and there is not None:
            lines.append((v._("At {price} (10% lower) the model expects {units} units ({units_change}) but {profit} "
                              "profit per period, {profit_change} against {now}.") if lower else
                          v._("At {price} (10% higher) the model expects {units} units ({units_change}) but {profit} "
                              "profit per period, {profit_change} against {now}.")).format(
                price=v.money(other), units=v.num(there.units, 0),
                units_change=v.num(there.units - here.units, 0, sign=True), profit=v.money(there.profit),
                profit_change=v.num(there.profit - here.profit, 2, sign=True), now=v.money(price)))
            if there.profit > here.profit:
                lines.append(v._("By the demand model alone lower would earn more; the recommendation also weighs how "
                                 "uncertain the fit is, how far the price moves from what you have tried, and your "
                                 "guardrails.") if lower else
                             v._("By the demand model alone higher would earn more; the recommendation also weighs "
                                 "how uncertain the fit is, how far the price moves from what you have tried, and "
                                 "your guardrails."))
            else:
                fit = evidence.fit
                if fit is not None:
                    lines.append((v._("With an elasticity of about {e}, the units gained do not make up for the "
                                      "margin lost.") if lower else
                                  v._("With an elasticity of about {e}, the units kept do not make up for the margin "
                                      "given up in volume.")).format(e=v.num(fit.elasticity, 1)))
        elif not lines:
            low, high = evidence.search_range
            lines.append(v._("I cannot compare: {price} is outside the prices the evidence covers "
                             "({low}–{high}).").format(price=v.money(other), low=v.money(low), high=v.money(high)))
        return Turn(steps + [_say(v.sentences(lines))], state)
