"""The evidence's notes: one template per kind of note, and the numbers that fill it.

Why a table and not free text: the notes reach merchants in their own language (issue 16). The evidence keeps
each note as English text (`Evidence.notes`, what the API and the catalog show) and as (kind, numbers)
(`Evidence.note_parts`), from which `ui.answers` writes the same sentence in another language with the locale's
money and percentages. Money and counts are filled in as the English text writes them (`english`).
"""

from __future__ import annotations

NOTE_TEXTS: dict[str, str] = {
    "no_history": "no usable sales history: demand cannot be estimated, so no profit curve",
    "markdown": "nothing sold at any price tried although there was stock: the next price to try is {price}",
    "choke": "nothing sold at {price} although there was stock: prices stay below it",
    "top_edge": "profit still rises at {price}, {distance} the highest price tried ({seen}): the model does not "
                "extrapolate further, so try this price and let the sales decide",
    "bottom_edge": "profit still rises towards {price}, {distance} the lowest price tried ({seen}): the model does "
                   "not extrapolate further",
    "inelastic": "profit still rises at the top of the searched range: demand looks inelastic here",
    "elasticity": "elasticity {fit_note}",
    "stock": "stock on hand ({stock}) is below the expected demand at the model-optimal price: a higher price may "
             "sell the same units",
}
MONEY = ("price", "seen")  # filled in as amounts ("12.50")


def distance_words(change_pct: float) -> str:
    """'23% below' / '30% above': a price's true distance from a reference, in percent of the reference."""
    return f"{abs(change_pct):.0f}% {'above' if change_pct >= 0 else 'below'}"


def _english_value(key: str, value: object) -> object:
    if key in MONEY:
        return f"{value:.2f}"
    if key == "stock":
        return f"{value:.0f}"
    return distance_words(value) if key == "distance" else value  # type: ignore[arg-type]


def english(kind: str, values: dict) -> str:
    """The note in English: amounts with two decimals, the stock as a whole count, a distance in words."""
    return NOTE_TEXTS[kind].format(**{k: _english_value(k, v) for k, v in values.items()})
