"""The message reader's prompt and answer: what the small LLM that reads a merchant's chat message sees
and writes (issue 16). Training (`finetune.message_reader`) renders answers with `render_answer`; the chat
(`ui.message_reader`) parses them with `parse_answer`: one format, two sides.

**The answer copies, it never computes.** One line per fact the message states, `field: text`, where
text is the amount exactly as the message writes it ("12,50 €", "$1,150", "6-7元", "30%"; a leading
"about" is not part of it), a sale as `sale: <units as written> @ <price as written>`, oldest first, and
`question: <kind>`; the single line `none` when the message states nothing. Why copying: a 135M model
is poor at arithmetic on digits (turning "1.150,00 €" into 1150, a range into its midpoint, 30% into
0.3), and a copied text can be checked: the chat keeps a value only when its text appears in the message
and code turns the text into a number (`ui.message.amount_value`), so the model cannot invent one.

Field names are English in both languages: they are the answer's keys, not text a merchant reads.
"""

from __future__ import annotations

READER_ADAPTER = "message-reader"  # under agent/adapters/
READER_LAYOUT = "reader"  # the prompt layout its pricing.json names: it reads messages, it does not price
TEXT_FIELDS = ("name", "unit_cost", "current_price", "competitor_price", "min_price", "max_price",
               "min_margin", "max_change", "what_if_price")
QUESTIONS = ("price", "what_if", "why_lower", "why_higher", "elasticity", "reset")
SYSTEM = ("Read the merchant's message. Write each fact it states on its own line as 'field: text', "
          "copying numbers exactly as written; 'none' if it states no fact.")
NOTHING = "none"


def reader_prompt(message: str) -> list[dict]:
    """The chat messages the reader model gets for one merchant message."""
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": message.strip()}]


def render_answer(texts: dict[str, str], sales: list[tuple[str, str]], question: str | None) -> str:
    """The answer for facts given as written: `texts` maps a field of TEXT_FIELDS to its text, `sales`
    lists (units text, price text) oldest first."""
    lines = [f"{key}: {texts[key]}" for key in TEXT_FIELDS if texts.get(key)]
    lines += [f"sale: {units} @ {price}" for units, price in sales]
    if question:
        lines.append(f"question: {question}")
    return "\n".join(lines) if lines else NOTHING


def parse_answer(answer: str) -> tuple[dict[str, str], list[tuple[str, str]], str | None]:
    """(texts, sales, question) from an answer; lines it cannot read are skipped, a field said twice
    keeps its first text. Nothing here says the texts are true: the caller checks them against the message."""
    texts: dict[str, str] = {}
    sales: list[tuple[str, str]] = []
    question = None
    for line in answer.splitlines():
        key, sep, value = line.partition(":")
        key, value = key.strip().lower(), value.strip()
        if not sep or not value:
            continue
        if key == "sale":
            units, at, price = value.rpartition(" @ ")
            if at and units.strip() and price.strip():
                sales.append((units.strip(), price.strip()))
        elif key == "question":
            if question is None and value in QUESTIONS:
                question = value
        elif key in TEXT_FIELDS:
            texts.setdefault(key, value)
    return texts, sales, question
