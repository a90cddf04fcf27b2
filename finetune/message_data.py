"""Merchant messages with their gold facts, for reading a chat message into facts (issue 16).

A seeded generator of what merchants write in the chat, in English and Simplified Chinese, from
templates and paraphrases written here, each message paired with the facts it states (`GoldFacts`):
product name, unit cost, current price, competitor price, sales rows (units, price) in time order,
guardrail commands (minimum / maximum price, margin floor, maximum change per period) and the
question asked (a price recommendation, a what-if price, why not lower / higher, how sensitive demand
is, start over).

**Phrasings are split, not just samples.** Every phrasing of every field (and every greeting, sales
frame and joint) has an id and belongs to exactly one family, `train` or `heldout`; a train message is
built only from train phrasings and a held-out message only from held-out ones, so the held-out set
reads phrasings that neither a model's training nor the tuning of the pattern matcher ever saw. A
message's `template_id` lists the ids it was built from.

**What the gold means.**

* Amounts are in the merchant's currency as written ($ € £ ¥, USD EUR GBP CNY RMB, 元 块), with
  thousands separators ("1,150", "1.150,00 €") and decimal commas ("12,50 €") as merchants write
  them; the gold is the number (1150.0, 12.5), currency not kept (one product, one currency).
* "about 6.50", "around", "roughly", "大约", "左右": the gold is the number said (6.5).
* A range, "6-7", "$12 to $14", "12到14元": the gold is its **midpoint** (6.5, 13.0), the value a
  merchant means by "somewhere between". It is the one derived number: a check that every number of
  the facts appears in the message counts a range's midpoint as appearing (`ui.message.numbers_in`).
* Percentages are fractions (30% -> 0.3).
* Sales are in time order, oldest first, whatever order the message tells them in ("this week 90 at
  $14, last week 120 at $12" is [(120, 12), (90, 14)]); the time words themselves (weeks, months,
  dates) are not facts the assistant keeps, and their digits ("3月", "2026-03-02") are not amounts.
* A field the message does not state is None (the reader must not fill it in); `question` is None
  when the message asks nothing.
* Numbers are written in Arabic digits in both languages (Chinese numerals such as 一百二十 are not
  generated: merchants type prices and counts in digits, and the check "every number appears in the
  message" would need a second number system).

`build_messages(seed=...)` is deterministic: the same seed gives the same records.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from finetune.message_layouts import MORE_NAMES, sales_block
from finetune.message_numbers import amount_text, digits, number_text, plain_number
from finetune.message_phrases import APPROX, CURRENCIES, ITEMS, JOINS, NAMES, PHRASES, SALE_JOINS, WHEN

__all__ = ["PHRASES", "WHEN", "GoldFacts", "GoldSale", "MessageRecord", "build_messages", "make_message",
           "phrase_ids"]

Language = Literal["en", "zh"]
Split = Literal["train", "heldout"]
Question = Literal["price", "what_if", "why_lower", "why_higher", "elasticity", "reset"]
SPLITS: tuple[Split, ...] = ("train", "heldout")
FIELDS = ("name", "unit_cost", "current_price", "competitor_price", "sales", "min_price", "max_price",
          "min_margin", "max_change", "question", "what_if_price")


class GoldSale(BaseModel):
    model_config = ConfigDict(extra="forbid")

    units: float = Field(ge=0)
    price: float = Field(gt=0)


class GoldFacts(BaseModel):
    """What one message states. None (or no sales) means the message does not say it."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = None
    unit_cost: float | None = None
    current_price: float | None = None
    competitor_price: float | None = None
    sales: list[GoldSale] = Field(default_factory=list)
    min_price: float | None = None
    max_price: float | None = None
    min_margin: float | None = None
    max_change: float | None = None
    question: Question | None = None
    what_if_price: float | None = None

    def numbers(self) -> list[float]:
        """Every number of the facts as the message writes it (fractions as percentages)."""
        out = [v for v in (self.unit_cost, self.current_price, self.competitor_price, self.min_price,
                           self.max_price, self.what_if_price) if v is not None]
        out += [round(v * 100, 6) for v in (self.min_margin, self.max_change) if v is not None]
        for s in self.sales:
            out += [s.units, s.price]
        return out


class MessageRecord(BaseModel):
    model_config = ConfigDict(extra="forbid")

    message: str
    language: Language
    facts: GoldFacts
    template_id: str  # the phrasing ids it was built from, "+"-joined
    split: Split
    # how the message writes each stated number: field -> text ("$6.50", "12,50 €", "30%", "6-7元"), and
    # "sales" -> [[units text, price text], ...] oldest first; what a reader copies (finetune.message_reader)
    spans: dict = Field(default_factory=dict)


def _scale(rng: random.Random) -> float:
    """The price level of one product: mostly under 100, some in the hundreds, a few in the thousands."""
    r = rng.random()
    if r < 0.7:
        return rng.uniform(2.0, 100.0)
    return rng.uniform(100.0, 999.0) if r < 0.9 else rng.uniform(1000.0, 20000.0)


def _round(v: float, rng: random.Random) -> float:
    """`v` as a merchant would quote it: whole, .99, halves or cents."""
    style = rng.random()
    if style < 0.35 or v >= 1000:
        return float(max(1, round(v)))
    if style < 0.55:
        return round(int(v) + 0.99, 2) if v >= 1 else round(v, 2)
    if style < 0.7:
        return max(0.5, round(v * 2) / 2)
    return round(v, 2)


FACTOR = {"cost": (0.3, 0.75), "competitor": (0.85, 1.2), "current": (0.9, 1.1), "min_price": (0.7, 0.95),
          "max_price": (1.1, 1.5), "what_if": (0.8, 1.3), "sale": (0.8, 1.25)}
FACTOR |= {"cur_named": FACTOR["current"], "cost_named": FACTOR["cost"]}


class _Writer:
    """Renders the amounts of one message in one currency and remembers nothing else."""

    def __init__(self, lang: str, rng: random.Random):
        self.lang, self.rng = lang, rng
        self.currency = rng.choice(CURRENCIES[lang])
        self.form = rng.randrange(6)  # a merchant writes amounts one way in a message, mostly
        self.comma = self.currency == "EUR" and rng.random() < 0.6  # decimal commas

    def amount(self, value: float, approx_ok: bool = False) -> str:
        form = self.form if self.rng.random() < 0.8 else -1
        text = amount_text(value, self.currency, self.lang, self.rng, form, self.comma)
        self.last = text  # the amount as written, without "about"
        if approx_ok and self.rng.random() < 0.25:
            if self.lang == "zh" and self.rng.random() < 0.4:
                return text + "左右"
            return self.rng.choice(APPROX[self.lang]) + text
        return text

    def maybe_range(self, value: float) -> tuple[float, str] | None:
        """A range around `value` (the gold becomes its midpoint), or None."""
        if self.rng.random() >= 0.12 or not 2 <= value < 1000:
            return None
        lo = float(int(value))
        hi = lo + self.rng.choice([1.0, 2.0, 4.0]) if lo < 100 else lo + self.rng.choice([10.0, 20.0, 50.0])
        a, b = number_text(lo, self.rng, False), number_text(hi, self.rng, False)
        if self.lang == "zh":
            text = self.rng.choice([f"{a}到{b}元", f"{a}-{b}元", f"{a}~{b}块"])
        else:
            sym = {"USD": "$", "EUR": "€", "GBP": "£", "CNY": "¥"}.get(self.currency or "", "")
            text = self.rng.choice([f"{sym}{a}-{b}", f"{sym}{a} to {sym}{b}", f"{sym}{a}–{sym}{b}"])
        return round((lo + hi) / 2, 2), text

    def count(self, value: int) -> str:
        sep = ("." if self.currency == "EUR" and self.rng.random() < 0.3 else ",") if self.rng.random() < 0.8 else ""
        return digits(float(value), 0, sep, ".")

    def pct(self, value: int) -> str:
        if self.lang == "zh":
            return self.rng.choice([f"{value}%", f"{value}％", f"百分之{value}"])
        return self.rng.choice([f"{value}%", f"{value} %", f"{value} percent"])


# --- composing one message ----------------------------------------------------------------------------


class _Builder:
    def __init__(self, lang: str, split: Split, rng: random.Random):
        self.lang, self.split, self.rng = lang, split, rng
        self.w = _Writer(lang, rng)
        self.ids: list[str] = []
        self.facts: dict = {}
        self.spans: dict = {}  # field -> the text the message writes its value with (sales: [(units, price)])
        self.scale = _scale(rng)

    def value(self, slot: str) -> float:
        lo, hi = FACTOR[slot]
        return _round(self.scale * self.rng.uniform(lo, hi), self.rng)

    def pick(self, slot: str) -> str:
        options = PHRASES[self.lang][slot][SPLITS.index(self.split)]
        i = self.rng.randrange(len(options))
        self.ids.append(f"{self.lang}.{slot}.{self.split[0]}{i}")
        return options[i]

    def join(self, parts: list[str], joints: dict) -> str:
        options = joints[self.lang][SPLITS.index(self.split)]
        out = parts[0]
        for part in parts[1:]:
            if part.startswith("\n") or out.endswith("\n"):  # a pasted block stands on its own lines
                out = out.rstrip() + "\n" + part.lstrip("\n")  # a block's closing newline ends its line
                continue
            j = self.rng.choice(options)
            out += j + (part[:1].upper() + part[1:] if j.strip() == "." else part)
        return out.strip()

    # each method returns the text of one clause and records its gold fact

    def draw_name(self) -> tuple[str, str]:
        """(surface, gold) of a product name; train messages also draw from the second family's names."""
        pool = NAMES[self.lang] + ([(n, n) for n in MORE_NAMES[self.lang]] if self.split == "train" else [])
        return self.rng.choice(pool)

    def name(self) -> str:
        surface, gold = self.draw_name()
        self.facts["name"] = gold
        return self.pick("name").format(name=surface, bare=gold)

    def money_clause(self, slot: str, key: str) -> str:
        value = self.value(slot)
        template = self.pick(slot)
        rng_text = self.w.maybe_range(value) if slot in ("cost", "competitor") else None
        if rng_text is not None:
            value, text = rng_text
            self.spans[key] = text
        else:
            text = self.w.amount(value, approx_ok=slot in ("cost", "competitor", "current")
                                 and "about" not in template and "大约" not in template)
            self.spans[key] = self.w.last
        self.facts[key] = value
        field = "cost" if "{cost}" in template else "p"
        words = {field: text}
        if "{bare}" in template:  # a clause that names the product too ("my {bare} cost me {cost} each")
            words["bare"] = self.draw_name()[1]
            self.facts["name"] = words["bare"]
        return template.format(**words)

    def pct_clause(self, slot: str, key: str) -> str:
        value = self.rng.choice([5, 10, 15, 20, 25, 30, 35, 40, 50])
        self.facts[key] = value / 100
        template = self.pick(slot)
        self.spans[key] = self.w.pct(value)
        return template.format(pct=self.spans[key])

    def sales(self) -> str:
        n = self.rng.choice([1, 2, 2, 2, 3, 3, 4])
        families = WHEN[self.lang][SPLITS.index(self.split)]
        f = self.rng.randrange(len(families))
        self.ids.append(f"{self.lang}.when.{self.split[0]}{f}")
        times = families[f][len(families[f]) - n:]
        rows = []
        for k in range(n):
            price = self.value("sale")
            units = self.rng.choice([self.rng.randint(3, 99), self.rng.randint(100, 999), self.rng.randint(1000, 5000)])
            rows.append((times[k], units, price))
        self.facts["sales"] = [{"units": float(u), "price": p} for _, u, p in rows]
        if self.split == "train" and n > 1 and self.rng.random() < 0.35:
            return self.pasted_sales(rows)
        rows = [(k, *row) for k, row in enumerate(rows)]
        told = list(reversed(rows)) if n > 1 and self.rng.random() < 0.2 else rows  # newest first, sometimes
        clauses, spans = [], {}
        for k, when, units, price in told:
            template = self.pick("sale")
            u_text, p_text = self.w.count(units), self.w.amount(price)
            spans[k] = (u_text, p_text)
            clauses.append(template.format(when=when, u=u_text, p=p_text,
                                           item=self.rng.choice(ITEMS[self.lang])).strip())
        self.spans["sales"] = [spans[k] for k in range(n)]  # oldest first, like the facts
        return self.join(clauses, SALE_JOINS)

    def pasted_sales(self, rows: list[tuple[str, int, float]]) -> str:
        """The sales rows as lines or a table (`finetune.message_layouts`), oldest first; a train-only layout."""
        self.ids.append(f"{self.lang}.layout.t0")
        plain = self.rng.random() < 0.5  # a spreadsheet's bare numbers, else the merchant's own amounts
        texts = [(str(u) if plain else self.w.count(u), plain_number(p) if plain else self.w.amount(p))
                 for _, u, p in rows]
        self.spans["sales"] = texts
        return "\n" + sales_block(self.lang, texts, ITEMS[self.lang], self.rng) + "\n"

    def question(self, kind: Question) -> str:
        self.facts["question"] = kind
        template = self.pick(f"q_{kind}")
        if kind == "what_if":
            value = self.value("what_if")
            self.facts["what_if_price"] = value
            self.spans["what_if_price"] = self.w.amount(value)
            return template.format(p=self.spans["what_if_price"])
        return template


def _full(b: _Builder) -> list[str]:
    train = b.split == "train"  # every draw for the second train family sits behind this test: held-out
    parts = [b.name()] if b.rng.random() < 0.75 else []  # messages stay exactly what they were
    named = train and not parts and b.rng.random() < 0.7  # the product named inside the cost or price clause
    cost_slot = "cost_named" if named and b.rng.random() < 0.5 else "cost"
    facts = [lambda: b.money_clause(cost_slot, "unit_cost"), b.sales]
    if b.rng.random() < 0.5:
        facts.append(lambda: b.money_clause("competitor", "competitor_price"))
    if named and cost_slot == "cost":
        facts.append(lambda: b.money_clause("cur_named", "current_price"))
    elif b.rng.random() < (0.45 if train else 0.2):
        facts.append(lambda: b.money_clause("current", "current_price"))
    b.rng.shuffle(facts)
    parts += [f() for f in facts]
    if b.rng.random() < 0.7:
        parts.append(b.question(b.rng.choice(["price", "price", "elasticity"])))
    return parts


def _partial(b: _Builder) -> list[str]:
    choice = b.rng.choice(["cost", "sales", "competitor", "current", "cost+sales"]
                          + (["cost+current", "cur_named", "cost_named+competitor"] if b.split == "train" else []))
    parts = []
    if choice.startswith("cost_named"):
        parts.append(b.money_clause("cost_named", "unit_cost"))
    if choice == "cur_named":
        parts.append(b.money_clause("cur_named", "current_price"))
    if "cost" in choice.split("+"):
        parts.append(b.money_clause("cost", "unit_cost"))
    if "sales" in choice:
        parts.append(b.sales())
    if choice.endswith("competitor"):
        parts.append(b.money_clause("competitor", "competitor_price"))
    if choice.endswith("current"):
        parts.append(b.money_clause("current", "current_price"))
    return parts


_GUARDS: dict[str, Callable[[_Builder], str]] = {
    "min_margin": lambda b: b.pct_clause("min_margin", "min_margin"),
    "max_change": lambda b: b.pct_clause("max_change", "max_change"),
    "min_price": lambda b: b.money_clause("min_price", "min_price"),
    "max_price": lambda b: b.money_clause("max_price", "max_price"),
}


def _guardrails(b: _Builder) -> list[str]:
    keys = b.rng.sample(sorted(_GUARDS), b.rng.choice([1, 1, 2]))
    if "min_price" in keys and "max_price" in keys:
        keys.remove("max_price")  # a floor and a ceiling drawn apart could contradict each other
    return [_GUARDS[k](b) for k in keys]


def _follow_up(b: _Builder) -> list[str]:
    kind = b.rng.choice(["what_if", "what_if", "why_lower", "why_higher", "elasticity", "elasticity", "reset"])
    return [b.question(kind)]


def _chatter(b: _Builder) -> list[str]:
    """Small talk that states nothing and asks nothing ("thanks!", "我再想想"): the gold is empty."""
    return [b.pick("chatter")]


KINDS = [(_full, 0.45), (_partial, 0.2), (_guardrails, 0.15), (_follow_up, 0.2)]
TRAIN_KINDS = KINDS + [(_chatter, 0.04)]


def make_message(lang: Language, split: Split, rng: random.Random) -> MessageRecord:
    b = _Builder(lang, split, rng)
    kinds = TRAIN_KINDS if split == "train" else KINDS
    kind = rng.choices([k for k, _ in kinds], weights=[w for _, w in kinds])[0]
    parts = kind(b)
    if split == "train" and len(parts) > 2 and rng.random() < 0.15:  # facts as a list, one per line
        bullet = rng.choice(["", "- ", "• "])
        text = "\n".join(p.strip("\n") if "\n" in p else bullet + p for p in parts)
    elif kind not in (_follow_up, _chatter) and rng.random() < 0.2:
        parts.insert(0, b.pick("greeting"))
        space = "\n" if parts[1].startswith("\n") else " " if lang == "en" else ""
        text = parts[0] + space + b.join(parts[1:], JOINS)
    else:
        text = b.join(parts, JOINS)
    if lang == "en":
        text = text[:1].upper() + text[1:] if rng.random() < 0.7 else text
        if not text.endswith(("?", ".", "!")) and rng.random() < 0.5:
            text += "."
    elif not text.endswith(("？", "。", "！")) and rng.random() < 0.5:
        text += "。"
    return MessageRecord(message=text, language=lang, facts=GoldFacts.model_validate(b.facts),
                         template_id="+".join(b.ids), split=split, spans=b.spans)


def build_messages(n_train: int = 2000, n_heldout: int = 600, seed: int = 0) -> list[MessageRecord]:
    """`n_train` train and `n_heldout` held-out messages, half English, half Chinese; deterministic from `seed`."""
    records = []
    for split, n in (("train", n_train), ("heldout", n_heldout)):
        rng = random.Random(f"merchant-messages/{seed}/{split}")
        for i in range(n):
            records.append(make_message("en" if i % 2 == 0 else "zh", split, rng))
    return records


def phrase_ids(split: Split) -> set[str]:
    """Every phrasing id of a split's family (whether or not a sample used it)."""
    ids = {f"{lang}.{slot}.{split[0]}{i}" for lang, slots in PHRASES.items() for slot, pair in slots.items()
           for i in range(len(pair[SPLITS.index(split)]))}
    ids |= {f"{lang}.when.{split[0]}{i}" for lang, pair in WHEN.items() for i in range(len(pair[SPLITS.index(split)]))}
    return ids | ({f"{lang}.layout.t0" for lang in PHRASES} if split == "train" else set())
