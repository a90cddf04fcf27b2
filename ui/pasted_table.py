"""Sales pasted into a chat message as a small table (issue 16): a header line naming a units and a price
column, then a line per period with the same cells.

    Month | Units | Price          date,units,price          日期 销量 价格
    Oct   | 210   | 9.00           2026-03-02,34,19.99       4月20日 30盒 58

Merchants copy these from a spreadsheet or a shop's report. The sentence patterns of `ui.message` read a
sale from words around two numbers ("sold 120 at $12"), and a table has no such words: the header says which
column is which. So a table is read here, by its columns, before the sentence patterns see the message.

Precision first, like the rest of the matcher: a table is read only when every data line splits into as many
cells as the header and every units and price cell is one number (a count may carry a unit word, "30盒"; a
price its currency, "¥58", "9,50 €"); otherwise the message is left to the other readers. Header words are the
catalog's column names and aliases (`agent.catalog.schema`, so "qty", "unit price", "date" mean what they mean
in a file) plus the words people type in a chat ("orders", 销量, 单价, 日期 ...).

Rows come out oldest first. A merchant lists periods either oldest first or newest first; when the period
cells read as times (dates, months, weekdays, "wk3") and most steps between them go back in time, the rows
are reversed. Periods that do not read as times keep the order written.
"""

from __future__ import annotations

import re

from agent.catalog.schema import canonical_names
from ui.message_text import MONTH, TIMES, amount_value, month_number

CHAT_HEADERS = {  # header words of a chat table that the catalog's aliases do not cover
    "units": ("orders", "sales", "pcs", "units_sold", "volume", "销量", "数量", "卖出", "件数", "销售量", "单量",
              "订单", "订单数", "出货"),
    "price": ("售价", "价格", "单价", "价钱", "卖价", "price_each"),
    "period": ("日期", "周", "月份", "时间", "月", "星期", "周次", "period", "wk", "time"),
}
_DELIMITERS = ("\t", "|", ";", ",", re.compile(r"\s{2,}"), re.compile(r"\s+"))
_BULLET = re.compile(r"^\s*(?:[-*•]\s+)?")
_COUNT = re.compile(r"(\d{1,3}(?:,\d{3})+|\d+)\s*[^\d\s.,]{0,3}")
_WEEKDAYS = (("mon", "周一", "星期一"), ("tue", "周二", "星期二"), ("wed", "周三", "星期三"), ("thu", "周四", "星期四"),
             ("fri", "周五", "星期五"), ("sat", "周六", "星期六"), ("sun", "周日", "星期日", "周天"))
_MONTH_DAY = re.compile(rf"^({MONTH})\.?\s+(\d{{1,2}})$", re.I)
_NUMBERED = re.compile(r"^(?:wk|week|w|第)\s*(\d{1,3})\s*周?$", re.I)
_US_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})(?:/\d{2,4})?$")


def _split(line: str, delimiter) -> list[str]:
    line = _BULLET.sub("", line).strip().rstrip(".。").strip("|").strip()  # a table's last line may end a sentence
    cells = delimiter.split(line) if isinstance(delimiter, re.Pattern) else line.split(delimiter)
    return [c.strip() for c in cells]


def _column(cell: str) -> str | None:
    name = canonical_names([cell])[0]
    if name in ("units", "price", "period"):
        return name
    if name == "current_price":  # a lone "price" column: in a table with units it is the period's price
        return "price"
    return next((col for col, words in CHAT_HEADERS.items() if name in words or cell.strip() in words), None)


def _time_key(cell: str) -> tuple[str, int] | None:
    """(kind, value) of a period cell that reads as a time, for ordering rows; None when it does not."""
    text = cell.strip()
    for i, names in enumerate(_WEEKDAYS):
        if text.lower().startswith(names[0]) or text in names[1:]:
            return "weekday", i
    for pattern, kind, value in ((_MONTH_DAY, "date", lambda m: month_number(m[1]) * 100 + int(m[2])),
                                 (_NUMBERED, "week", lambda m: int(m[1])),
                                 (_US_DATE, "date", lambda m: int(m[1]) * 100 + int(m[2]))):
        m = pattern.match(text)
        if m:
            return kind, value(m)
    if re.fullmatch(MONTH + r"\.?", text, re.I):
        return "month", month_number(text)
    for pattern, rank in TIMES:
        m = pattern.search(text)
        if m:
            return rank(m)
    return None


def _oldest_first(rows: list[tuple[float, float]], periods: list[str]) -> list[tuple[float, float]]:
    keys = [_time_key(p) for p in periods]
    if len(rows) < 2 or any(k is None for k in keys) or len({k[0] for k in keys}) > 1:
        return rows
    steps = [b[1] - a[1] for a, b in zip(keys, keys[1:], strict=False)]
    back = sum(s < 0 for s in steps)
    return rows[::-1] if back > len(steps) / 2 else rows


def _count(cell: str) -> float | None:
    m = _COUNT.fullmatch(cell.strip())
    return float(m[1].replace(",", "")) if m else None


def _price(cell: str) -> float | None:
    amount = amount_value(cell)
    return amount.value if amount is not None and not amount.pct and amount.value > 0 else None


def _read_at(lines: list[str], start: int, delimiter) -> tuple[list[tuple[float, float]], int] | None:
    header = _split(lines[start], delimiter)
    if len(header) < 2:
        return None
    columns = [_column(c) for c in header]
    if columns.count("units") != 1 or columns.count("price") != 1 or columns.count(None) > 1:
        return None
    u, p = columns.index("units"), columns.index("price")
    t = columns.index("period") if "period" in columns else None
    rows, periods, end = [], [], start + 1
    while end < len(lines):
        cells = _split(lines[end], delimiter)
        if len(cells) != len(header):
            break
        units, price = _count(cells[u]), _price(cells[p])
        if units is None or price is None:
            return None  # a line that fits the table but does not read: not a table the chat can trust
        rows.append((units, price))
        periods.append(cells[t] if t is not None else "")
        end += 1
    if not rows:
        return None
    return (_oldest_first(rows, periods) if t is not None else rows), end


def pasted_sales(text: str) -> tuple[list[tuple[float, float]], str] | None:
    """(sales rows oldest first, the message without the table's lines), or None when no table is pasted."""
    lines = text.splitlines()
    for start in range(len(lines) - 1):
        for delimiter in _DELIMITERS:
            if not isinstance(delimiter, re.Pattern) and delimiter not in lines[start]:
                continue
            found = _read_at(lines, start, delimiter)
            if found is not None:
                rows, end = found
                return rows, "\n".join(lines[:start] + lines[end:])
    return None
