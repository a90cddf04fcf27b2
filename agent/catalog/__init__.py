"""Batch catalog scoring: a product table and a long sales-history table in, one price per SKU out.

Inputs (CSV/TSV/text, Excel .xlsx, Parquet or JSON Lines, chosen by the file extension; a path or uploaded
bytes; a text table's encoding, delimiter and decimal mark are sniffed: `dialects`):

- products: `sku`, `unit_cost`, `current_price` (required), `name`, guardrails `min_price`,
  `max_price`, `map_price`, `min_margin`, `max_change`, `price_ending`, and the current
  `competitor_price` and `inventory` (optional). Other columns are ignored (and listed).
- history (long format): `sku`, `period`, `price`, `units` (required), `competitor_price`,
  `inventory` (optional). Periods are whole numbers, or dates (then numbered in order).
- or one combined table: the product columns repeated on every history row. There
  `competitor_price` and `inventory` are per period (history columns), the product columns
  must agree on all rows of a SKU, and a row with empty history cells is a product without sales.

Column names are matched trimmed, case-blind, with spaces as `_`, and common aliases
(`qty` -> `units`, `date` -> `period`, `cost` -> `unit_cost`, ...: `schema.COLUMN_ALIASES`). The exports of
Shopify, WooCommerce and Amazon Seller Central are recognised by their columns (`platforms`; order exports
are summed into weekly history: `orders`), and a merchant's explicit mapping ("sku=Variant SKU,
history.units=Qty": `ColumnMap`) overrides both (`plans`). Money,
counts and percentages may be written as spreadsheets write them ("$1,299.00", "12,50", "20%":
`values`). Empty cells (and `NA`, `N/A`, `null`, `none`) are missing values. An explicit NaN or inf in
a file is a bad value and reported; in an in-memory DataFrame (`contexts_for`, `score_frames`) NaN is
pandas' missing marker and read as missing.

A bad value is that row's `error` (`rows`); a file that cannot be a catalog is one `CatalogError`.
History rows whose SKU is not in the products are skipped, counted and named in the summary.

The package, by seam: `schema` (column names, aliases, output schema, CatalogError), `values` (one
cell), `dialects` (encoding, delimiter, decimal mark), `formats` (CSV/XLSX/Parquet/JSONL from a path or
bytes), `platforms` and `plans` (which column is which), `orders` (order lines -> weekly history),
`tables` (the one table reader), `rows`
(rows -> PricingContext), `scoring` (contexts -> output rows), `output` (writing), `partition`
(bounded memory), `parts` (crash-safe resumable state) and `stream` (`score_files`).
"""

from agent.catalog.formats import FORMATS, OUTPUT_FORMATS, TableSource, table_format
from agent.catalog.output import escape_formula, write_table
from agent.catalog.partition import BUCKET_ROWS, MAX_BUCKETS
from agent.catalog.parts import parts_folder
from agent.catalog.plans import ColumnMap, Plan, build_plan
from agent.catalog.platforms import PLATFORMS, Platform
from agent.catalog.rows import Item, contexts_for, describe_row_error, find_context
from agent.catalog.schema import (
    COLUMN_ALIASES,
    COMBINED_COLUMNS,
    COMBINED_PRODUCT_COLUMNS,
    GUARDRAIL_COLUMNS,
    HISTORY_COLUMNS,
    HISTORY_REQUIRED,
    OUTPUT_COLUMNS,
    OUTPUT_SCHEMA,
    PRODUCT_COLUMNS,
    PRODUCT_REQUIRED,
    READ_ROWS,
    CatalogError,
    is_combined,
)
from agent.catalog.scoring import load_policy, policy_identity, score_frames, sku_seed
from agent.catalog.stream import ScoreSummary, score_files
from agent.catalog.tables import (
    check_columns,
    iter_table,
    normalize_frame,
    read_table,
    read_upload,
    table_columns,
    table_plan,
)
from agent.catalog.values import parse_count, parse_date, parse_fraction, parse_money, parse_number

__all__ = [
    "BUCKET_ROWS", "COLUMN_ALIASES", "COMBINED_COLUMNS", "COMBINED_PRODUCT_COLUMNS", "FORMATS", "GUARDRAIL_COLUMNS",
    "HISTORY_COLUMNS", "HISTORY_REQUIRED", "MAX_BUCKETS", "OUTPUT_COLUMNS", "OUTPUT_FORMATS", "OUTPUT_SCHEMA",
    "PLATFORMS", "PRODUCT_COLUMNS", "PRODUCT_REQUIRED", "READ_ROWS", "CatalogError", "ColumnMap", "Item", "Plan",
    "Platform", "ScoreSummary", "TableSource", "build_plan", "check_columns", "contexts_for", "describe_row_error",
    "escape_formula", "find_context", "is_combined", "iter_table", "load_policy", "normalize_frame", "parse_count",
    "parse_date", "parse_fraction", "parse_money", "parse_number", "parts_folder", "policy_identity", "read_table",
    "read_upload", "score_files", "score_frames", "sku_seed", "table_columns", "table_format", "table_plan",
    "write_table",
]
