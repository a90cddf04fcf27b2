"""The chat's answer texts, in the merchant's language (`ui.i18n`): every text is a marked msgid, every number
comes from the evidence, the recommendation or the facts and is formatted for the locale.

Some sentences are written by the layers below in English for the API and the CLI: a guardrail's detail,
the plain words for an uncertain gain, a price test's plan and its read-out. In English the chat passes them
on unchanged (one wording at every door); in another language it writes them here from the same fields
(`own=True` renders the English msgids, which tests/ui/test_locale.py compares with the agent's words, so a
change there shows up as a stale translation here).
"""

from __future__ import annotations

import re

from agent.evidence import PRIOR_ELASTICITY, Evidence
from agent.guardrails import BindingRule
from agent.price_test import PriceTest, PriceTestResult
from agent.recommend import Recommendation, uncertain_words
from env.context import DEFAULT_MAX_CHANGE
from ui.facts import MerchantFacts
from ui.i18n import N_, Voice

FOLLOW_UPS = N_("You can ask: *what if I charge {example}?* · *why not lower?* · *set my floor margin to 30%*.")


def follow_ups(price: float, v: Voice) -> str:
    """What the merchant can ask next, with a what-if price 10% above `price` in the merchant's own currency
    and locale, so the example can be sent back as it is written ("what if I charge €13.00?")."""
    example = round(price * 1.1) if price >= 20 else round(price * 1.1, 1)
    return v._(FOLLOW_UPS).format(example=v.money(example))

# texts the agent writes that the chat shows as they are in English: fixed words, translated by their msgid
AGENT_TEXTS = (
    N_("high"), N_("medium"), N_("low"),  # Recommendation.confidence
    N_("Bayesian log-linear least squares, prior N(-2.0, 1.5^2) on the elasticity"),  # DemandFit.method
    N_("elasticity not identified: prior used"), N_("no usable history"),  # Recommendation.flags
    N_("gain uncertain: the 90% band of the expected profit change holds zero"),
    N_("no demand estimate at this price: it lies outside the range the evidence covers"),
    N_("model reason dropped: it quoted numbers that are not in the evidence"),
)
# what `ui.facts.read_message` says it read (Reading.changed)
CHANGED = (N_("everything (start over)"), N_("unit cost"), N_("competitor price"), N_("current price"),
           N_("minimum price"), N_("maximum price"), N_("margin floor"), N_("max change"), N_("product name"))
_SALES_CHANGED = re.compile(r"(\d+) sales observations?")
# each guardrail by its rule id, for languages other than the agent's English (`BindingRule.detail`)
RULES = {
    "invalid_proposal": N_("the proposal was not a usable price, so the current price was kept"),
    "min_price": N_("not below your minimum price"),
    "max_price": N_("not above your maximum price"),
    "map_price": N_("not below the minimum advertised price"),
    "min_margin": N_("keeps your margin floor over the unit cost"),
    "default_floor": N_("no floor is set, so not below the unit cost"),
    "default_ceiling": N_("no maximum price is set, so not far above the highest price seen"),
    "max_change": N_("your largest change per period"),
    "default_max_change": N_("no max change is set, so the default largest change per period"),
    "price_ending": N_("the price ending you asked for"),
}


# the evidence's notes by kind (`agent.evidence_notes.NOTE_TEXTS`: the same English, a test compares them); the
# elasticity's note is never a flag (the flag "elasticity not identified: prior used" says it)
NOTES = {
    "no_history": N_("no usable sales history: demand cannot be estimated, so no profit curve"),
    "markdown": N_("nothing sold at any price tried although there was stock: the next price to try is {price}"),
    "choke": N_("nothing sold at {price} although there was stock: prices stay below it"),
    "top_edge": N_("profit still rises at {price}, {distance} the highest price tried ({seen}): the model does not "
                   "extrapolate further, so try this price and let the sales decide"),
    "bottom_edge": N_("profit still rises towards {price}, {distance} the lowest price tried ({seen}): the model "
                      "does not extrapolate further"),
    "inelastic": N_("profit still rises at the top of the searched range: demand looks inelastic here"),
    "stock": N_("stock on hand ({stock}) is below the expected demand at the model-optimal price: a higher price "
                "may sell the same units"),
}


def note_words(kind: str, values: dict, v: Voice) -> str | None:
    """An evidence note in `v`'s language from its parts (`Evidence.note_parts`), None for a kind not here."""
    if kind not in NOTES:
        return None
    change = values.get("distance", 0.0)
    distance = (v._("{pct} above") if change >= 0 else v._("{pct} below")).format(pct=v.pct(abs(change) / 100))
    words = {"price": v.money(values.get("price")), "seen": v.money(values.get("seen")), "distance": distance,
             "stock": v.num(values.get("stock", 0.0), 0)}
    return v._(NOTES[kind]).format(**words)  # a template leaves out the words it does not name


def _flag_words(flag: str, rec: Recommendation, v: Voice) -> str:
    """A recommendation's flag in `v`'s language: a note from its parts, other flags by their msgid."""
    if flag.startswith("note: ") and not v.is_source:
        for (kind, values), text in zip(rec.evidence.note_parts(), rec.evidence.notes, strict=False):
            if flag == f"note: {text}" and (words := note_words(kind, values, v)) is not None:
                return v._("note: {note}").format(note=words)
    return v._(flag)


def changed_words(changed: list[str], v: Voice) -> str:
    """`Reading.changed` ("unit cost", "2 sales observations") in the merchant's language."""
    out = []
    for label in changed:
        m = _SALES_CHANGED.fullmatch(label)
        n = int(m[1]) if m else 0
        out.append(v.ngettext("{n} sales observation", "{n} sales observations", n).format(n=n) if m
                   else v._(label))
    return v.items(out)


def describe_facts(facts: MerchantFacts, v: Voice) -> str:
    """The facts as the merchant can check them, marking what is still unknown."""
    unknown = v._("unknown")
    source = v._("chat") if facts.source == "chat" else facts.source
    rows = [v._("- product: {name} — from {source}").format(name=facts.name or v._("(unnamed)"), source=source),
            v._("- unit cost: {cost}").format(cost=v.money(facts.unit_cost) if facts.unit_cost is not None
                                              else unknown),
            v._("- price now: {price}").format(price=v.money(facts.price_now()) if facts.price_now() else unknown)]
    if facts.sales:
        shown = facts.sales[-6:]
        sales = v.clauses(v._("{units} at {price}").format(units=v.num(s.units, 0), price=v.money(s.price))
                          for s in shown)
        if len(facts.sales) > len(shown):
            rows.append(v._("- sales (last {shown} of {total}): {sales}").format(
                shown=len(shown), total=len(facts.sales), sales=sales))
        else:
            rows.append(v._("- sales: {sales}").format(sales=sales))
    else:
        rows.append(v._("- sales: none yet"))
    if facts.competitor_price is not None:
        rows.append(v._("- competitor: {price}").format(price=v.money(facts.competitor_price)))
    rules = [v._("min {price}").format(price=v.money(facts.min_price)) if facts.min_price else "",
             v._("max {price}").format(price=v.money(facts.max_price)) if facts.max_price else "",
             v._("margin floor {pct}").format(pct=v.pct(facts.min_margin)) if facts.min_margin is not None else "",
             v._("max change {pct}").format(pct=v.pct(facts.max_change)) if facts.max_change is not None else ""]
    rules = [r for r in rules if r]
    default = ("" if facts.max_change is not None else
               v._(" (default: at most {pct} change per period)").format(pct=v.pct(DEFAULT_MAX_CHANGE)))
    rows.append(v._("- guardrails: {rules}{default}").format(rules=v.items(rules) if rules else v._("none set"),
                                                             default=default))
    return "\n".join(rows)


# --- the agent's sentences, in the merchant's language ------------------------------------------------


def rule_words(b: BindingRule, v: Voice) -> str:
    """A guardrail's effect: the agent's own words in English, else the rule's name and its numbers."""
    if v.is_source:
        return b.words()
    name = v._(RULES[b.rule]) if b.rule in RULES else b.rule
    if b.held:
        return v._("{rule} (holds the price at its bound {bound})").format(rule=name, bound=v.num(b.after))
    return v._("{rule} ({before} → {after})").format(rule=name, before=v.num(b.before), after=v.num(b.after))


def rule_detail(b: BindingRule, v: Voice) -> str:
    """What a rule demands, without the prices it moved between."""
    return b.detail if v.is_source else v._(RULES[b.rule]) if b.rule in RULES else b.rule


def uncertain_text(rec: Recommendation, v: Voice, own: bool = False) -> str:
    """Why a gain inside its 90% band is not worth the move, and the safer choice (`agent.recommend`'s words)."""
    if v.is_source and not own:
        return uncertain_words(rec, plan=False)
    change = rec.expected_profit_change
    numbers = dict(change=v.num(change, 2, sign=True), low=v.num(rec.expected_profit_change_low, 2, sign=True),
                   high=v.num(rec.expected_profit_change_high, 2, sign=True), price=v.num(rec.price),
                   now=v.num(rec.previous_price))
    text = (v._("The expected gain, {change} per period, is inside its 90% band ({low} to {high}): the sales so "
                "far cannot tell whether {price} earns more than {now}.") if change >= 0 else
            v._("The expected change in profit, {change} per period, is inside its 90% band ({low} to {high}): "
                "the sales so far cannot tell whether {price} earns more than {now}.")).format(**numbers)
    test = rec.price_test is not None and rec.price_test.feasible
    if rec.smaller_step is not None:
        safer = (v._("Safer: a smaller step to {step}, or hold {now} and test {price} against it.") if test else
                 v._("Safer: a smaller step to {step}, or hold {now}."))
    else:
        safer = v._("Safer: hold {now} and test {price} against it.") if test else v._("Safer: hold {now}.")
    step = v.num(rec.smaller_step) if rec.smaller_step is not None else ""
    return v.sentences([text, safer.format(step=step, **numbers)])


def price_test_plan(test: PriceTest, v: Voice, own: bool = False) -> str:
    """The price test's design (`agent.price_test.design_price_test`'s plan)."""
    if v.is_source and not own:
        return test.plan
    n = test.periods_per_arm
    numbers = dict(current=v.num(test.current_price), test=v.num(test.test_price), n=v.num(n, 0),
                   total=v.num(2 * n, 0), delta=v.num(test.expected_difference, 2, sign=True),
                   sd_current=v.num(test.sd_current), sd_test=v.num(test.sd_test),
                   units_current=v.num(n * test.expected_units_current, 0),
                   units_test=v.num(n * test.expected_units_test, 0),
                   confidence=v.pct(test.confidence), power=v.pct(test.power))
    if test.feasible:
        return v._("Alternate the two prices period by period ({current}, {test}, {current}, ...) for {total} "
                   "periods, {n} at each (about {units_current} and {units_test} units). That tells an expected "
                   "difference of {delta} profit per period apart from the noise in your sales (a per-period "
                   "spread of about {sd_current} and {sd_test}) with {confidence} confidence and {power} power. "
                   "Then upload the new sales: I will say which price won and by how much, with an "
                   "interval.").format(**numbers)
    return v._("The expected difference ({delta} profit per period) is small against the noise in your sales (a "
               "per-period spread of about {sd_current}): telling it apart with {confidence} confidence and "
               "{power} power would take {n} periods at each price ({total} in all), longer than a test is worth. "
               "Move in small steps instead and let each period's sales sharpen the estimate.").format(**numbers)


def price_test_result(result: PriceTestResult, v: Voice, own: bool = False) -> str:
    """What the uploaded sales say about the test (`agent.price_test.read_price_test`'s summary)."""
    if v.is_source and not own:
        return result.summary
    numbers = dict(current=v.num(result.current_price), test=v.num(result.test_price), a=result.periods_current,
                   b=result.periods_test)
    if result.difference is None or result.low is None or result.high is None:
        return v._("Not enough periods yet: {a} at {current} and {b} at {test}; at least 2 at each price are "
                   "needed for an interval.").format(**numbers)
    interval = v._("{diff} profit per period ({confidence} interval {low} to {high})").format(
        diff=v.num(result.difference, 2, sign=True), confidence=v.pct(result.confidence),
        low=v.num(result.low, 2, sign=True), high=v.num(result.high, 2, sign=True))
    if result.winner is None:
        return v._("No clear winner yet: {test} earned {interval} against {current}, over {b} and {a} periods; the "
                   "interval holds zero, so keep testing or hold {current}.").format(interval=interval, **numbers)
    loser = result.current_price if result.winner == result.test_price else result.test_price
    return v._("{winner} won: {diff} more profit per period than {loser} ({test} vs {current}: {interval}; {b} "
               "and {a} periods).").format(winner=v.num(result.winner), diff=v.num(abs(result.difference)),
                                           loser=v.num(loser), interval=interval, **numbers)


# --- the chat's own answers ------------------------------------------------------------------------------


def fit_text(evidence: Evidence, v: Voice) -> str:
    fit = evidence.fit
    if fit is None:
        return v._("No usable sales yet: demand could not be estimated.")
    text = v._("Elasticity {e} (90% range {low} to {high}) from {n} periods, {method}; {how}.").format(
        e=v.num(fit.elasticity), low=v.num(fit.elasticity_low), high=v.num(fit.elasticity_high),
        n=fit.observations, method=v._(fit.method),
        how=v._("identified from the price changes") if fit.identified else
        v._("not identified, leaning on the prior"))
    if evidence.model_optimal_price is not None:
        text = v.sentences([text, v._("The demand model alone would charge {price}.").format(
            price=v.money(evidence.model_optimal_price))])
    return text


def answer_text(rec: Recommendation, v: Voice) -> str:
    """The recommendation: price, expected units and profit with their bands, evidence, guardrails, confidence."""
    ev = rec.evidence
    lines = [v._("**Recommended price: {price}** (now {now}, {change}%).").format(
        price=v.money(rec.price), now=v.money(rec.previous_price), change=v.num(rec.change_pct, 1, sign=True))]
    if rec.expected_units is not None:
        now = ev.at_current
        units = dict(units=v.num(rec.expected_units, 0), low=v.num(rec.expected_units_low, 0),
                     high=v.num(rec.expected_units_high, 0))
        lines.append(v._("- Expected units: **{units}** per period ({low}–{high}), against {now} at the current "
                         "price.").format(now=v.num(now.units, 0), **units) if now is not None else
                     v._("- Expected units: **{units}** per period ({low}–{high}).").format(**units))
        profit = dict(profit=v.money(rec.expected_profit), low=v.money(rec.expected_profit_low),
                      high=v.money(rec.expected_profit_high))
        change = rec.expected_profit_change
        lines.append(v._("- Expected profit: **{profit}** per period ({low}–{high}), {change} vs keeping "
                         "{now}.").format(change=v.num(change, 2, sign=True), now=v.money(rec.previous_price),
                                          **profit) if change is not None else
                     v._("- Expected profit: **{profit}** per period ({low}–{high}).").format(**profit))
    fit = ev.fit
    if fit is not None:
        lines.append(v._("- Evidence: a 1% higher price loses about {loss}% of units (elasticity {e}, {how}).").format(
            loss=v.num(abs(fit.elasticity), 1), e=v.num(fit.elasticity),
            how=v._("well identified") if fit.identified else v._("uncertain")))
    if ev.competitor_price is not None and ev.competitor_gap_pct is not None:
        gap = dict(price=v.money(ev.competitor_price), gap=v.num(abs(ev.competitor_gap_pct), 1))
        lines.append((v._("- Competitor at {price}: you are now {gap}% above it.") if ev.competitor_gap_pct > 0 else
                      v._("- Competitor at {price}: you are now {gap}% below it.")).format(**gap))
    if rec.binding_rules:
        lines.append(v._("- Guardrails: {rules}.").format(rules=v.clauses(rule_words(b, v)
                                                                          for b in rec.binding_rules)))
    else:
        lines.append(v._("- Guardrails: none bound the price."))
    if rec.gain_uncertain:
        lines.append(v._("- **Uncertain gain.** {words}").format(words=uncertain_text(rec, v)))
        if rec.price_test is not None:
            lines.append(v._("- **Price test.** {plan}").format(plan=price_test_plan(rec.price_test, v)))
    lines.append(v._("- Confidence: {confidence}.").format(confidence=v._(rec.confidence)))
    lines += ["", follow_ups(rec.price, v)]
    return "\n".join(lines)


def policy_text(rec: Recommendation, v: Voice) -> str:
    who = rec.policy + (f" ({rec.model_id}" + (f" + {rec.adapter_id}" if rec.adapter_id else "") + ")"
                        if rec.model_id else "")
    parts = [v._("{who} proposed {price} in {ms} ms.").format(who=who, price=v.money(rec.proposed_price),
                                                             ms=v.num(rec.latency_ms, 0))]
    if rec.candidate:
        parts.append(v._("It chose the toolbox's `{candidate}` candidate (the chart draws every "
                         "hypothesis).").format(candidate=rec.candidate))
    if rec.model_reason:
        parts.append(v._("Its reason: \"{reason}\"").format(reason=rec.model_reason))
    if rec.flags:
        parts.append(v._("Flags: {flags}.").format(flags=v.clauses(_flag_words(f, rec, v) for f in rec.flags)))
    return v.sentences(parts)


def guardrail_text(rec: Recommendation, v: Voice) -> str:
    if not rec.binding_rules:
        return v._("No rule bound the price: {price} stands.").format(price=v.money(rec.proposed_price))
    return "\n".join(f"- {b.rule}: {rule_words(b, v)}" for b in rec.binding_rules)


def elasticity_text(evidence: Evidence, v: Voice) -> str:
    """How sensitive the customers are to price: the fitted elasticity with its 90% range, what a 1% rise
    does to units (the elasticity itself, in percent), and whether the sales pin it down."""
    fit = evidence.fit
    if fit is None:
        return v._("No usable sales yet: demand could not be estimated.")
    e = fit.elasticity
    lines = [v._("**Price sensitivity: elasticity {e}** (90% range {low} to {high}), fitted on {n} periods of your "
                 "sales.").format(e=v.num(e), low=v.num(fit.elasticity_low), high=v.num(fit.elasticity_high),
                                  n=fit.observations),
             v._("- A 1% higher price changes units sold by about **{change}%** (90% range {low}% to "
                 "{high}%).").format(change=v.num(e, 1, sign=True), low=v.num(fit.elasticity_low, 1, sign=True),
                                     high=v.num(fit.elasticity_high, 1, sign=True))]
    if e < -1:
        lines.append(v._("- Demand is elastic: a price rise loses more in units than it adds per unit, so revenue "
                         "falls (profit can still rise, since every unit sold also costs you)."))
    elif e <= 0:
        lines.append(v._("- Demand is inelastic: a price rise loses fewer units than it adds per unit, so revenue "
                         "rises."))
    else:
        lines.append(v._("- The fit has units rising with price: something else probably changed at the same "
                         "time (season, promotion, stock), so read it with care."))
    if fit.identified:
        lines.append(v._("- Well identified: your price changes pin it down."))
    else:
        lines.append(v._("- Not well identified: your prices varied too little, so the estimate leans on the prior "
                         "elasticity {prior} of a typical product. A price test would pin it down.").format(
                             prior=v.num(PRIOR_ELASTICITY, 1)))
    lo, hi = evidence.search_range
    lines += ["", follow_ups(evidence.at_current.price if evidence.at_current else (lo + hi) / 2, v)]
    return "\n".join(lines)
