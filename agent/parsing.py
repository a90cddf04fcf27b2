"""Reading a price out of a model's answer.

The prompt asks for one fixed format:

    PRICE: 12.49
    REASON: one short sentence

Models drift, so the parser is tolerant: currency signs and codes ($, €, £, USD, EUR), thousands
separators (1,299.00), a decimal comma (12,49), words around the number, any case. It first looks
for a number after `price` (`PRICE: $12.49`, `price = 12.49`, `the new price is 12.49`); failing
that, it accepts an answer that contains exactly one number. Anything else — no number, several
unlabelled numbers, zero, negative, inf/NaN — is unparseable (None): the caller falls back.
"""

from __future__ import annotations

import math
import re

_NUMBER = r"[-+]?(?:\d{1,3}(?:[.,\u00a0 ]\d{3})+|\d+)(?:[.,]\d+)?|[-+]?[.,]\d+"
_CURRENCY = r"(?:[$€£¥]|usd|eur|gbp|dollars?|euros?)"
_LABELLED = re.compile(
    rf"price\b[^0-9+\-.,$€£¥\n]{{0,20}}?{_CURRENCY}?\s*({_NUMBER})", re.IGNORECASE)
_ANY = re.compile(_NUMBER)
_REASON = re.compile(r"reason\s*[:=-]\s*(.+)", re.IGNORECASE)


def _to_float(token: str) -> float | None:
    t = token.replace("\u00a0", "").replace(" ", "")
    if "," in t and "." in t:  # 1,299.00 (or 1.299,00: the last separator is the decimal one)
        t = t.replace(",", "") if t.rfind(".") > t.rfind(",") else t.replace(".", "").replace(",", ".")
    elif "," in t:
        head, _, tail = t.rpartition(",")
        t = f"{head.replace(',', '')}.{tail}" if len(tail) != 3 else t.replace(",", "")
    try:
        value = float(t)
    except ValueError:
        return None
    return value if math.isfinite(value) and value > 0 else None


def parse_price(text: str) -> float | None:
    """The price in a model answer, or None when there is no single clear positive price."""
    if not text:
        return None
    labelled = _LABELLED.search(text)
    if labelled:
        return _to_float(labelled.group(1))
    numbers = _ANY.findall(text)
    return _to_float(numbers[0]) if len(numbers) == 1 else None


def parse_reason(text: str) -> str | None:
    """The text after `REASON:`, first line only, or None."""
    match = _REASON.search(text or "")
    if not match:
        return None
    reason = match.group(1).strip().splitlines()[0].strip()
    return reason[:300] or None
