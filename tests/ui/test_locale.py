"""The chat answers in the merchant's language (issue 16): a Chinese message gets a Chinese answer from the
gettext catalog, numbers formatted by Babel for the locale; English stays as it was; the catalog covers every
marked text and nothing else."""

import re
import string
from decimal import Decimal

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from babel.numbers import format_currency, format_decimal

from agent.evidence import compute_evidence
from agent.policy import EvidencePolicy
from agent.price_test import design_price_test, read_price_test
from agent.service import PricingService
from ui.answers import price_test_plan, price_test_result, uncertain_text
from ui.assistant import Assistant, ChatState
from ui.facts import MerchantFacts, Sale, read_message
from ui.i18n import LOCALES, LOCALES_DIR, po_path, translator
from ui.message import currency_of

MUG = ("I sell a ceramic mug, it costs me $4, I sold 120 at $12 last week and 90 at $14 this week, "
       "my competitor is at $13.50 — what should I charge?")
MUG_ZH = "我卖陶瓷杯，成本4元，上周以12元卖了120个，这周以14元卖了90个，竞争对手卖13.5元，我该定什么价？"
ELASTICITY = "how sensitive are my customers to price?"
ELASTICITY_ZH = "我的顾客对价格有多敏感？"
CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture
def assistant() -> Assistant:
    return Assistant(PricingService(EvidencePolicy()))


def texts(turn) -> str:
    return "\n".join(m["content"] for m in turn.messages if isinstance(m["content"], str))


def zh_number(x: float, digits: int = 2) -> str:
    """`x` as Babel writes it for zh_CN, rounded as Python rounds."""
    return format_decimal(Decimal(f"{x:.{digits}f}"), format="#,##0" + ("." + "0" * digits if digits else ""),
                          locale="zh_CN")


def zh_yuan(x: float) -> str:
    """`x` yuan as Babel writes money for zh_CN ("¥1,150.00"), rounded as Python rounds."""
    return format_currency(Decimal(f"{x:.2f}"), "CNY", locale="zh_CN")


def test_a_chinese_message_gets_a_chinese_answer(assistant):
    turn = assistant.respond(MUG_ZH, ChatState())
    rec, text, zh = turn.recommendation, texts(turn), translator("zh")
    assert rec is not None and turn.state.language == "zh"
    # the same price as the English message gets: the language changes the words, never the numbers
    assert rec.price == pytest.approx(assistant.respond(MUG, ChatState()).recommendation.price)
    answer = turn.messages[-2]["content"]
    assert len(CJK.findall(answer)) > 50
    assert f"**建议价格：{zh_yuan(rec.price)}**" in answer  # the catalog's words, Babel's money in the message's 元
    assert f"每期 **{zh_number(rec.expected_units, 0)}** 件" in answer
    assert zh_yuan(rec.expected_profit_high) in answer
    assert "预计利润" in answer and "置信度：低" in answer and "价格护栏" in answer
    assert "Recommended" not in text and "Expected" not in text and "$" not in answer
    titles = [m.get("metadata", {}).get("title") for m in turn.messages]
    assert titles[:4] == ["提取的信息", "需求拟合", "定价策略", "价格护栏"]
    assert "单位成本：¥4.00" in text and "以 ¥12.00 卖出 120 件；以 ¥14.00 卖出 90 件" in text
    assert zh.items(["单位成本", "竞争对手价格"]) in text  # Chinese lists take "、"
    assert turn.messages[-1]["content"]["alt_text"] == "销售记录、需求和利润曲线"


def test_an_english_message_stays_english(assistant):
    turn = assistant.respond(MUG, ChatState())
    text = texts(turn)
    assert turn.state.language == "en" and not CJK.search(text)
    assert f"**Recommended price: ${turn.recommendation.price:,.2f}**" in text
    titles = [m.get("metadata", {}).get("title") for m in turn.messages]
    assert titles[:4] == ["Facts extracted", "Demand fit", "Pricing policy", "Guardrails"]


def test_the_language_follows_the_latest_message_and_other_turns_keep_it(assistant, tmp_path):
    first = assistant.respond(MUG_ZH, ChatState())
    what_if = assistant.respond("如果我卖15元呢？", first.state)
    assert "定价 **¥15.00** 时" in texts(what_if) and what_if.recommendation is None
    assert re.search(r"每期利润 [+-]¥\d", texts(what_if))  # a change in profit is money too
    why = assistant.respond("为什么不更低？", first.state)
    assert "低 10%" in texts(why) and not re.search(r"[A-Za-z]{4,}", why.messages[-1]["content"])
    path = tmp_path / "sales.tsv"
    path.write_text("price\tunits\n14\t90\n12\t120\n14\t88\n")
    upload = assistant.use_file(str(path), first.state)  # an upload is not a message: the conversation's language
    assert "从上传的文件中读到 3 条销售记录。" in texts(upload) and "建议价格" in texts(upload)
    refused = assistant.respond("利润率150%", first.state)  # not usable: still answered in Chinese
    assert refused.messages[0]["content"].startswith("我无法使用这条信息：") and refused.state.language == "zh"
    assert assistant.respond("", ChatState(language="zh")).messages[0]["content"].startswith("告诉我你的产品")
    english = assistant.respond("what if I charge $15?", first.state)
    assert english.state.language == "en" and "At **$15.00** the model expects" in texts(english)
    assert "重新开始。" in texts(assistant.respond("重新开始", first.state))


@pytest.mark.parametrize(("lang", "follow_up"), [("en", ELASTICITY), ("zh", ELASTICITY_ZH)])
def test_how_sensitive_are_my_customers_answers_the_elasticity(assistant, lang, follow_up):
    first = assistant.respond(MUG if lang == "en" else MUG_ZH, ChatState())
    turn = assistant.respond(follow_up, first.state)
    fit = compute_evidence(first.state.facts.context()).fit
    answer = turn.messages[-1]["content"]
    v = translator(lang)
    assert turn.recommendation is None and turn.state.recommended_price == first.state.recommended_price
    assert turn.state.language == lang
    for x in (fit.elasticity, fit.elasticity_low, fit.elasticity_high):
        assert v.num(x) in answer  # the elasticity and its 90% range, from the evidence's fit
    assert f"**{v.num(fit.elasticity, 1, sign=True)}%**" in answer  # what a 1% price rise does to units
    if lang == "en":
        assert "**Price sensitivity: elasticity" in answer and "1% higher price changes units sold" in answer
        assert "Not well identified" in answer and "Recommended price" not in texts(turn)
        assert "What does one unit cost you" not in texts(turn)  # the cost is known: no question
    else:
        assert "**价格敏感度：弹性" in answer and "价格每提高 1%" in answer and "识别不充分" in answer
        assert "建议价格" not in texts(turn)


@pytest.mark.parametrize(("follow_up", "question"), [(ELASTICITY, "What does one unit cost you"),
                                                     (ELASTICITY_ZH, "每件的成本是多少")])
def test_how_sensitive_without_the_facts_asks_for_them(assistant, follow_up, question):
    turn = assistant.respond(follow_up, ChatState())
    assert turn.recommendation is None and question in texts(turn)


def test_a_well_identified_elasticity_says_so(assistant):
    sales = [Sale(price=p, units=round(2000 * p ** -1.5)) for p in (10, 11, 12, 10.5, 11.5, 12.5, 10, 11, 12, 13)]
    state = ChatState(facts=MerchantFacts(unit_cost=4.0, sales=sales))
    turn = assistant.respond(ELASTICITY, state)
    assert "- Well identified: your price changes pin it down." in texts(turn)
    assert "- 识别充分" in texts(assistant.respond(ELASTICITY_ZH, state))


# --- the catalog: every marked text translated, nothing left over ------------------------------------------


def _po(lang: str):
    with po_path(lang).open("rb") as f:
        return read_po(f)


def _names(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def _marked() -> set[tuple[str | None, str]]:
    """(context, msgid) of every text marked in ui/, as Babel's extractor finds them (N_ included)."""
    out = set()
    for _, _, message, _, context in extract_from_dir(LOCALES_DIR.parent):
        out.add((context, message if isinstance(message, str) else message[0]))
    return out


@pytest.mark.parametrize("lang", [lang for lang in LOCALES if lang != "en"])
def test_the_catalog_translates_every_marked_text_and_only_those(lang):
    catalog = _po(lang)
    entries = {(m.context, m.id if isinstance(m.id, str) else m.id[0]): m for m in catalog if m.id}
    marked = _marked()
    assert len(marked) > 100
    assert not marked - set(entries), "marked in the code but not in the catalog (run pybabel update)"
    assert not set(entries) - marked, "in the catalog but no longer used in the code"
    assert not list(catalog.obsolete)
    for (_, msgid), m in entries.items():
        strings = [m.string] if isinstance(m.string, str) else list(m.string)
        ids = [m.id] if isinstance(m.id, str) else list(m.id)
        assert all(strings) and not m.fuzzy, f"untranslated: {msgid!r}"
        for s in strings:  # a lost or misspelt placeholder would raise KeyError (or drop a number) in the chat
            assert _names(s) == _names(ids[-1]), f"{msgid!r} -> {s!r}"
        if CJK.search(msgid) is None and re.search(r"[A-Za-z]{3,}", re.sub(r"\{\w+\}", "", msgid)):
            assert all(CJK.search(s) for s in strings), f"not translated into Chinese: {msgid!r} -> {strings}"


def test_no_compiled_catalog_to_fall_out_of_date():
    """The .po is compiled in memory when first used: no .mo is shipped that could disagree with it."""
    assert not list(LOCALES_DIR.rglob("*.mo"))
    assert translator("zh")._("Facts extracted") == "提取的信息"
    assert translator("fr") == translator("en")  # a language without a catalog speaks English


# --- numbers and the agent's own sentences --------------------------------------------------------------------


@pytest.mark.parametrize("x", [0.0, -0.001, 2.675, 1234.5, -98765.4321, 0.005, 1e7 / 3, 12.345])
def test_english_numbers_read_exactly_as_python_wrote_them(x):
    en = translator("en")
    assert en.num(x) == f"{x:,.2f}" and en.num(x, 0) == f"{x:,.0f}" and en.num(x, 1, sign=True) == f"{x:+,.1f}"
    assert en.money(x) == f"${x:,.2f}" and en.pct(x / 1000) == f"{x / 1000:.0%}"
    assert translator("zh").money(x) == zh_number(x)  # no currency written: no symbol in Chinese


@pytest.mark.parametrize(("lang", "currency", "written"), [
    ("en", "USD", "$1,150.50"), ("en", "EUR", "€1,150.50"), ("en", "GBP", "£1,150.50"), ("en", "CNY", "CN¥1,150.50"),
    ("zh", "USD", "US$1,150.50"), ("zh", "EUR", "€1,150.50"), ("zh", "CNY", "¥1,150.50")])
def test_money_is_written_in_the_merchants_currency_the_locales_way(lang, currency, written):
    v = translator(lang, currency)
    assert v.money(1150.499) == written and v.money(-1150.499) == "-" + written and v.money(None) == "—"
    assert v.money(1150.499, sign=True) == "+" + written and v.money(-1150.499, sign=True) == "-" + written


@pytest.mark.parametrize(("message", "code"), [
    ("it costs me $4", "USD"), ("costs us 4 dollars", "USD"), ("USD 9.99 each", "USD"), ("my cost is 12,50 €", "EUR"),
    ("EUR 13,50", "EUR"), ("they cost me £3.20", "GBP"), ("成本4元", "CNY"), ("目前售价RMB 99", "CNY"),
    ("进价¥88", "CNY"),
    ("sold 120 at 12 last week", None), ("利润率30%", None)])
def test_the_currency_a_message_writes(message, code):
    assert currency_of(message) == code


def test_an_english_message_in_euros_is_answered_in_euros(assistant):
    turn = assistant.respond(MUG.replace("$", "€"), ChatState())
    assert turn.state.facts.currency == "EUR"
    assert f"**Recommended price: €{turn.recommendation.price:,.2f}**" in texts(turn)
    assert not re.search(r"\$\d", texts(turn))


def test_the_chinese_rendering_of_the_agents_sentences_matches_their_english():
    """`ui.answers` writes the agent's sentences anew for other languages; its English msgids must still say
    what the agent says, or the translations describe words the agent no longer writes."""
    en = translator("en")
    facts = read_message(MUG, MerchantFacts()).facts
    rec = Assistant(PricingService(EvidencePolicy())).respond(MUG, ChatState()).recommendation
    assert rec.gain_uncertain and rec.price_test is not None and not rec.price_test.feasible
    from agent.recommend import uncertain_words

    assert uncertain_text(rec, en, own=True) == uncertain_words(rec, plan=False)
    assert price_test_plan(rec.price_test, en, own=True) == rec.price_test.plan
    sales = [Sale(price=p, units=round(2000 * p ** -1.5 * (1 + 0.01 * ((i * 7) % 5 - 2))))
             for i, p in enumerate([10, 11, 12, 10.5, 11.5, 12.5, 10, 11, 12, 13, 10, 11])]
    context = MerchantFacts(unit_cost=4.0, sales=sales).context()
    feasible = design_price_test(context, compute_evidence(context), 8.0)
    assert feasible is not None and feasible.feasible
    assert price_test_plan(feasible, en, own=True) == feasible.plan
    assert CJK.search(price_test_plan(feasible, translator("zh")))
    cost = facts.unit_cost
    for rows in ([(14, 90), (12, 120)],  # too few periods
                 [(14, 90), (12, 118), (14, 92), (12, 121), (14, 88), (12, 119)],  # a winner
                 [(14, 90), (12, 80), (14, 60), (12, 140), (14, 120), (12, 100)]):  # no clear winner
        result = read_price_test(rows, 14.0, 12.0, cost)
        assert price_test_result(result, en, own=True) == result.summary
        assert CJK.search(price_test_result(result, translator("zh")))


def test_the_evidences_notes_are_written_in_the_merchants_language(assistant):
    """A note of the evidence ("profit still rises towards ...") reaches a Chinese merchant in Chinese, with the
    locale's money; the chat's templates are the agent's own English, kind by kind."""
    from agent.evidence_notes import NOTE_TEXTS
    from ui.answers import NOTES, note_words

    assert all(NOTES[kind] == NOTE_TEXTS[kind] for kind in NOTES) and set(NOTE_TEXTS) - set(NOTES) == {"elasticity"}
    turn = assistant.respond(MUG_ZH, ChatState())
    parts = turn.recommendation.evidence.note_parts()
    assert [kind for kind, _ in parts] == ["bottom_edge", "elasticity"]  # the optimum sits below the prices tried
    policy = next(m["content"] for m in turn.messages if m.get("metadata", {}).get("title") == "定价策略")
    assert "提示：利润朝 ¥" in policy and "比试过的最低价（¥12.00）低 23%" in policy
    assert not re.search(r"[A-Za-z]{5,}", policy.replace("evidence", ""))  # the policy's name stays a name
    kind, values = parts[0]
    english = translator("en")
    assert note_words(kind, values, english) == NOTE_TEXTS[kind].format(
        price=english.money(values["price"]), distance="23% below", seen=english.money(values["seen"]))
    assert "profit still rises towards" in texts(assistant.respond(MUG, ChatState()))  # English: the agent's text


@pytest.mark.parametrize(("lang", "currency"), [("en", "EUR"), ("en", None), ("zh", "CNY"), ("zh", "USD")])
def test_the_follow_up_example_is_in_the_merchants_money_and_reads_back_as_a_what_if(lang, currency):
    from ui.answers import follow_ups
    from ui.message import extract

    text = follow_ups(12.0, translator(lang, currency))
    example = re.search(r"\*([^*]*\d[^*]*)\*", text)[1]  # the what-if question, as the answer writes it
    assert "$…" not in text and (CJK.search(text) is not None) == (lang == "zh")
    if currency is not None:
        assert currency_of(example) == currency
    asked = extract(example)
    assert asked.question == "what_if" and asked.what_if == pytest.approx(13.2)
