"""Catalog rows -> `PricingContext`, one error line per bad row instead of one failed catalog.

Every value goes through the same pydantic schema as every other entry point (`PricingContext`), so a
bad value becomes a short message in that row's `error` column naming the field (e.g.
`unit_cost: not a number ('abc')`), and the rest of the catalog is still scored. What is a row
problem: a missing, non-numeric, negative or non-finite value; a bad history row (the SKU is not
scored: a price from partly dropped data would look trustworthy and is not); guardrails that
conflict; a duplicate SKU in the products (every copy is reported, none is scored: which one is
right cannot be known); product columns that disagree between a combined table's rows of one SKU.

Cells arrive as text. Money, counts and percentages written the way spreadsheets write them
("$1,299.00", "12,50", "20%") are read by `values.lenient_number` first; anything else reaches the
schema untouched, so its message is the schema's.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import pandas as pd
from pydantic import ValidationError

from agent.catalog.formats import TableSource
from agent.catalog.plans import ColumnMap, build_plan
from agent.catalog.schema import (
    COMBINED_COLUMNS,
    COMBINED_PRODUCT_COLUMNS,
    GUARDRAIL_COLUMNS,
    HISTORY_COLUMNS,
    HISTORY_REQUIRED,
    PRODUCT_COLUMNS,
    PRODUCT_REQUIRED,
    READ_ROWS,
    CatalogError,
    is_combined,
    require,
)
from agent.catalog.tables import inspect_inputs, iter_table, normalize_frame, with_columns
from agent.catalog.values import lenient_number, period_keys
from agent.guardrails import GuardrailConflict, hard_range
from env.context import PricingContext
from env.errors import field_message

Item = tuple[str | None, PricingContext | None, str | None]
RowItem = tuple[dict, PricingContext | None, str | None]  # (product row, context or None, error or None)


class HistoryLookup(Protocol):
    """Where a SKU's history rows come from: a dict in memory, or one Arrow bucket of a streamed run."""

    def get(self, sku: str, default: list[dict], /) -> list[dict]: ...


def _label(loc: tuple, periods: Sequence[object]) -> str:
    if loc and loc[0] in ("product", "guardrails") and len(loc) > 1:
        return str(loc[1])
    if loc and loc[0] == "history" and len(loc) > 2:
        where = f"period {periods[loc[1]]}" if periods[loc[1]] is not None else f"row {loc[1] + 1}"
        return f"history {where}: {loc[2]}"
    return ".".join(str(p) for p in loc) or "row"


def describe_row_error(err: ValidationError, periods: Sequence[object] = ()) -> str:
    """A pydantic error on one catalog row as a short line naming the field(s)."""
    errors = err.errors()
    parts = [f"{_label(tuple(e['loc']), periods)}: {field_message(e)}" for e in errors[:3]]
    more = f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""
    return "; ".join(parts) + more


def ordered_history(rows: list[dict]) -> list[dict]:
    """History rows sorted by period; date periods are numbered 0, 1, ... in date order.

    Rows whose period is neither (or a mix of numbers and dates) keep their place after the numbered
    ones, and the schema reports them by name.
    """
    keys = period_keys([r.get("period") for r in rows]) if rows else None
    if keys is not None and keys[1]:
        rows = [{**r, "period": str(int(k))} for r, k in zip(rows, keys[0], strict=True)]
        order = sorted(range(len(rows)), key=lambda i: (keys[0][i], i))
        return [rows[i] for i in order]
    numbers = keys[0] if keys is not None else [_plain(r.get("period")) for r in rows]
    order = sorted(range(len(rows)), key=lambda i: (numbers[i] is None, numbers[i] or 0.0, i))
    return [rows[i] for i in order]


def _plain(text: object) -> float | None:
    single = period_keys([text]) if text is not None else None
    return single[0][0] if single is not None and not single[1] else None


def _numbers(row: dict, columns: Sequence[str]) -> dict:
    return {k: lenient_number(row[k], k) for k in columns if row.get(k) is not None}


def build_context(product: dict, history: list[dict], with_now: bool) -> tuple[PricingContext | None, str | None]:
    """(context, None) or (None, one line naming what is wrong): never raises for bad data."""
    hist = ordered_history(history)
    data: dict = {
        "product": {k: lenient_number(product[k], k) for k in ("sku", "name", "unit_cost", "current_price")
                    if product.get(k) is not None},
        "guardrails": _numbers(product, GUARDRAIL_COLUMNS),
        "history": [_numbers(r, ("period", "price", "units", "competitor_price", "inventory")) for r in hist],
    }
    if with_now:
        data.update(_numbers(product, ("competitor_price", "inventory")))
    try:
        ctx = PricingContext.model_validate(data)
    except ValidationError as err:
        return None, describe_row_error(err, [r.get("period") for r in hist])
    try:
        hard_range(ctx)
    except GuardrailConflict as err:
        return None, f"guardrails conflict: {err}"
    return ctx, None


def records(frame: pd.DataFrame, columns: Sequence[str]) -> list[dict]:
    """The text frame's rows as dicts (`DataFrame.to_dict("records")` without its per-cell boxing, which
    cells that are already str or None do not need)."""
    if not columns:
        return [{} for _ in range(len(frame))]
    values = [frame[c].tolist() for c in columns]  # columns of one frame: one length
    return [dict(zip(columns, cells, strict=True)) for cells in zip(*values, strict=True)]


def group_history(history: pd.DataFrame | None) -> dict[str, list[dict]]:
    """{sku: its history rows in file order}; rows without a SKU belong to no product."""
    groups: dict[str, list[dict]] = {}
    if history is None or not len(history):
        return groups
    cols = [c for c in HISTORY_COLUMNS if c in history.columns]
    for rec in records(history, cols):
        if rec.get("sku") is not None:
            groups.setdefault(rec["sku"], []).append(rec)
    return groups


def split_combined(df: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, str]]:
    """A combined table as (products in first-appearance order, history, {sku: disagreement})."""
    df = df[df["sku"].notna()] if "sku" in df.columns else df
    pcols = [c for c in COMBINED_PRODUCT_COLUMNS if c in df.columns]
    products = df[pcols].drop_duplicates("sku", keep="first").reset_index(drop=True)
    conflicts: dict[str, str] = {}
    if len(df) > len(products) and len(pcols) > 1:
        differs = df[pcols].fillna("\0missing").groupby("sku", sort=False).nunique() > 1
        for sku, row in differs[differs.any(axis=1)].iterrows():
            column = next(c for c in differs.columns if row[c])
            conflicts[str(sku)] = (f"{column}: differs between this SKU's rows of the combined table "
                                   "(product columns must repeat the same value)")
    history = df[[c for c in HISTORY_COLUMNS if c in df.columns]]
    present = history.drop(columns="sku").notna().any(axis=1)  # a row with no history cells: a product only
    return products, history[present].reset_index(drop=True), conflicts


def row_items(products: pd.DataFrame, groups: HistoryLookup, *, with_now: bool,
              duplicates: dict[str, int] | None = None, conflicts: dict[str, str] | None = None,
              first_row: int = 1) -> list[RowItem]:
    """(product row, context, error) for every product row, in order; `first_row` numbers messages."""
    duplicates, conflicts = duplicates or {}, conflicts or {}
    out: list[RowItem] = []
    for i, rec in enumerate(records(products, list(products.columns))):
        sku = rec.get("sku")
        if sku is None:
            out.append((rec, None, f"sku: missing (products data row {first_row + i})"))
        elif sku in duplicates:
            out.append((rec, None, f"sku: duplicate SKU, on {duplicates[sku]} rows of the products; "
                                   "none of them is scored"))
        elif sku in conflicts:
            out.append((rec, None, conflicts[sku]))
        else:
            out.append((rec, *build_context(rec, groups.get(sku, []), with_now)))
    return out


def prepare_frames(products: pd.DataFrame, history: pd.DataFrame | None,
                   mapping: ColumnMap | str | None = None) -> list[RowItem]:
    """The in-memory catalog's row items (NaN is pandas' missing value there, not a bad number)."""
    cmap = ColumnMap.parse(mapping)
    plans = {role: None if frame is None else build_plan(frame.columns, pairs)
             for role, frame, pairs in (("products", products, cmap.products), ("history", history, cmap.history))}
    products = normalize_frame(products, "products", nan_missing=True, mapping=dict(cmap.products))
    history = None if history is None else normalize_frame(history, "history", nan_missing=True,
                                                           mapping=dict(cmap.history))

    def check(where: str, role: str, columns: Sequence[str], required: Sequence[str]) -> None:
        missing = [c for c in required if c not in columns]
        plan = plans[role]
        require(where, columns, required, plan.raw if plan else columns, plan.hints(missing) if plan else ())

    conflicts: dict[str, str] = {}
    if history is None and is_combined(products.columns):
        check("table", "products", list(products.columns), (*PRODUCT_REQUIRED, *HISTORY_REQUIRED))
        products, history, conflicts = split_combined(products)
        with_now = False
    else:
        check("products", "products", list(products.columns), PRODUCT_REQUIRED)
        if history is not None:
            check("history", "history", list(history.columns), HISTORY_REQUIRED)
        with_now = True
    counts = products["sku"].dropna().value_counts()
    duplicates = {str(k): int(v) for k, v in counts[counts > 1].items()}
    return row_items(products, group_history(history), with_now=with_now, duplicates=duplicates,
                     conflicts=conflicts)


def contexts_for(products: pd.DataFrame, history: pd.DataFrame | None = None,
                 mapping: ColumnMap | str | None = None) -> list[Item]:
    """(sku, context, None) or (sku, None, error) for every product row, in order (in memory).

    With no `history` and history columns in `products`, `products` is read as a combined table
    (then one item per SKU). NaN or None in a cell means missing. A missing required column is a
    CatalogError. Shop exports are recognised (`platforms`); `mapping` is the merchant's explicit
    column mapping (`ColumnMap`, or its text "sku=Variant SKU,history.units=Qty").
    """
    return [(rec.get("sku"), ctx, err) for rec, ctx, err in prepare_frames(products, history, mapping)]


def find_context(sku: str, products_path: str | Path, history_path: str | Path | None = None,
                 mapping: ColumnMap | str | None = None) -> PricingContext:
    """The context of one SKU, streaming the files; ValueError naming the problem when it has none."""
    cmap = ColumnMap.parse(mapping)
    products = TableSource.of(Path(products_path), dict(cmap.products))
    history = None if history_path is None else TableSource.of(Path(history_path), dict(cmap.history))
    mode, _, _ = inspect_inputs(products, history)
    cols = COMBINED_COLUMNS if mode == "combined" else PRODUCT_COLUMNS
    rows = pd.concat([c[c["sku"] == sku] for c in iter_table(products, READ_ROWS, set(cols))], ignore_index=True)
    if not len(rows):
        raise CatalogError(f"sku: '{sku}' is not in {products}")
    hist = None
    if history is not None:
        hist = pd.concat([c[c["sku"] == sku] for c in iter_table(history, READ_ROWS, set(HISTORY_COLUMNS))],
                         ignore_index=True)
        hist = with_columns(hist, HISTORY_COLUMNS)
    rows = with_columns(rows, cols)
    (_, ctx, err), *_ = contexts_for(rows, hist)
    if err:
        raise ValueError(f"SKU '{sku}': {err}")
    return ctx
