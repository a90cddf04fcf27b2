"""Reading one cell: money, counts, fractions and dates as merchants' spreadsheets write them.

Exports from shops and spreadsheets write "$1,299.00", "12,50" (a decimal comma), "20%" and
"03/01/2026"; a price engine that only reads "1299.0" turns half of them away. Every door of the
project (catalog files, API uploads, the chat's sales-history upload) reads cells through this one
module, so a file accepted in one place is accepted, with the same numbers, everywhere.

The rules, chosen to be predictable rather than clever:

- Currency symbols ($ € £ ¥) before or after the number, spaces inside it, a leading `-` or
  accounting parentheses "(5.00)" for a negative amount.
- Separators: with both `,` and `.`, the last one is the decimal point ("1.299,00" and "1,299.00" are
  both 1299). With commas only, groups of exactly three digits after a non-zero lead are thousands
  ("1,299" and "12,500,000"); one comma otherwise is a decimal comma ("12,50", "0,125").
- Fractions: "20%" is 0.2; a plain number is already a fraction.
- Dates: ISO ("2026-03-01", with or without a time), "2026/03/01", "01.03.2026" (day first),
  "Mar 1, 2026" / "1 March 2026", and "03/01/2026", month first unless some date of the same
  column only reads day first ("25/01/2026"); a column decides once, so rows never swap meaning.

Strict parsers (`parse_number`, `parse_money`, `parse_count`, `parse_fraction`, `parse_date`) raise
`CatalogError` with the place (`where`, e.g. "row 3, column 'price'"), what was expected and the
cell; `lenient_number` is for callers with their own per-field error reporting (the pydantic schema).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Sequence

import numpy as np
import pandas as pd

from agent.catalog.schema import COUNT_COLUMNS, FRACTION_COLUMNS, MONEY_COLUMNS, CatalogError

MISSING_MARKERS = frozenset({"", "na", "n/a", "null", "none"})
_CURRENCY = "$€£¥"
# a space, no-break or thin space or a Swiss apostrophe between a digit and a group of exactly three digits
_GROUP_SPACE = re.compile(r"(?<=\d)[ \u00a0\u202f'](?=\d{3}(?!\d))")
_PLAIN = re.compile(r"(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_THOUSANDS = {",": re.compile(r"[1-9]\d{0,2}(?:,\d{3})+"), ".": re.compile(r"[1-9]\d{0,2}(?:\.\d{3})+")}
_NUMERIC_COLUMNS = MONEY_COLUMNS | COUNT_COLUMNS | FRACTION_COLUMNS
_MONTH_FORMATS = ("%d %b %Y", "%d %B %Y", "%b %d %Y", "%B %d %Y")
_EURO_NUMBER = re.compile(r"(?P<int>\d{1,3}(?:\.\d{3})+|\d+)(?:,(?P<frac>\d+))?")


def short(value: object) -> str:
    """`repr` of a cell bounded to 40 characters, so an error about a 1 MB cell stays one short line."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def cell_text(value: object, nan_missing: bool = False) -> str | None:
    """Every cell as text (or None when empty), so numbers parse alike from every format.

    A float NaN in a file is a bad value ('nan', reported); in an in-memory DataFrame (`nan_missing`)
    it is pandas' marker for a missing cell.
    """
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if nan_missing and isinstance(value, float | np.floating) and math.isnan(value):
        return None
    if isinstance(value, str):
        value = value.strip()
        return None if value.lower() in MISSING_MARKERS else value
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        return repr(float(value))  # nan and inf stay visible: they are reported, not dropped
    return str(value)


def _fail(where: str, expected: str, text: object) -> CatalogError:
    got = "an empty cell" if text is None else short(text)
    return CatalogError(f"{where + ': ' if where else ''}expected {expected}, got {got}")


def _number_value(text: str) -> float | None:
    """The finite number a cell spells by the module's rules, or None when it spells none."""
    s = text.strip()
    negative = s.startswith("(") and s.endswith(")")  # accounting style: (5.00) is -5
    s = (s[1:-1] if negative else s).strip().strip(_CURRENCY).strip()
    if s[:1] in ("-", "\u2212", "+"):
        negative = negative or s[0] != "+"
        s = s[1:].strip().strip(_CURRENCY).strip()
    s = _GROUP_SPACE.sub("", s)  # "1 299,00": a space only groups thousands, elsewhere it is garbage
    if "," in s and "." in s:
        decimal = "," if s.rfind(",") > s.rfind(".") else "."
        whole, _, frac = s.rpartition(decimal)
        if not _THOUSANDS["." if decimal == "," else ","].fullmatch(whole) or not frac.isdigit():
            return None
        s = whole.replace("." if decimal == "," else ",", "") + "." + frac
    elif "," in s:
        if _THOUSANDS[","].fullmatch(s):
            s = s.replace(",", "")
        elif s.count(",") == 1:
            s = s.replace(",", ".")
        else:
            return None
    elif s.count(".") > 1:
        if not _THOUSANDS["."].fullmatch(s):
            return None
        s = s.replace(".", "")
    if not _PLAIN.fullmatch(s):
        return None
    x = float(s)
    if not math.isfinite(x):
        return None
    return -x if negative else x


def parse_number(text: object, where: str = "", expected: str = "a number") -> float:
    """A finite number from a cell, by the module's rules; CatalogError naming `where` otherwise."""
    if isinstance(text, int | float) and not isinstance(text, bool):
        if math.isfinite(text):
            return float(text)
        raise _fail(where, f"{expected} (a finite one)", text)
    value = None if text is None else _number_value(str(text))
    if value is None:
        raise _fail(where, expected, text)
    return value


def parse_money(text: object, where: str = "") -> float:
    """An amount of money, not negative: "$1,299.00", "1.299,00 €", "12,50" or "12.5"."""
    expected = "an amount of money like 12.50 or $1,299.00"
    value = parse_number(text, where, expected)
    if value < 0:
        raise _fail(where, f"{expected}, not a negative one", text)
    return value


def parse_count(text: object, where: str = "") -> float:
    """A count of units, not negative ("1,200" is twelve hundred); fractions allowed (kilograms, litres)."""
    value = parse_number(text, where, "a number of units like 120 or 1,200")
    if value < 0:
        raise _fail(where, "a number of units, not a negative one", text)
    return value


def parse_fraction(text: object, where: str = "") -> float:
    """A fraction: "20%" or "20 %" is 0.2, "12,5%" is 0.125, and a plain number is taken as it is."""
    expected = "a percentage like 20% or 0.2"
    s = str(text).strip() if text is not None else ""
    if s.endswith("%"):
        value = _number_value(s[:-1])
        if value is None:
            raise _fail(where, expected, text)
        return value / 100
    return parse_number(text, where, expected)


def decimal_comma_text(text: str | None) -> str | None:
    """A cell of a file written with decimal commas, rewritten with a decimal point ("1.299" -> "1299",
    "1,299" -> "1.299", "12,50 €" -> "12.50 €"); cells that spell no such number come back unchanged.

    Only for files whose dialect says so (`dialects.sniff`): there "1.299" is twelve hundred and
    ninety-nine, while the module's file-blind rules must read it as one point two nine nine.
    """
    if text is None:
        return None
    s = _GROUP_SPACE.sub("", text)
    m = re.search(r"\d[\d.,]*", s)
    if m is None:
        return text
    core = _EURO_NUMBER.fullmatch(m[0])
    if core is None:
        return text
    number = core["int"].replace(".", "") + (f".{core['frac']}" if core["frac"] else "")
    return s[:m.start()] + number + s[m.end():]


def lenient_number(text: str | None, column: str) -> str | float | None:
    """The cell as a number where this module reads more than a plain float does; else the text itself.

    For readers that validate with pydantic: a plain number, "NaN" or garbage goes through untouched,
    so the schema reports it exactly as before ("not a number ('abc')", "not a finite number"), while
    "$1,299.00" or "20%" arrive as the number they spell.
    """
    if text is None or column not in _NUMERIC_COLUMNS:
        return text
    try:
        float(text)
        return text
    except ValueError:
        pass
    s = text.strip()
    if column in FRACTION_COLUMNS and s.endswith("%"):
        value = _number_value(s[:-1])
        return text if value is None else value / 100
    value = _number_value(s)
    return text if value is None else value


def _date_parts(text: str) -> tuple[str, tuple[int, int, int]] | None:
    """(style, numbers) of a date cell: "iso" (y, m, d), "dots" (d, m, y) or "slash" (a, b, y)."""
    m = re.fullmatch(r"(\d{4})[-/](\d{1,2})[-/](\d{1,2})(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?"
                     r"(?: ?(?:Z|[+-]\d{2}:?\d{2}|[A-Z]{2,5}))?", text)  # "... -0500" (Shopify), "... GMT" (Amazon)
    if m:
        return "iso", (int(m[1]), int(m[2]), int(m[3]))
    m = re.fullmatch(r"(\d{1,2})\.(\d{1,2})\.(\d{4})", text)
    if m:
        return "dots", (int(m[1]), int(m[2]), int(m[3]))
    m = re.fullmatch(r"(\d{1,2})/(\d{1,2})/(\d{4})", text)
    if m:
        return "slash", (int(m[1]), int(m[2]), int(m[3]))
    return None


def _as_date(text: str, day_first: bool) -> dt.date | None:
    text = " ".join(str(text).replace(",", " ").split())
    parts = _date_parts(text)
    try:
        if parts is None:
            for fmt in _MONTH_FORMATS:
                with_name = _try_strptime(text, fmt)
                if with_name is not None:
                    return with_name
            return None
        style, (a, b, c) = parts
        if style == "iso":
            return dt.date(a, b, c)
        if style == "dots" or day_first:
            return dt.date(c, b, a)
        return dt.date(c, a, b)
    except ValueError:
        return None


def _try_strptime(text: str, fmt: str) -> dt.date | None:
    try:
        return dt.datetime.strptime(text, fmt).date()
    except ValueError:
        return None


def _day_first(cells: Sequence[str]) -> bool:
    """Whether a column's slashed dates are day first: some date's first number cannot be a month."""
    for cell in cells:
        parts = _date_parts(" ".join(str(cell).split()))
        if parts and parts[0] == "slash" and parts[1][0] > 12:
            return True
    return False


def is_day_first(cells: Sequence[object]) -> bool:
    """Whether a date column's slashed dates are day first (decided once for the whole column)."""
    return _day_first([str(c) for c in cells if c is not None])


def parse_date(text: object, where: str = "", day_first: bool = False) -> dt.date:
    """A date cell (see the module docstring for the styles); CatalogError naming `where` otherwise."""
    value = None if text is None else _as_date(str(text), day_first)
    if value is None:
        raise _fail(where, "a date like 2026-03-01", text)
    return value


def parse_dates(cells: Sequence[object], where: str = "") -> list[dt.date]:
    """A whole date column, day-first or month-first decided once for all of its cells."""
    texts = [str(c) for c in cells]
    day_first = _day_first(texts)
    return [parse_date(t, f"{where}, row {i}" if where else f"row {i}", day_first) for i, t in enumerate(texts, 1)]


def period_keys(cells: Sequence[object]) -> tuple[list[float], bool] | None:
    """Sort keys of a period column and whether they are date ranks; None when it is neither.

    Whole or decimal numbers are their own keys. When every cell is a date, the keys are the dates'
    ranks (0, 1, ... in date order, equal dates equal ranks): a date is an order, not an amount.
    """
    numbers = [_finite(c) for c in cells]
    if all(x is not None for x in numbers):
        return [float(x) for x in numbers], False  # type: ignore[arg-type]
    texts = [None if c is None else str(c) for c in cells]
    if any(t is None for t in texts):
        return None
    day_first = _day_first(texts)  # type: ignore[arg-type]
    dates = [_as_date(t, day_first) for t in texts]  # type: ignore[arg-type]
    if any(d is None for d in dates):
        return None
    rank = {d: i for i, d in enumerate(sorted(set(dates)))}  # type: ignore[type-var]
    return [float(rank[d]) for d in dates], True


def _finite(text: object) -> float | None:
    """A plain finite number (the period's own spelling; no currency or separators), else None."""
    try:
        x = float(text)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None
