"""The one cell parser: money, counts, fractions and dates as spreadsheets write them, and clear refusals."""

import datetime as dt

import pytest

from agent.catalog import CatalogError, parse_count, parse_date, parse_fraction, parse_money, parse_number
from agent.catalog.values import lenient_number, parse_dates, period_keys


@pytest.mark.parametrize(("text", "value"), [
    ("12.5", 12.5), ("12", 12.0), (" 7 ", 7.0), (3, 3.0),
    ("$1,299.00", 1299.0), ("1,299", 1299.0), ("12,500,000", 12_500_000.0),  # commas before 3 digits: thousands
    ("12,50", 12.5), ("0,125", 0.125), ("1,5", 1.5),  # otherwise one comma is a decimal comma
    ("1.299,00", 1299.0), ("1.299,00 €", 1299.0), ("1.299.000", 1_299_000.0),  # the last separator is the decimal
    ("1 299,00", 1299.0), ("1\u00a0299.50", 1299.5), ("€3", 3.0), ("£ 4.20", 4.2), ("12$", 12.0),
    ("-$5", -5.0), ("$-5", -5.0), ("(5.00)", -5.0), ("1.5e3", 1500.0),
])
def test_numbers_as_spreadsheets_write_them(text, value):
    assert parse_number(text) == value


@pytest.mark.parametrize("text", ["abc", "", "1,2,3", "12 34", "1,2.5", "$", "--5", "nan", "inf", "1e309",
                                  "12.5.6,7", "20%", None])
def test_garbage_is_refused_naming_the_place_and_the_cell(text):
    with pytest.raises(CatalogError) as err:
        parse_number(text, "row 4, column 'price'")
    message = str(err.value)
    assert message.startswith("row 4, column 'price': expected a number, got ")
    assert (repr(text) if text is not None else "an empty cell") in message and "\n" not in message


def test_money_and_counts_refuse_negative_values_clearly():
    assert parse_money("$0") == 0.0 and parse_count("1,200") == 1200.0 and parse_count("2,5") == 2.5
    with pytest.raises(CatalogError, match=r"row 2, column 'price': expected an amount of money .* not a negative "
                                           r"one, got '-\$3'"):
        parse_money("-$3", "row 2, column 'price'")
    with pytest.raises(CatalogError, match="expected a number of units, not a negative one, got '-4'"):
        parse_count("-4")
    with pytest.raises(CatalogError, match="expected an amount of money like 12.50 or \\$1,299.00, got 'twelve'"):
        parse_money("twelve")
    with pytest.raises(CatalogError, match="got 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\\.\\.\\.$"):
        parse_money("x" * 10_000)  # a huge cell is cut short: the message stays one short line


def test_fractions_and_percentages():
    assert parse_fraction("20%") == pytest.approx(0.2) and parse_fraction("12,5 %") == pytest.approx(0.125)
    assert parse_fraction("0.3") == 0.3
    with pytest.raises(CatalogError, match="expected a percentage like 20% or 0.2, got 'lots%'"):
        parse_fraction("lots%")


def test_dates_in_common_styles():
    march_1 = dt.date(2026, 3, 1)
    for text in ("2026-03-01", "2026-03-01T10:30:00", "2026-03-01 00:00:00+00:00", "2026/03/01", "01.03.2026",
                 "Mar 1, 2026", "1 March 2026", "03/01/2026"):
        assert parse_date(text) == march_1, text
    # a column is day-first when one of its dates can only be: the rows never swap meaning
    assert parse_dates(["03/01/2026", "25/01/2026"]) == [dt.date(2026, 1, 3), dt.date(2026, 1, 25)]
    with pytest.raises(CatalogError, match="row 2: expected a date like 2026-03-01, got 'last week'"):
        parse_dates(["2026-03-01", "last week"])
    with pytest.raises(CatalogError, match="expected a date"):
        parse_date("2026-02-30")


def test_period_keys_number_dates_in_order_and_refuse_a_mix():
    assert period_keys(["3", "1", "2"]) == ([3.0, 1.0, 2.0], False)
    assert period_keys(["2026-03-08", "2026-03-01", "2026-03-08"]) == ([1.0, 0.0, 1.0], True)
    assert period_keys(["1", "2026-03-01"]) is None and period_keys(["last week"]) is None
    assert period_keys(["1", None]) is None


def test_lenient_numbers_leave_plain_and_bad_cells_to_the_schema():
    assert lenient_number("$12.00", "price") == 12.0 and lenient_number("20%", "min_margin") == pytest.approx(0.2)
    assert lenient_number("1,200", "units") == 1200.0
    for text in ("12", "-3", "NaN", "abc", "1e309"):  # the schema reports these exactly as it always did
        assert lenient_number(text, "price") == text
    assert lenient_number("$12", "sku") == "$12" and lenient_number(None, "price") is None


@pytest.mark.parametrize("cells", [
    [" 12.50 ", None, "n/a", "", "\u00a0SKU-1\u00a0", "NULL", "x"],  # text and missing: one Arrow pass
    ["12", 3.5, float("nan"), None, True, 7],  # mixed Python values: cell by cell
])
def test_an_object_column_cleans_like_cell_text_either_way(cells):
    import pandas as pd

    from agent.catalog.tables import clean_series
    from agent.catalog.values import cell_text

    for nan_missing in (False, True):
        assert clean_series(pd.Series(cells, dtype=object), nan_missing) == [cell_text(c, nan_missing) for c in cells]
