"""How merchants write numbers and amounts, for the generated messages of `finetune.message_data`: grouped
thousands or not, decimal points or commas, cents or none, and each currency's marks in each language.
"""

from __future__ import annotations

import random


def digits(value: float, decimals: int, thousands: str, point: str) -> str:
    text = f"{value:,.{decimals}f}"  # "1,150.00"
    return text.replace(",", "\0").replace(".", point).replace("\0", thousands)


def number_text(value: float, rng: random.Random, comma_decimal: bool) -> str:
    """One way to write `value`: decimals only if it has cents (or sometimes ".00"), grouped thousands or not."""
    decimals = 0 if value == int(value) and rng.random() < 0.8 else 2
    grouped = value >= 1000 and rng.random() < 0.8
    if comma_decimal:
        return digits(value, decimals, "." if grouped else "", ",")
    return digits(value, decimals, "," if grouped else "", ".")


def amount_text(value: float, currency: str | None, lang: str, rng: random.Random, form: int = -1,
                 comma: bool = False) -> str:
    """An amount with its currency in one of the ways merchants write it (`form`: which; -1 any)."""
    n = number_text(value, rng, comma)
    if currency is None:
        return n
    forms = {"USD": ([f"${n}", f"${n}", f"{n} USD", f"USD {n}", f"{n} dollars"] if lang == "en"
                     else [f"${n}", f"USD {n}", f"{n}美元", f"${n}", f"US${n}"]),
             "EUR": [f"€{n}", f"{n} €", f"{n}€", f"EUR {n}", f"{n} EUR", f"{n} euros"],
             "GBP": [f"£{n}", f"£{n}", f"GBP {n}", f"{n} GBP"],
             "CNY": ([f"{n}元", f"¥{n}", f"{n}块", f"RMB {n}", f"{n}元", f"CNY {n}"] if lang == "zh"
                     else [f"¥{n}", f"CNY {n}", f"RMB {n}", f"{n} yuan", f"{n} RMB"])}[currency]
    return forms[form % len(forms)] if form >= 0 else rng.choice(forms)


def plain_number(value: float) -> str:
    """A number as a spreadsheet column writes it: no grouping, cents only when there are cents."""
    return f"{value:.0f}" if value == int(value) else f"{value:.2f}"
