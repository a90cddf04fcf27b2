"""Sales pasted into a chat message as a table are read by their columns (ui.pasted_table via ui.message.extract)."""

import pytest

from ui.message import extract, numbers_in
from ui.pasted_table import pasted_sales


@pytest.mark.parametrize("text, sales", [
    # comma-separated with ISO dates; the rest of the message is still read as sentences
    ("date,units,price\n2026-03-02,34,19.99\n2026-03-09,41,17.99\nphone cases, cost $6.80 each",
     [(34.0, 19.99), (41.0, 17.99)]),
    # a pipe table whose months cross a year end: written oldest first, kept in that order
    ("Month | Units | Price\nOct | 210 | 9.00\nNov | 260 | 8.50\nDec | 340 | 8.50\nJan | 150 | 9.50",
     [(210.0, 9.0), (260.0, 8.5), (340.0, 8.5), (150.0, 9.5)]),
    # Chinese headers, counts with a unit word, newest first: reversed
    ("日期 销量 价格\n4月20日 30盒 58\n4月13日 42盒 52\n4月6日 51盒 48\n坚果礼盒",
     [(51.0, 48.0), (42.0, 52.0), (30.0, 58.0)]),
    # price first, tabs, currencies and thousands separators, catalog aliases ("qty")
    ("price\tweek\tqty\n£15,440\twk1\t68\n£11,726\twk2\t1,133", [(68.0, 15440.0), (1133.0, 11726.0)]),
    # no period column: the order written
    ("- unit price; orders\n- 12,50 €; 40\n- 11,90 €; 52.", [(40.0, 12.5), (52.0, 11.9)]),
])
def test_pasted_tables_are_read_oldest_first(text, sales):
    assert extract(text).sales == sales


def test_the_message_around_a_table_is_still_read():
    ex = extract("hi, my candles:\nweek | sold | price\n1 | 20 | $12\n2 | 25 | $11\n"
                 "my cost is $4. what should I charge?")
    assert ex.sales == [(20.0, 12.0), (25.0, 11.0)] and ex.unit_cost == 4.0 and ex.question == "price"


@pytest.mark.parametrize("text", [
    "units,price\n12,abc\n13,14",  # a line that fits but does not read: no table at all
    "name,cost\nmug,4",  # no units or price column
    "sold 120 at $12 last week, 90 at $14 this week",  # sentences, not a table
    "units price\n",  # a header alone
])
def test_what_is_not_a_readable_table_is_left_to_the_sentences(text):
    assert pasted_sales(text) is None


def test_a_comma_separated_row_grounds_each_of_its_numbers():
    # "65,3259" is not one number written with a thousands separator: its cells count as written
    assert {65.0, 3259.0} <= set(numbers_in("周五,65,3259"))
    assert 150.0 not in numbers_in("it costs $1,150")
