"""Reading one chat message into facts, by pattern matching, in English and Chinese (issue 16).

`extract(text)` finds what a merchant's message states: the product's name, unit cost, current price,
competitor price, sales rows (units at a price, put in time order when every row names its time),
guardrail commands (minimum / maximum price, margin floor, maximum change) and the question asked (a price,
a what-if price, why not lower / higher, how sensitive demand is, start over). `ui.facts.read_message` turns
it into the chat's facts.

How it reads, in three passes over the message:

1. **Times** ("last week", "in March", "on 2 March", "2026-03-02", "上周", "3月2日") are found first and
   masked, so their digits are never amounts; they order the sales rows afterwards.
2. **Amounts**: every number with what surrounds it: a currency before or after it ($ € £ ¥, USD EUR GBP
   CNY RMB, 元 块 美元, dollars euros yuan), a percent sign, a range ("12-14", "$12 to $14", "12到14元": read
   as the midpoint). The number itself is read by the `price-parser` library (thousands separators and
   decimal commas: "$1,150" is 1150, "1.150,00 €" is 1150, "12,50" is 12.5). Each amount becomes one
   placeholder character in a skeleton of the message.
3. **Relations on the skeleton**: sales ("120 at $12", "卖了120件，售价12", "以12卖出120个"), then each cue word
   (cost / 成本 / 进价, competitor / 竞争对手, never below / 地板价, margin / 利润率, ...) takes the first free
   amount after it within its clause; where two cues reach for one amount, the nearer cue wins.

What is hand-written, and why: the cue words and relation patterns are this product's vocabulary (no
library knows that "进价" is a unit cost or that "120 @ 12" is a sale); the time words are a small fixed
set used only to order sales rows and to keep date digits out of amounts (a date parser such as
`dateparser` would add a large dependency to read a dozen words). They were written from the *train*
phrasings of `finetune.message_data` only; the held-out phrasings measure how far they carry
(bench/results/merchant.md).

Times and amounts are read by `ui.message_text` (shared with the pasted-table reader and the LLM reader's
checks), the cue words are `ui.message_cues`, and a table pasted into the message is read by its columns
(`ui.pasted_table`) before the sentences are.

Nothing is invented: `ground` drops every number that does not appear in the message (a range's midpoint
counts as appearing), and `extract` applies it to its own output, as any other reader (the LLM reader to
come) must.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace

from ui.message_cues import (
    AMOUNT0,
    CUES,
    GAP,
    MAX_AMOUNTS,
    MAX_TIMES,
    NAME_EN,
    NAME_ZH,
    NEWEST_FIRST,
    PCT0,
    PCT_CUES,
    PCT_POST_CUES,
    POST_CUES,
    QUESTIONS,
    SALE_PU,
    SALE_UP,
    TIME0,
    WHAT_IF,
    A,
    P,
)
from ui.message_text import (
    TIMES,
    TOKEN,
    Amount,
    amount_of,
    currency_code,
    language_of,
    normalise,
    number_value,
)
from ui.pasted_table import pasted_sales


@dataclass
class Extraction:
    """What one message states. None (or no sales) means it does not say it; `question` is what it asks."""

    name: str | None = None
    unit_cost: float | None = None
    current_price: float | None = None
    competitor_price: float | None = None
    sales: list[tuple[float, float]] = field(default_factory=list)  # (units, price), oldest first
    min_price: float | None = None
    max_price: float | None = None
    min_margin: float | None = None  # fractions: 30% is 0.3
    max_change: float | None = None
    question: str | None = None  # price, what_if, why_lower, why_higher, elasticity, reset
    what_if: float | None = None
    language: str = "en"  # en or zh: the language the message is written in
    dropped: list[str] = field(default_factory=list)  # fields whose numbers were not in the message


MONEY_FIELDS = ("unit_cost", "current_price", "competitor_price", "min_price", "max_price", "what_if")
FRACTION_FIELDS = ("min_margin", "max_change")


def currency_of(text: str) -> str | None:
    """The currency of the first amount in `text` written with one ("about €12" -> "EUR"), else None."""
    for m in TOKEN.finditer(normalise(text)):
        code = currency_code(m["pre"] or m["post"])
        if code is not None:
            return code
    return None


def numbers_in(text: str) -> list[float]:
    """Every number `text` writes, read every way it can be read ("1.150" as 1150 and as 1.15), and the
    midpoint of every range ("12-14" gives 13): the numbers a reader may take from the message."""
    text = normalise(text)
    found: list[float] = []
    for m in re.finditer(r"\d[\d.,]*\d|\d", text):
        s = m.group()
        found.append(number_value(s))
        if "," in s and not re.fullmatch(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+,\d{1,2}", s):
            found += [float(piece) for piece in s.split(",") if re.fullmatch(r"\d+(?:\.\d+)?", piece)]
        for dec, group in ((".", ","), (",", ".")):
            candidate = s.replace(group, "").replace(dec, ".")
            if re.fullmatch(r"\d+(?:\.\d+)?", candidate):
                found.append(float(candidate))
    for m in TOKEN.finditer(text):
        if m["b"]:
            found.append((number_value(m["a"]) + number_value(m["b"])) / 2)
    return found


def grounded(value: float, numbers: list[float], fraction: bool = False) -> bool:
    """Whether `value` (a fraction stands for its percentage) is one of `numbers`."""
    v = value * 100 if fraction else value
    return any(math.isclose(v, n, rel_tol=1e-9, abs_tol=1e-6) for n in numbers)


def ground(ex: Extraction, text: str) -> Extraction:
    """`ex` without any number `text` does not contain: such a field becomes None (a sales row is removed)
    and is listed in `dropped`. Every reader's output passes through here before it becomes a fact."""
    numbers = numbers_in(text)
    update: dict = {}
    dropped = list(ex.dropped)
    for key in MONEY_FIELDS + FRACTION_FIELDS:
        value = getattr(ex, key)
        if value is not None and not grounded(value, numbers, key in FRACTION_FIELDS):
            update[key] = None
            dropped.append(key)
    sales = [row for row in ex.sales if grounded(row[0], numbers) and grounded(row[1], numbers)]
    if len(sales) < len(ex.sales):
        update["sales"] = sales
        dropped.append("sales")
    if "what_if" in update and ex.question == "what_if":
        update["question"] = None
    return replace(ex, **update, dropped=dropped)


_SEPARATOR = re.compile(r"[,;.!?，。；！？]|\b(?:and|then)\b|然后|接着")


def _time_order(sales: list[tuple[int, int, tuple[float, float]]], skeleton: str,
                times: list[tuple[int, tuple]]) -> list[tuple[float, float]]:
    """Sales rows ((start, end, row) in the skeleton) in time order when each row has a time word of its own,
    all of one kind; else in the order the message tells them. A time word belongs to the row it is closest
    to: fewest separators (commas, full stops, "and", "then") between them, then fewest characters."""
    rows = [row for _, _, row in sales]
    if len(sales) < 2 or len(times) != len(sales) or len({kind for _, (kind, _) in times}) != 1:
        return rows[::-1] if NEWEST_FIRST.search(skeleton) else rows
    owner = []
    for pos, _ in times:
        gaps = [skeleton[pos + 1:start] if pos < start else skeleton[end:pos] for start, end, _ in sales]
        owner.append(min(range(len(sales)), key=lambda k: (len(_SEPARATOR.findall(gaps[k])), len(gaps[k]))))
    values = [value for _, (_, value) in times]
    if sorted(owner) != list(range(len(sales))) or len(set(values)) != len(values):
        return rows
    when = {k: values[t] for t, k in enumerate(owner)}
    return [rows[k] for k in sorted(range(len(rows)), key=lambda k: when[k])]


def _skeleton(text: str) -> tuple[str, list[Amount], list[tuple[int, tuple]]]:
    """The message with each time and each amount replaced by one placeholder character."""
    times: list[tuple[int, int, tuple]] = []
    for pattern, rank in TIMES:
        for m in pattern.finditer(text):
            if len(times) < MAX_TIMES and not any(s < m.end() and m.start() < e for s, e, _ in times):
                times.append((m.start(), m.end(), rank(m)))
    masked = list(text)
    for i, (s, e, _) in enumerate(sorted(times)):
        masked[s:e] = [chr(TIME0 + i)] + ["\0"] * (e - s - 1)
    masked_text = "".join(masked)
    amounts: list[Amount] = []
    out, last = [], 0
    for m in TOKEN.finditer(masked_text):
        if len(amounts) == MAX_AMOUNTS:
            break
        amount = amount_of(m)
        out.append(masked_text[last:m.start()])
        out.append(chr((PCT0 if amount.pct else AMOUNT0) + len(amounts)))
        amounts.append(amount)
        last = m.end()
    out.append(masked_text[last:])
    skeleton = "".join(out).replace("\0", "")
    time_at = [(skeleton.index(chr(TIME0 + i)), rank) for i, (_, _, rank) in enumerate(sorted(times))]
    return skeleton, amounts, time_at


def _index(ch: str) -> int:
    return ord(ch) - (PCT0 if ord(ch) >= PCT0 else AMOUNT0)


def extract(text: str) -> Extraction:
    """The facts `text` states (see the module's docstring); numbers not in the message are dropped."""
    text = normalise(text)
    ex = Extraction(language=language_of(text))
    for kind, pattern in QUESTIONS:
        if pattern.search(text):
            ex.question = kind
            break
    if ex.question == "reset":
        return ex
    table = pasted_sales(text)  # sales pasted as a table are read by their columns, the rest as sentences
    skeleton, amounts, times = _skeleton(table[1] if table else text)
    used: set[int] = set()

    m = WHAT_IF.search(skeleton)
    if m:
        at = _index(m[1] or m[2])
        ex.what_if = amounts[at].value
        used.add(at)
        ex.question = "what_if" if ex.question in (None, "price") else ex.question

    sales = []
    for patterns, units_first in ((SALE_UP, True), (SALE_PU, False)):
        for pattern in patterns:
            for m in pattern.finditer(skeleton):
                i, j = _index(m[1]), _index(m[2])
                u, p = (amounts[i], amounts[j]) if units_first else (amounts[j], amounts[i])
                if {i, j} & used or u.money or u.value != int(u.value) or p.value <= 0:
                    continue
                used |= {i, j}
                sales.append((m.start(), m.end(), (u.value, p.value)))
    sales.sort(key=lambda row: row[0])
    ex.sales = table[0] if table else _time_order(sales, skeleton, times)

    claims: dict[int, tuple[int, str]] = {}  # amount -> (distance from its cue, field)
    for cues, marker, want_pct, after in ((CUES, A, False, False), (PCT_CUES, P, True, False),
                                          (POST_CUES, A, False, True), (PCT_POST_CUES, P, True, True)):
        for key, cue in cues.items():
            pattern = rf"{marker}(?P<gap>[\s-]{{0,2}})(?:{cue})" if after else rf"(?:{cue})(?P<gap>{GAP}){marker}"
            for m in re.finditer(pattern, skeleton, re.I):
                i = _index(skeleton[m.start() if after else m.end() - 1])
                if i in used or amounts[i].pct != want_pct:
                    continue
                distance = len(m["gap"])
                if i not in claims or distance < claims[i][0]:
                    claims[i] = (distance, key)
    for i in sorted(claims):
        key = claims[i][1]
        if getattr(ex, key) is None:
            value = amounts[i].value
            setattr(ex, key, value / 100 if key in FRACTION_FIELDS else value)

    m = NAME_EN.search(skeleton) or NAME_ZH.search(skeleton)
    if m:
        ex.name = " ".join(m.group(1).split())
    return ground(ex, text)
