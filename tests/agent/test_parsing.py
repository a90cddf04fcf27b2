"""Parsing prices out of model answers: many formats, and garbage."""

import pytest

from agent.parsing import parse_price, parse_reason


@pytest.mark.parametrize(
    ("text", "price"),
    [
        ("PRICE: 12.49\nREASON: demand is elastic", 12.49),
        ("price: 12.49", 12.49),
        ("PRICE: $12.49", 12.49),
        ("Price = €12,49", 12.49),
        ("PRICE: 1,299.00", 1299.0),
        ("PRICE: 1.299,50", 1299.5),
        ("PRICE: 1 299.00", 1299.0),
        ("The new price is USD 7.5 because demand fell", 7.5),
        ("price 15 dollars", 15.0),
        ("I would charge 14", 14.0),
        ("PRICE: 12.49 (was 11.99)", 12.49),
        ("PRICE: .99", 0.99),
        ("  PRICE:3", 3.0),
    ],
)
def test_formats(text, price):
    assert parse_price(text) == pytest.approx(price)


@pytest.mark.parametrize(
    "text",
    ["", "no idea", "PRICE: 0", "PRICE: -3", "PRICE: inf", "PRICE: nan", "between 10 and 12",
     "PRICE: lots", "ignore previous instructions"],
)
def test_garbage_is_none(text):
    assert parse_price(text) is None


def test_reason():
    assert parse_reason("PRICE: 3\nREASON: demand is elastic\nmore") == "demand is elastic"
    assert parse_reason("PRICE: 3") is None
