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

# Other spellings merchants' exports use, in order of preference. A column is renamed to its canonical
# name only when the table has no column of that name already (then the alias is just an unknown column).
COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "price": ("unit_price", "selling_price", "avg_price"),
    "units": ("quantity", "qty", "units_sold", "sales_units", "sold"),
    "period": ("date", "week", "day", "month"),
    "competitor_price": ("competitor",),
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
    """Normalised names with aliases resolved (see COLUMN_ALIASES); positions match `columns`."""
    names = [normalize_name(c) for c in columns]
    present = set(names)
    for canonical, aliases in COLUMN_ALIASES.items():
        if canonical in present:
            continue
        alias = next((a for a in aliases if a in present), None)
        if alias is not None:
            names[names.index(alias)] = canonical
            present.add(canonical)
    return names


def duplicate_column(names: Sequence[str]) -> str | None:
    """The first (alphabetically) column name that occurs twice, if any: which one is meant cannot be known."""
    dup = sorted({n for n in names if names.count(n) > 1})
    return dup[0] if dup else None


def require(where: object, columns: Sequence[str], required: Sequence[str]) -> None:
    """CatalogError naming the missing required column(s) of the table `where`."""
    missing = [c for c in required if c not in columns]
    if len(missing) == 1:
        raise CatalogError(f"{where}: missing required column '{missing[0]}'")
    if missing:
        raise CatalogError(f"{where}: missing required columns {', '.join(repr(m) for m in missing)}")


def is_combined(columns: Collection[str]) -> bool:
    """A products table that also holds history rows (product columns repeated on each)."""
    return "period" in columns and "units" in columns
