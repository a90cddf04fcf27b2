"""What the merchant told us, turned into a `PricingContext` without guessing.

The chat is the merchant's words; the policy needs a `PricingContext`. This module sits between
the two. Extraction is deterministic pattern matching (`ui.message`: English and Chinese, any currency,
thousands separators and decimal commas), not the LLM: a 135M model invents numbers when asked to
extract them, and a price built on an invented cost is worse than a question; every number read must
appear in the message. Every
fact found is shown back in the form beside the chat, where the merchant can correct it, and a
fact that is missing (the unit cost, any sales at a known price) becomes a question, never a
default.

The merchant's text is untrusted: nothing here executes or forwards instructions in it; the only
things taken from it are numbers matched by the patterns below and a bounded product name, which
the prompt quotes as data.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from env.context import Guardrails, HistoryRow, PricingContext, Product
from env.errors import describe_error
from ui.i18n import N_
from ui.message import Extraction, currency_of, extract

NAME_CHARS = 80
MAX_HISTORY_ROWS = 520  # ten years of weekly sales: more is an upload mistake, not a history

class Sale(BaseModel):
    """One observed period: units sold at a price (and the competitor's price then, if known)."""

    model_config = ConfigDict(extra="forbid")

    price: float = Field(gt=0)
    units: float = Field(ge=0)
    competitor_price: float | None = Field(default=None, gt=0)


class MerchantFacts(BaseModel):
    """Everything the merchant has told us about one product. None means "not told", never a default."""

    model_config = ConfigDict(extra="forbid")

    sku: str = "chat-product"
    name: str = ""
    unit_cost: float | None = Field(default=None, ge=0)
    current_price: float | None = Field(default=None, gt=0)
    competitor_price: float | None = Field(default=None, gt=0)
    sales: list[Sale] = Field(default_factory=list, max_length=MAX_HISTORY_ROWS)
    min_price: float | None = Field(default=None, gt=0)
    max_price: float | None = Field(default=None, gt=0)
    min_margin: float | None = Field(default=None, ge=0, lt=1)
    max_change: float | None = Field(default=None, gt=0)
    source: str = "chat"  # chat, demo SKU, or uploaded file: shown so the merchant knows where facts came from
    currency: str | None = None  # ISO code of the merchant's amounts (the latest message that wrote one)

    def price_now(self) -> float | None:
        """The price charged now: as told, else the last observed one."""
        if self.current_price is not None:
            return self.current_price
        return self.sales[-1].price if self.sales else None

    def missing(self) -> list[str]:
        """Questions for the facts a recommendation cannot do without (English msgids: the chat translates them)."""
        questions = []
        if self.unit_cost is None:
            questions.append(N_("What does one unit cost you (purchase or production cost)?"))
        if not self.sales:
            questions.append(N_("How many did you sell recently, and at what price? For example: "
                                "\"I sold 120 at $12 last week and 90 at $14 this week\"."))
        return questions

    def context(self) -> PricingContext:
        """The PricingContext of these facts. ValueError (one line) if they are incomplete or contradictory."""
        if self.missing():
            raise ValueError(" ".join(self.missing()))
        try:
            history = tuple(HistoryRow(period=i, price=s.price, units=s.units, competitor_price=s.competitor_price)
                            for i, s in enumerate(self.sales))
            return PricingContext(
                product=Product(sku=self.sku, name=self.name[:NAME_CHARS], unit_cost=self.unit_cost,
                                current_price=self.price_now()),
                guardrails=Guardrails(min_price=self.min_price, max_price=self.max_price,
                                      min_margin=self.min_margin, max_change=self.max_change),
                history=history,
                competitor_price=self.competitor_price,
            )
        except ValidationError as err:
            raise ValueError(describe_error(err)) from None


@dataclass
class Reading:
    """What one chat message said: updated facts, what changed, and what the merchant asked for."""

    facts: MerchantFacts
    changed: list[str] = field(default_factory=list)
    what_if: float | None = None
    why_not: str | None = None  # "lower" or "higher"
    reset: bool = False
    question: str | None = None  # what it asks: price, what_if, why_lower, why_higher, elasticity, reset
    language: str = "en"  # en or zh: the language of the message


def read_message(text: str, facts: MerchantFacts, reader: Callable[[str], Extraction] = extract) -> Reading:
    """Updates `facts` with what `text` states; never fills in anything the text does not say.

    `reader`: what turns the text into an `Extraction`: the pattern matcher (default) or the chat's
    `ui.message_reader.MessageReader` (the LLM reader, the matcher filling in); both check every number
    against the text (`ui.message.ground`)."""
    ex = reader(text)
    if ex.question == "reset":
        return Reading(MerchantFacts(), ["everything (start over)"], reset=True, question="reset",
                       language=ex.language)
    update: dict = {}
    changed: list[str] = []
    why_not = {"why_lower": "lower", "why_higher": "higher"}.get(ex.question or "")
    sales = [Sale(price=price, units=units) for units, price in ex.sales]
    if sales:
        update["sales"] = list(facts.sales) + sales
        changed.append(f"{len(sales)} sales observation{'s' if len(sales) > 1 else ''}")
    for key, label in (("unit_cost", "unit cost"), ("competitor_price", "competitor price"),
                       ("current_price", "current price"), ("min_price", "minimum price"),
                       ("max_price", "maximum price")):
        value = getattr(ex, key)
        if value is not None and value > 0:
            update[key] = value
            changed.append(label)
    for key, label in (("min_margin", "margin floor"), ("max_change", "max change")):
        value = getattr(ex, key)
        if value is not None:
            if key == "min_margin" and not 0 <= value < 1:
                raise ValueError("A margin floor must be between 0% and 99%.")
            if key == "max_change" and value <= 0:
                raise ValueError("A maximum change must be above 0%.")
            update[key] = value
            changed.append(label)
    if (currency := currency_of(text)) is not None:  # the amounts just read are in it: the answers follow
        update["currency"] = currency  # how amounts are written, not a fact about the product: not listed
    if ex.name and not facts.name:
        update["name"] = ex.name[:NAME_CHARS]
        changed.append("product name")
    if sales and "competitor_price" in update:
        # the competitor's price stated alongside the sales applies to the newest period only
        last = update["sales"][-1]
        update["sales"][-1] = last.model_copy(update={"competitor_price": update["competitor_price"]})
    if sales and "current_price" not in update:
        update["current_price"] = None  # the price now is the newest sale's, unless stated
    try:
        new = MerchantFacts.model_validate({**facts.model_dump(), **update})
    except ValidationError as err:
        raise ValueError(describe_error(err)) from None
    return Reading(new, changed, ex.what_if, why_not, question=ex.question, language=ex.language)


# --- other sources of facts: a demo SKU, an uploaded sales history -----------------------------------


def facts_from_context(context: PricingContext, source: str) -> MerchantFacts:
    """Facts of a catalog product (a demo SKU), so the form shows them and the chat can follow up."""
    g, p = context.guardrails, context.product
    return MerchantFacts(
        sku=p.sku, name=p.name[:NAME_CHARS], unit_cost=p.unit_cost, current_price=p.current_price,
        competitor_price=context.competitor_price,
        sales=[Sale(price=r.price, units=r.units, competitor_price=r.competitor_price)
               for r in context.history[-MAX_HISTORY_ROWS:]],
        min_price=g.min_price, max_price=g.max_price, min_margin=g.min_margin, max_change=g.max_change,
        source=source)


def facts_from_history_file(path: str | Path, facts: MerchantFacts) -> MerchantFacts:
    """Sales rows from an uploaded file, keeping what the merchant already said.

    Any format the catalog reads (CSV / TSV / text with any delimiter, .xlsx, Parquet, JSON Lines, gzipped
    text; `agent.catalog.FORMATS`), Shopify / WooCommerce order exports included (summed into weekly sales).

    The file is read by the catalog's one table reader, so a history file accepted here is accepted by
    the Catalog tab and the API with the same numbers (column aliases such as `qty` or `date`, "$12.00",
    decimal commas, dates). Every problem is a ValueError with one plain sentence naming the file.
    """
    from agent.catalog import read_table

    path = Path(path)
    try:
        df = read_table(path)
    except ValueError as err:  # the reader's messages name the problem (and the path, which we drop)
        raise ValueError(f"I could not read {path.name}: {_reason(err, path)}") from None
    return facts_from_history_table(df, path.name, facts)


def facts_from_history_upload(data: bytes, filename: str, facts: MerchantFacts) -> MerchantFacts:
    """`facts_from_history_file` for an upload's bytes (no temporary file); the format is `filename`'s."""
    from agent.catalog import read_upload

    name = Path(str(filename)).name
    try:
        df = read_upload(data, name)
    except ValueError as err:
        raise ValueError(f"I could not read {name}: {_reason(err)}") from None
    return facts_from_history_table(df, name, facts)


def _reason(err: Exception, path: Path | None = None) -> str:
    text = str(err).splitlines()[0] if str(err) else type(err).__name__
    return text.removeprefix(f"{path}: ") if path is not None else text


def facts_from_history_table(df: pd.DataFrame, name: str, facts: MerchantFacts) -> MerchantFacts:
    """Sales from a table read by the catalog reader (canonical column names, cells as text).

    Needs a price and a units column; orders rows by the period/date column when there is one (dates
    as the catalog orders them). A bad cell is a ValueError naming the row (as numbered in the file),
    the column and what was expected.
    """
    from agent.catalog import CatalogError, parse_count, parse_money
    from agent.catalog.values import period_keys

    if "price" not in df.columns or "units" not in df.columns:
        raise ValueError(f"{name} needs a 'price' and a 'units' column; it has: "
                         f"{', '.join(str(c) for c in list(df.columns)[:12]) or 'no columns'}.")
    if "sku" in df.columns and df["sku"].nunique() > 1:
        raise ValueError(f"{name} holds {df['sku'].nunique()} SKUs; the chat prices one product. "
                         "Use the Catalog tab for a whole catalog.")
    if len(df) == 0:
        raise ValueError(f"{name} has no rows.")
    df = df.assign(_row=range(1, len(df) + 1))  # the file's own row numbers, for messages after sorting
    if "period" in df.columns:
        keys = period_keys(df["period"].tolist())
        if keys is None:
            raise ValueError(f"{name}: column 'period' has values that are neither numbers nor dates.")
        df = df.assign(_order=keys[0]).sort_values("_order", kind="stable")
    if len(df) > MAX_HISTORY_ROWS:
        df = df.tail(MAX_HISTORY_ROWS)
    has_comp = "competitor_price" in df.columns
    sales = []
    for cells in df.to_dict("records"):
        where = f"{name}, row {cells['_row']}"
        try:
            price = parse_money(cells["price"], f"{where}, column 'price'")
            units = parse_count(cells["units"], f"{where}, column 'units'")
            comp = cells.get("competitor_price") if has_comp else None
            comp = None if comp is None else parse_money(comp, f"{where}, column 'competitor_price'")
        except CatalogError as err:
            raise ValueError(str(err)) from None
        if price <= 0 or (comp is not None and comp <= 0):
            column = "price" if price <= 0 else "competitor_price"
            raise ValueError(f"{where}, column '{column}': expected a price above 0, got {cells[column]!r}.")
        try:
            sales.append(Sale(price=price, units=units, competitor_price=comp))
        except ValidationError as err:
            raise ValueError(f"{where}: {describe_error(err)}") from None
    return facts.model_copy(update={"sales": sales, "current_price": None, "source": f"file {name}",
                                    "competitor_price": sales[-1].competitor_price or facts.competitor_price})
