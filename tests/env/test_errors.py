"""The one-line error formatter every door uses (CLI, catalog, API, chat, configs)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from env.context import Product
from env.errors import describe_error, field_message, one_line


def product_error(**fields) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        Product(**{"sku": "A", "unit_cost": 4.0, "current_price": 12.0, **fields})
    return caught.value


def test_a_validation_error_is_one_line_naming_the_first_field_and_counting_the_rest():
    err = product_error(unit_cost="abc", current_price="nan")
    text = describe_error(err)
    assert text.startswith("unit_cost: ") and text.endswith("(and 1 more)") and "\n" not in text


def test_field_messages_speak_plainly_and_shorten_huge_values():
    err = product_error(unit_cost="x" * 500)
    [first] = err.errors()
    message = field_message(first)
    assert message.startswith("not a number ('xxx") and len(message) < 80
    assert field_message({"type": "missing", "loc": ("sku",), "msg": "Field required"}) == "missing"
    assert field_message(product_error(current_price="inf").errors()[0]).startswith("not a finite number")


def test_other_errors_keep_their_first_line_and_one_line_collapses_whitespace():
    assert describe_error(ValueError("bad price\ntraceback noise")) == "bad price"
    assert describe_error(KeyError()) == "KeyError"
    assert one_line("a\n  b\tc", limit=4) == "a b "
