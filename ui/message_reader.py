"""Reading a chat message with the LLM reader, the pattern matcher as its fallback (issue 16).

The reader is a LoRA on the embedded model (`agent/adapters/message-reader`, trained by
`finetune.message_reader`) that copies each fact of a message as the message writes it
(`agent.reader_format`). Nothing it writes becomes a fact unchecked:

* a number's text must appear in the message (after full-width digits are made ASCII), each written
  amount serves one fact only (a sales row built from numbers other rows used is dropped), and code reads it
  (`ui.message.amount_value`): a text that is not in the message, or is not one amount, is dropped and
  listed in `Extraction.dropped`; a percentage field needs a percentage, a money field an amount that is
  not one; the result passes `ui.message.ground` like every reader's;
* a product name must appear in the message; a question must be one of the known kinds.

The pattern matcher (`ui.message.extract`) reads the same message, and where it reads a field its reading
stands; the model fills what the matcher left out (`merged`). Why that order: on the 120 blind dev messages
of `bench/data/` (written by someone who never saw either reader's wordings) every cost (46), competitor
price (12), guardrail and what-if price the matcher read was right, and 22 of its 25 sales readings and 33
of its 35 questions, while the first reader model's costs were right 45 times of 56, its sales 16 of 32 and
its questions 41 of 58. The model is there for the wordings the matcher has no pattern for.

Without the adapter, or when the model fails to load or to answer, the matcher alone reads, and the server
log says why once.
"""

from __future__ import annotations

import logging
import math
import threading
from dataclasses import fields, replace
from pathlib import Path

from agent.reader_format import READER_ADAPTER, READER_LAYOUT, parse_answer, reader_prompt
from ui.message import Extraction, extract, ground
from ui.message_text import TOKEN, amount_value, language_of, normalise

log = logging.getLogger("ui.message_reader")

ADAPTER_DIR = Path(__file__).resolve().parent.parent / "agent" / "adapters" / READER_ADAPTER
MAX_ANSWER_TOKENS = 128  # the longest gold answer of the generated messages is 115 tokens
PROMPT_LOOKUP = 10  # tokens proposed from the message at a time (`copy_generate`)
MAX_MESSAGE_CHARS = 1200  # a longer message is read by the matcher alone (the reader was trained on short ones)
NAME_CHARS = 80


class _Written:
    """The amounts `text` writes, each usable once: a number written once states one fact, so a model that
    pairs one written price with two sales rows (a row it made up from numbers of other rows) loses the second."""

    def __init__(self, plain: str):
        self.plain = plain
        self.free = [a.value for m in TOKEN.finditer(plain) if (a := amount_value(m.group())) is not None]

    def take(self, span: str):
        """The amount `span` writes, if the message writes it and that writing is not used yet; else None."""
        amount = amount_value(span) if normalise(span) in self.plain else None
        if amount is None:
            return None
        for i, value in enumerate(self.free):
            if math.isclose(value, amount.value, rel_tol=1e-9, abs_tol=1e-6):
                del self.free[i]
                return amount
        return None


def from_answer(answer: str, text: str) -> Extraction:
    """The facts of `text` an answer in the copy format states, every value checked against `text`."""
    plain = normalise(text)
    written = _Written(plain)
    texts, sales, question = parse_answer(answer)
    ex = Extraction(language=language_of(plain), question=question)
    dropped: list[str] = []
    for key, span in texts.items():
        target = "what_if" if key == "what_if_price" else key
        if key == "name":
            if len(span) <= NAME_CHARS and span.lower() in text.lower():
                ex.name = " ".join(span.split())
            continue
        amount = written.take(span)
        wants_pct = key in ("min_margin", "max_change")
        if amount is None or amount.pct != wants_pct or amount.value <= 0:
            dropped.append(target)
            continue
        setattr(ex, target, amount.value / 100 if wants_pct else amount.value)
    for units_text, price_text in sales:
        units, price = written.take(units_text), written.take(price_text)
        if (units is None or price is None or units.pct or price.pct or units.money
                or units.value != int(units.value) or price.value <= 0):
            dropped.append("sales")
            continue
        ex.sales.append((units.value, price.value))
    if ex.question == "what_if" and ex.what_if is None:
        ex.question = None
    ex.dropped = sorted(set(dropped))
    return ground(ex, text)


def combine(first: Extraction, fallback: Extraction) -> Extraction:
    """`first`, with every field it left empty taken from `fallback` (sales as a whole, never merged row by row)."""
    update = {}
    for f in fields(Extraction):
        if f.name in ("language", "dropped"):
            continue
        mine, theirs = getattr(first, f.name), getattr(fallback, f.name)
        if (mine is None or mine == []) and theirs not in (None, []):
            update[f.name] = theirs
    if first.what_if is None and update.get("what_if") is not None and first.question not in (None, "what_if"):
        update.pop("what_if")  # the model heard another question: a stray what-if price would change the answer
    return replace(first, **update)


def merged(model: Extraction, matched: Extraction) -> Extraction:
    """What the chat keeps of one message: the matcher's reading, the model's filling what the matcher left
    out (see the module's docstring for why the matcher goes first); a reset the matcher heard stands alone.
    Sales are the one field taken from whichever reader found more rows (each row of either is already checked
    against the message): a matcher that read two of three rows missed the third's wording."""
    if matched.question == "reset":
        return matched
    out = combine(matched, model)
    return replace(out, sales=model.sales) if len(model.sales) > len(matched.sales) else out


class MessageReader:
    """Reads messages into facts: the LLM reader with the matcher filling in (`mode="llm"`), or the matcher
    alone (`mode="matcher"`, also what an LLM reader falls back to when its model cannot be used)."""

    def __init__(self, mode: str = "llm", adapter: str | Path | None = None, model: str | None = None,
                 dtype: str = "auto"):
        if mode not in ("llm", "matcher"):
            raise ValueError(f"unknown message reader {mode!r}: use 'llm' or 'matcher'")
        self.mode, self.model, self.dtype = mode, model, dtype
        self.adapter = Path(adapter) if adapter else ADAPTER_DIR
        self._lm = None
        self._failed: str | None = None
        self._lock = threading.Lock()

    @property
    def active(self) -> str:
        """What reads messages now: 'llm' or 'matcher' (and why, after a failure)."""
        if self.mode == "matcher":
            return "matcher"
        return f"matcher (LLM reader unavailable: {self._failed})" if self._failed else "llm"

    def load(self):
        """The reader model (base with the adapter merged), loaded once; None when it cannot be used."""
        with self._lock:
            if self._lm is None and self._failed is None and self.mode == "llm":
                try:
                    self._lm = _load(self.adapter, self.model, self.dtype)
                except Exception as err:  # a missing adapter or a broken install: the matcher still reads
                    self._failed = str(err) or type(err).__name__
                    log.warning("message reader: using the pattern matcher only (%s)", self._failed)
            return self._lm

    def __call__(self, text: str) -> Extraction:
        return self.read_many([text])[0]

    def read_many(self, texts: list[str]) -> list[Extraction]:
        """Each text read as `__call__` reads it."""
        matched = [extract(t) for t in texts]
        todo = [i for i, (t, m) in enumerate(zip(texts, matched, strict=True))
                if self.mode == "llm" and m.question != "reset" and len(t) <= MAX_MESSAGE_CHARS]
        answers = self.answers([texts[i] for i in todo]) if todo else []
        out = list(matched)
        for i, answer in zip(todo, answers, strict=True):
            if answer is not None:
                out[i] = merged(from_answer(answer, texts[i]), matched[i])
        return out

    def answers(self, texts: list[str]) -> list[str | None]:
        """The model's raw answers (greedy, each message computed alone: `agent.generation.copy_generate`), or
        Nones when the model cannot be used."""
        from agent.generation import copy_generate

        lm = self.load()
        if lm is None:
            return [None] * len(texts)
        try:
            with self._lock:
                return [copy_generate(lm, reader_prompt(t), MAX_ANSWER_TOKENS, PROMPT_LOOKUP) for t in texts]
        except Exception as err:  # never lose a chat turn to the model: the matcher's reading stands
            log.warning("message reader: generation failed (%s); using the pattern matcher", err)
            return [None] * len(texts)


def _load(adapter: Path, model: str | None, dtype: str):
    """The reader model through the one loader (`agent.model.load_model`: adapter merged, output layer made
    contiguous, cached), refused unless the adapter was trained to read messages."""
    from agent.model import ModelNotAvailable, load_model

    lm = load_model(model, adapter=adapter, dtype=dtype)
    if lm.prompt_layout != READER_LAYOUT:
        raise ModelNotAvailable(f"adapter {adapter}: a pricing adapter (prompt layout {lm.prompt_layout!r}), "
                                "not the message reader")
    return lm
