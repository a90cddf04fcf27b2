"""The LLM message reader's checks: the copy format round-trips, nothing it writes becomes a fact unless the
message contains it, the matcher fills in, and the chat falls back to the matcher without the model."""

from __future__ import annotations

import math

import pytest

from agent.reader_format import NOTHING, parse_answer, render_answer
from finetune.message_data import build_messages
from finetune.message_reader import answer_for
from ui.facts import MerchantFacts, read_message
from ui.message import Extraction, extract
from ui.message_reader import MessageReader, combine, from_answer, merged
from ui.message_text import amount_value


def _close(a: float | None, b: float | None) -> bool:
    return (a is None and b is None) or (a is not None and b is not None and math.isclose(a, b, abs_tol=1e-6))


@pytest.mark.parametrize("split", ["train", "heldout"])
def test_gold_answers_read_back_to_the_gold_facts(split):
    """The training target of every message, read as the chat reads a model's answer, gives its gold facts:
    the format, the amount reader and the grounding agree on every dialect the generator writes."""
    records = [r for r in build_messages(n_train=300, n_heldout=300, seed=3) if r.split == split]
    for rec in records:
        ex = from_answer(answer_for(rec), rec.message)
        gold = rec.facts
        assert ex.dropped == [], rec.message
        for key in ("unit_cost", "current_price", "competitor_price", "min_price", "max_price", "min_margin",
                    "max_change"):
            assert _close(getattr(ex, key), getattr(gold, key)), (key, rec.message)
        assert _close(ex.what_if, gold.what_if_price), rec.message
        assert [(u, p) for u, p in ex.sales] == [(s.units, s.price) for s in gold.sales], rec.message
        assert ex.question == gold.question
        assert (ex.name or "").casefold() == (gold.name or "").casefold()


def test_render_and_parse_are_inverse_and_skip_junk():
    answer = render_answer({"unit_cost": "12,50 €", "min_margin": "30%"}, [("1.200", "€15")], "price")
    assert parse_answer(answer + "\nnonsense line\nsale: 12\nquestion: dance") == (
        {"unit_cost": "12,50 €", "min_margin": "30%"}, [("1.200", "€15")], "price")
    assert render_answer({}, [], None) == NOTHING
    assert parse_answer(NOTHING) == ({}, [], None)


def test_a_number_the_message_does_not_contain_is_dropped():
    text = "I sell a mug, it costs me $4, sold 120 at $12 last week."
    ex = from_answer("name: mug\nunit_cost: $5\nsale: 120 @ $12\nsale: 90 @ $14\ncompetitor_price: 13", text)
    assert ex.unit_cost is None and ex.competitor_price is None
    assert ex.sales == [(120.0, 12.0)]
    assert set(ex.dropped) == {"unit_cost", "sales", "competitor_price"}
    assert ex.name == "mug"


def test_kinds_must_match_and_names_must_appear():
    text = "My cost is $4, max change 10%, I sell a lamp"
    ex = from_answer("unit_cost: 10%\nmax_change: $4\nname: espresso machine", text)
    assert ex.unit_cost is None and ex.max_change is None and ex.name is None
    ex = from_answer("unit_cost: $4\nmax_change: 10%\nname: lamp", text)
    assert ex.unit_cost == 4.0 and math.isclose(ex.max_change, 0.1) and ex.name == "lamp"


def test_a_what_if_question_without_its_price_is_no_question():
    ex = from_answer("question: what_if\nwhat_if_price: $99", "what if I charge $15?")
    assert ex.what_if is None and ex.question is None


def test_amounts_as_merchants_write_them():
    assert amount_value("1.150,00 €").value == 1150.0
    assert amount_value("12,50 €").value == 12.5
    assert amount_value("6-7元").value == 6.5
    assert amount_value("百分之30").pct and amount_value("百分之30").value == 30
    assert amount_value("$12 and $14") is None


def test_the_model_fills_what_the_matcher_left_out_and_the_matcher_wins_where_both_read():
    model = Extraction(unit_cost=4.0, current_price=9.0, sales=[(120.0, 12.0), (80.0, 14.0)], question="price")
    matcher = Extraction(unit_cost=5.0, competitor_price=13.5, sales=[(120.0, 12.0)], question="elasticity")
    both = merged(model, matcher)
    assert both.unit_cost == 5.0 and both.competitor_price == 13.5 and both.current_price == 9.0
    assert both.sales == [(120.0, 12.0), (80.0, 14.0)]  # the reading with more rows, whole, never row by row
    assert merged(model, Extraction(sales=[(1.0, 2.0), (3.0, 4.0)])).sales == [(1.0, 2.0), (3.0, 4.0)]
    assert both.question == "elasticity"
    assert merged(Extraction(unit_cost=4.0), Extraction(question="reset")) == Extraction(question="reset")
    assert combine(Extraction(question="why_lower"), Extraction(what_if=15.0)).what_if is None


def test_without_the_adapter_the_matcher_reads_and_says_why(tmp_path):
    reader = MessageReader("llm", adapter=tmp_path / "missing")
    text = "it costs me $4, I sold 120 at $12 last week, what should I charge?"
    assert reader(text) == extract(text)
    assert reader.active.startswith("matcher (LLM reader unavailable")
    reading = read_message(text, MerchantFacts(), reader)
    assert reading.facts.unit_cost == 4.0 and reading.question == "price"
    with pytest.raises(ValueError, match="unknown message reader"):
        MessageReader("regex")


def test_a_reader_answer_becomes_facts_in_the_chat(monkeypatch):
    """What `read_message` does with a model's answer: the model reads a wording the matcher does not."""
    text = "Hope you can help. They set me back 6.50 apiece; at $14 I sold 90 last week."
    reader = MessageReader("llm")
    monkeypatch.setattr(reader, "answers", lambda texts: ["unit_cost: 6.50\nsale: 90 @ $14"] * len(texts))
    assert extract(text).unit_cost is None
    reading = read_message(text, MerchantFacts(), reader)
    assert reading.facts.unit_cost == 6.5
    assert [(s.units, s.price) for s in reading.facts.sales] == [(90.0, 14.0)]


def test_a_written_number_serves_one_fact_only():
    """A model that glues a row together from numbers other rows already used (seen on the real model) loses it."""
    text = "我卖陶瓷杯，成本4元，上周以12元卖了120个，这周以14元卖了90个，竞争对手卖13.5元"
    ex = from_answer("unit_cost: 4元\nsale: 120 @ 12元\nsale: 90 @ 14元\nsale: 14 @ 12元", text)
    assert ex.sales == [(120.0, 12.0), (90.0, 14.0)] and ex.dropped == ["sales"]
