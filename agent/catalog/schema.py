"""What a catalog table and a scored output look like: column names, their aliases, the output schema.

Every other module of the package names columns through these constants, so a column added here is
read, validated and written everywhere at once. Aliases live here too (not in a door's own reader),
because a sales-history file that works in the chat must work in the catalog scorer and the API:
one spelling table, one meaning.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

import pyarrow as pa


class CatalogError(ValueError):
    """A whole input (or output) is unusable: one line naming the file (or column) and the problem.

    A `ValueError`, so callers that only know "bad input" (the chat, the API) catch it without
    importing this package; never raised for a bad *row*, which becomes that row's `error` instead.
    """


GUARDRAIL_COLUMNS = ("min_price", "max_price", "map_price", "min_margin", "max_change", "price_ending")
PRODUCT_REQUIRED = ("sku", "unit_cost", "current_price")
PRODUCT_COLUMNS = ("sku", "name", "unit_cost", "current_price", *GUARDRAIL_COLUMNS, "competitor_price", "inventory")
HISTORY_REQUIRED = ("sku", "period", "price", "units")
HISTORY_COLUMNS = (*HISTORY_REQUIRED, "competitor_price", "inventory")
COMBINED_PRODUCT_COLUMNS = ("sku", "name", "unit_cost", "current_price", *GUARDRAIL_COLUMNS)
COMBINED_COLUMNS = (*COMBINED_PRODUCT_COLUMNS, "period", "price", "units", "competitor_price", "inventory")

# Other spellings merchants' own sheets use, in order of preference. A column is renamed to its canonical
# name only when the table has no column of that name already (then the alias is just an unknown column).
# The exports of shop platforms (Shopify, WooCommerce, Amazon) are recognised as a whole: `platforms`.
COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "sku": ("product_sku", "item_sku", "variant_sku", "seller_sku", "product_code", "item_code"),
    "name": ("product_name", "item_name", "title", "product_title", "product"),
    "unit_cost": ("cost", "cost_price", "cost_per_item", "unit_cost_price", "cogs", "cost_of_goods",
                  "purchase_price"),
    "current_price": ("price_now", "list_price", "retail_price"),
    "price": ("unit_price", "selling_price", "avg_price", "average_price"),
    "units": ("quantity", "qty", "units_sold", "sales_units", "sold", "units_ordered", "quantity_sold"),
    "period": ("date", "week", "day", "month", "week_start"),
    "competitor_price": ("competitor", "rival_price", "competition_price"),
    "inventory": ("stock", "stock_quantity", "on_hand", "quantity_on_hand", "inventory_qty", "qty_on_hand"),
}

# Columns holding an amount of money ("$1,299.00" reads as 1299.0), counts, and fractions ("20%").
MONEY_COLUMNS = frozenset({"unit_cost", "current_price", "min_price", "max_price", "map_price", "price",
                           "competitor_price"})
COUNT_COLUMNS = frozenset({"units", "inventory"})
FRACTION_COLUMNS = frozenset({"min_margin", "max_change"})

OUTPUT_SCHEMA = pa.schema([
    ("sku", pa.string()), ("name", pa.string()), ("current_price", pa.float64()),
    ("recommended_price", pa.float64()), ("change_pct", pa.float64()), ("expected_units", pa.float64()),
    ("expected_profit", pa.float64()), ("expected_profit_low", pa.float64()),
    ("expected_profit_high", pa.float64()), ("expected_profit_change", pa.float64()),
    ("elasticity", pa.float64()), ("confidence", pa.string()), ("binding_rules", pa.string()),
    ("flags", pa.string()), ("rationale", pa.string()), ("policy", pa.string()), ("model_id", pa.string()),
    ("adapter_id", pa.string()), ("error", pa.string()),
])
OUTPUT_COLUMNS = tuple(OUTPUT_SCHEMA.names)
TEXT_OUTPUT_COLUMNS = tuple(f.name for f in OUTPUT_SCHEMA if f.type == pa.string())

READ_ROWS = 100_000  # rows per read when a whole file is streamed (index, partition, lookups)


def normalize_name(column: object) -> str:
    """A header as the package spells it: trimmed, lower case, inner spaces and dashes as `_`.

    So "Unit Price", "unit-price" and " UNIT_PRICE " are one column, whatever tool wrote the file.
    """
    return "_".join(str(column).strip().lower().replace("-", " ").split())


def canonical_names(columns: Sequence[object]) -> list[str]:
    """Normalised names with aliases resolved (see COLUMN_ALIASES); positions match `columns`.

    In a table without sales columns (no `period`, no `units`) a `price` is the product's current price:
    "sku, cost, price" is a products sheet, while "sku, date, price, qty" is a sales history.
    """
    names = [normalize_name(c) for c in columns]
    present = set(names)
    for canonical, aliases in COLUMN_ALIASES.items():
        if canonical in present:
            continue
        alias = next((a for a in aliases if a in present), None)
        if alias is not None:
            names[names.index(alias)] = canonical
            present.add(canonical)
    if "price" in present and not present & {"current_price", "period", "units"}:
        names[names.index("price")] = "current_price"
    return names


def duplicate_column(names: Sequence[str]) -> str | None:
    """The first (alphabetically) column name that occurs twice, if any: which one is meant cannot be known."""
    dup = sorted({n for n in names if names.count(n) > 1})
    return dup[0] if dup else None


def missing_message(missing: Sequence[str], required: Sequence[str], found: Sequence[object],
                    hints: Sequence[str] = ()) -> str:
    """'missing required column(s) ...' with what the table has, what it needs and how to map it.

    `found` are the column names as the file writes them (what the merchant sees in a spreadsheet).
    """
    what = f"column '{missing[0]}'" if len(missing) == 1 else f"columns {', '.join(repr(m) for m in missing)}"
    shown = [str(c)[:30] for c in list(found)[:12]]
    more = f" and {len(found) - 12} more" if len(found) > 12 else ""
    have = f"found {', '.join(repr(c) for c in shown)}{more}" if shown else "found no columns"
    example = f'{missing[0]}=<your column>'
    return (f"missing required {what} ({'; '.join([*hints, have])}; needs {', '.join(required)}; "
            f'say which column holds it with a column mapping, e.g. --columns "{example}" '
            "(the columns field in the API and the Catalog tab))")


def require(where: object, columns: Sequence[str], required: Sequence[str],
            found: Sequence[object] | None = None, hints: Sequence[str] = ()) -> None:
    """CatalogError naming the missing required column(s) of the table `where` (None: no name)."""
    missing = [c for c in required if c not in columns]
    if missing:
        prefix = "" if where is None or where == "" else f"{where}: "
        raise CatalogError(prefix + missing_message(missing, required, columns if found is None else found, hints))


def is_combined(columns: Collection[str]) -> bool:
    """A products table that also holds history rows (product columns repeated on each)."""
    return "period" in columns and "units" in columns
