"""The merchant-message generator: deterministic, phrasings split by family, gold numbers all in the message."""

from collections import Counter

import pytest

from finetune.message_data import PHRASES, WHEN, GoldFacts, build_messages, phrase_ids
from ui.message import grounded, numbers_in


@pytest.fixture(scope="module")
def records():
    return build_messages(n_train=600, n_heldout=300, seed=0)


def test_same_seed_same_records_other_seed_other_records(records):
    assert build_messages(n_train=600, n_heldout=300, seed=0) == records
    other = build_messages(n_train=600, n_heldout=300, seed=1)
    assert [r.message for r in other] != [r.message for r in records]


def test_splits_are_disjoint_by_phrasing_not_just_by_sample(records):
    train, held = phrase_ids("train"), phrase_ids("heldout")
    assert train and held and not train & held
    used = {split: {i for r in records if r.split == split for i in r.template_id.split("+")}
            for split in ("train", "heldout")}
    assert used["train"] <= train and used["heldout"] <= held
    assert not used["train"] & used["heldout"]
    # and no held-out wording is also a train wording under another id
    for lang, slots in PHRASES.items():
        for slot, (tr, ho) in slots.items():
            assert not set(tr) & set(ho), (lang, slot)
        assert not {w for fam in WHEN[lang][0] for w in fam} & {w for fam in WHEN[lang][1] for w in fam}
    # the held-out set covers most of its families (a family nobody samples measures nothing)
    assert len(used["heldout"]) >= 0.8 * len(held)


def test_every_gold_number_appears_in_its_message(records):
    for r in records:
        numbers = numbers_in(r.message)
        for value in r.facts.numbers():
            assert grounded(value, numbers), (r.message, value)


def test_both_languages_and_every_question_and_currency_are_present(records):
    for split in ("train", "heldout"):
        langs = Counter(r.language for r in records if r.split == split)
        assert langs["en"] > 100 and langs["zh"] > 100
        questions = {r.facts.question for r in records if r.split == split}
        assert questions >= {"price", "what_if", "why_lower", "why_higher", "elasticity", "reset"}
    text = " ".join(r.message for r in records)
    for mark in ("$", "€", "£", "¥", "元", "USD", "EUR", "GBP", "RMB", "CNY"):
        assert mark in text, mark
    assert any("," in r.message and r.facts.unit_cost and r.facts.unit_cost >= 1000 for r in records)
    assert any("上周" in r.message for r in records if r.language == "zh")


def test_gold_conventions():
    facts = GoldFacts(unit_cost=6.5, min_margin=0.3, sales=[{"units": 120, "price": 12.0}])
    assert sorted(facts.numbers()) == [6.5, 12.0, 30.0, 120.0]
    # a range's midpoint is the gold, and counts as appearing in the message
    assert grounded(13.0, numbers_in("the competitor is at $12-14"))
    assert grounded(6.5, numbers_in("成本6到7元"))
