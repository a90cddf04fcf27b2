"""How a merchant's message writes the things the chat reads out of it: full-width characters, the language,
time words, and amounts (currency marks, thousands separators, decimal commas, ranges, percentages).

Split from `ui.message` (which reads facts out of a message) so that the other readers of message text, the
pasted-table reader (`ui.pasted_table`) and the LLM reader's checks (`ui.message_reader`), read amounts and times
exactly as the matcher does without importing the matcher.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from price_parser import Price

# --- normalising -------------------------------------------------------------------------------------

_FULLWIDTH = str.maketrans({**{chr(0xFF10 + i): str(i) for i in range(10)}, "％": "%", "．": ".", "＄": "$",
                            "￥": "¥", "～": "~", "＠": "@", "－": "-"})
_CJK = re.compile(r"[\u4e00-\u9fff]")


def language_of(text: str) -> str:
    """"zh" for a message with Chinese characters in it, else "en" (the two languages the chat answers in)."""
    return "zh" if _CJK.search(text) else "en"


def normalise(text: str) -> str:
    """Full-width digits and symbols as ASCII; the Chinese comma "，" is kept (it is never a thousands separator)."""
    return text.translate(_FULLWIDTH)


# --- times ---------------------------------------------------------------------------------------------

MONTHS = ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
           "november", "december"]
MONTH = r"(?:" + "|".join(m[:3] + f"(?:{m[3:]})?" if len(m) > 3 else m for m in MONTHS) + r")\b"
_SMALL = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "两": 2, "二": 2, "三": 3, "四": 4,
          "五": 5, "六": 6}


def month_number(name: str) -> int:
    return next(i for i, m in enumerate(MONTHS, 1) if m.startswith(name.lower()[:3]))


# (pattern, rank): the rank is (kind, value); sales rows are reordered only when all their ranks share a kind
TIMES: list[tuple[re.Pattern, object]] = [
    (re.compile(r"(?<!\d)(\d{4})-(\d{1,2})-(\d{1,2})(?!\d)"),
     lambda m: ("iso", int(m[1]) * 10000 + int(m[2]) * 100 + int(m[3]))),
    (re.compile(r"\b(" + MONTH + r")\.?\s+(20\d\d)(?!\d)", re.I),  # "Feb 2026": the year is not an amount
     lambda m: ("ym", int(m[2]) * 100 + month_number(m[1]))),
    (re.compile(r"(?<![\d.,])(\d{1,2})(?:st|nd|rd|th)?\s+(?:of\s+)?(" + MONTH + r")", re.I),
     lambda m: ("date", month_number(m[2]) * 100 + int(m[1]))),
    (re.compile(r"(" + MONTH + r")\s+(\d{1,2})(?:st|nd|rd|th)(?!\w)", re.I),
     lambda m: ("date", month_number(m[1]) * 100 + int(m[2]))),
    (re.compile(r"(?<![\d.,])(\d{1,2})月(\d{1,2})[日号]"), lambda m: ("date", int(m[1]) * 100 + int(m[2]))),
    (re.compile(r"(?<![\d.,])(\d{1,2})月(?:份)?"), lambda m: ("month", int(m[1]))),
    (re.compile(r"\bin\s+(" + MONTH + r")", re.I), lambda m: ("month", month_number(m[1]))),
    (re.compile(r"\b(\d{1,2}|one|two|three|four|five|six)\s+(?:weeks?|months?)\s+ago\b", re.I),
     lambda m: ("rel", -(_SMALL.get(m[1].lower()) or int(m[1])))),
    (re.compile(r"(\d{1,2}|[两二三四五六])周前"), lambda m: ("rel", -(_SMALL.get(m[1]) or int(m[1])))),
    (re.compile(r"再上周|上上周"), lambda m: ("rel", -2)),
    (re.compile(r"\blast\s+(?:week|month)\b|上周|上个月|上月", re.I), lambda m: ("rel", -1)),
    (re.compile(r"前天"), lambda m: ("day", -2)),
    (re.compile(r"昨天"), lambda m: ("day", -1)),
    (re.compile(r"今天"), lambda m: ("day", 0)),
    (re.compile(r"\bthis\s+(?:week|month)\b|这周|本周|这个月|本月", re.I), lambda m: ("rel", 0)),
]

# --- amounts -------------------------------------------------------------------------------------------

def _num(name: str) -> str:
    """A number: "1,150", "1.150,00", "12,50", "6.50", "1150" (a thousands separator is used consistently)."""
    return (rf"(?P<{name}>\d{{1,3}}(?P<{name}sep>[,.])\d{{3}}(?:(?P={name}sep)\d{{3}})*(?:[.,]\d{{1,2}})?"
            rf"|\d+(?:[.,]\d{{1,2}})?)(?!\d)")


_CUR_PRE = r"(?:US\$|\$|€|£|¥|人民币|(?<![A-Za-z])(?:USD|EUR|GBP|CNY|RMB)(?![A-Za-z]))"
_CUR_POST = r"(?:€|£|元|块钱|块|美元|(?:USD|EUR|GBP|CNY|RMB|dollars?|euros?|pounds?|quid|yuan|bucks)(?![A-Za-z]))"
# what a currency mark means (ISO 4217). "¥" is read as the yuan: the chat's languages are English and Chinese
_CURRENCY_OF = (("USD", r"US\$|\$|USD|dollars?|bucks|美元"), ("EUR", r"€|EUR|euros?"), ("GBP", r"£|GBP|pounds?|quid"),
                ("CNY", r"¥|CNY|RMB|人民币|元|块钱|块|yuan"))


def currency_code(mark: str | None) -> str | None:
    """The ISO code of a currency mark as `TOKEN` captures it ("€", " USD", "元"), None for none."""
    mark = (mark or "").strip()
    return next((code for code, marks in _CURRENCY_OF if re.fullmatch(marks, mark, re.I)), None) if mark else None


_SP = r"[^\S\n]"  # a space inside one amount: never a line break (a pasted table's cells are not a range)
TOKEN = re.compile(
    rf"(?P<pctpre>百分之)?(?P<pre>{_CUR_PRE})?{_SP}?(?<![\d.,]){_num('a')}"
    rf"(?:(?:-|–|{_SP}*(?:to|到|至|~){_SP}*){_CUR_PRE}?{_SP}?(?<![\d.,]){_num('b')})?"
    rf"(?P<post>{_SP}?{_CUR_POST})?(?P<pct>{_SP}?(?:%|percent|per{_SP}?cent))?", re.I)


def number_value(number: str) -> float:
    value = Price.fromstring(number).amount_float
    return float(value) if value is not None else float(number.replace(",", ""))


@dataclass
class Amount:
    value: float
    money: bool  # written with a currency
    pct: bool


def amount_value(text: str) -> Amount | None:
    """The one amount `text` writes ("$1,150", "12,50 €", "6-7元" as its midpoint 6.5, "30%" as 30 with
    `pct`), read the way `ui.message.extract` reads amounts in a message; None unless `text` is exactly one amount."""
    m = TOKEN.fullmatch(normalise(text).strip())
    return amount_of(m) if m else None


def amount_of(m: re.Match) -> Amount:
    """The amount a `TOKEN` match writes: its number (a range's midpoint), whether a currency or a percent sign
    goes with it."""
    value = number_value(m["a"])
    if m["b"]:
        value = round((value + number_value(m["b"])) / 2, 6)
    return Amount(value, bool(m["pre"] or m["post"]), bool(m["pct"] or m["pctpre"]))
