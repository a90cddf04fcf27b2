"""Batch catalog scoring: a product table and a long sales-history table in, one price per SKU out.

Inputs (CSV, Parquet or JSON Lines, chosen by the file extension):

- products: `sku`, `unit_cost`, `current_price` (required), `name`, guardrails `min_price`,
  `max_price`, `map_price`, `min_margin`, `max_change`, `price_ending`, and the current
  `competitor_price` and `inventory` (optional). Other columns are ignored (and listed).
- history (long format): `sku`, `period`, `price`, `units` (required), `competitor_price`,
  `inventory` (optional). Periods are whole numbers, or ISO dates (then numbered in order).
- or one combined table: the product columns repeated on every history row. There
  `competitor_price` and `inventory` are per period (history columns), the product columns
  must agree on all rows of a SKU, and a row with empty history cells is a product without sales.

Empty cells (and `NA`, `N/A`, `null`, `none`) are missing values. An explicit NaN or inf in a
file (the text `NaN`, a Parquet NaN, a JSON `NaN`) is a bad value and reported; in an in-memory
DataFrame (`contexts_for`, `score_frames`) NaN is pandas' missing marker and read as missing.
`min_margin` and `max_change` also accept percentages ("20%").

Every value goes through the same pydantic schema as every other entry point (`PricingContext`),
so a bad value becomes a short message in that row's `error` column, naming the field (e.g.
`unit_cost: not a number ('abc')`), and the rest of the catalog is still scored. What is a
*row* problem: a missing or non-numeric or negative or non-finite value, a bad history row
(the SKU is not scored: a price from partly dropped data would look trustworthy and is not),
guardrails that conflict, a duplicate SKU in products (every copy is reported, none is scored:
which one is right cannot be known). History rows whose SKU is not in the products cannot have
an output row: they are skipped, counted (`skipped_history_rows`, `unknown_history_skus`) and
named in the summary's warnings. What is a *file* problem (missing required column, not a
table, unreadable, no rows) is one `CatalogError` naming the file and the problem.

Scale (`score_files`):

- Memory is bounded by `chunk_size` products plus one history *bucket*, not by the catalog.
  Products are streamed in chunks of exactly `chunk_size` rows. An index pass reads only the
  `sku` columns and keeps 8-byte hashes of the SKUs (about 16 bytes per SKU: this part is
  O(catalog), small). A partition pass then streams the history once and writes each row into
  the bucket file (Arrow IPC, under `<out>.parts/history/`) of the product chunk range its SKU
  belongs to; a bucket spans as many whole chunks as keep it near `BUCKET_ROWS` history rows.
  Scoring reads each bucket once, keeps it as Arrow (compact) sorted by SKU, and turns only the
  current chunk's SKUs into Python rows. Measured: peak RSS about 330 MB (164 MB of it imports)
  for 40,000 and for 80,000 SKUs with 1.1M and 2.3M shuffled history rows. Limits: one SKU
  with a giant history still lands whole in one bucket, and beyond MAX_BUCKETS * BUCKET_ROWS
  (64M) history rows buckets grow instead of multiplying.
- Resumable: every finished chunk is written atomically (temp file + `os.replace`) as
  `<out>.parts/chunk-NNNNNN.parquet`; a part file exists completely or not at all, so a re-run
  after Ctrl-C or `kill -9` skips exactly the finished chunks. `manifest.json` holds a key
  hashed from the input files' contents and the settings that change results (policy,
  batch_size, chunk_size). A re-run whose key differs *refuses* (CatalogError: inputs or
  settings changed) rather than mixing stale rows in; `resume=False` (`--no-resume`) discards
  the parts and starts over. The output is assembled atomically at the end, then the parts
  folder is removed. A lock file in the parts folder stops two live runs on one output.
- Reproducible: before each SKU the policy is reset with a seed derived from the SKU (per
  batch, from its first SKU, for batched LLM policies), so a SKU's price does not depend on what
  was scored before it, and a resumed run writes exactly the bytes an uninterrupted one does.

CSV outputs are safe to open in a spreadsheet: a text cell starting with `=`, `+`, `-`, `@`,
tab or carriage return (a formula) is written with a leading `'`, unless it is a plain number.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import hashlib
import importlib
import json
import math
import os
import shutil
import time
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from pydantic import ValidationError

from agent.guardrails import GuardrailConflict, hard_range
from agent.recommend import Recommendation, recommend_batch
from env.context import MIN_PRICE_AMOUNT, Policy, PricingContext

GUARDRAIL_COLUMNS = ("min_price", "max_price", "map_price", "min_margin", "max_change", "price_ending")
PRODUCT_REQUIRED = ("sku", "unit_cost", "current_price")
PRODUCT_COLUMNS = ("sku", "name", "unit_cost", "current_price", *GUARDRAIL_COLUMNS, "competitor_price", "inventory")
HISTORY_REQUIRED = ("sku", "period", "price", "units")
HISTORY_COLUMNS = (*HISTORY_REQUIRED, "competitor_price", "inventory")
COMBINED_PRODUCT_COLUMNS = ("sku", "name", "unit_cost", "current_price", *GUARDRAIL_COLUMNS)
COMBINED_COLUMNS = (*COMBINED_PRODUCT_COLUMNS, "period", "price", "units", "competitor_price", "inventory")

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
_TEXT_COLUMNS = tuple(f.name for f in OUTPUT_SCHEMA if f.type == pa.string())

FORMATS = {".csv": "csv", ".csv.gz": "csv", ".parquet": "parquet", ".pq": "parquet", ".jsonl": "jsonl",
           ".ndjson": "jsonl", ".json": "jsonl"}
OUTPUT_FORMATS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet", ".jsonl": "jsonl", ".ndjson": "jsonl"}
READ_ROWS = 100_000  # rows per read in the index and partition passes
BUCKET_ROWS = 250_000  # target history rows per bucket (what one chunk's scoring holds in memory)
MAX_BUCKETS = 256  # bucket files open at once in the partition pass
_MISSING = {"", "na", "n/a", "null", "none"}
_PART_VERSION = 1


class CatalogError(ValueError):
    """A whole input (or output) file is unusable: one message naming the file and the problem."""


@dataclass
class ScoreSummary:
    out_path: Path
    rows: int  # output rows (one per product row; one per SKU for a combined table)
    scored: int
    errors: int
    skipped_history_rows: int  # history rows whose SKU is not in the products (or is empty)
    unknown_history_skus: int
    resumed_chunks: int  # chunks found finished from an earlier, interrupted run
    chunks: int
    seconds: float
    skus_per_second: float  # rows scored in this run per second of this run
    warnings: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        text = [f"scored {self.scored} of {self.rows} SKUs, {self.errors} with errors (see the error column), "
                f"in {self.seconds:.1f} s ({self.skus_per_second:.1f} SKUs/s) -> {self.out_path}"]
        if self.resumed_chunks:
            text.append(f"resumed: {self.resumed_chunks} of {self.chunks} chunks were already done")
        return text + [f"warning: {w}" for w in self.warnings]


# --- reading tables ---------------------------------------------------------------------------------


def table_format(path: str | Path, formats: dict[str, str] = FORMATS) -> str:
    name = Path(path).name.lower()
    for suffix in sorted(formats, key=len, reverse=True):
        if name.endswith(suffix):
            return formats[suffix]
    raise CatalogError(f"{path}: unsupported file type (use {', '.join(sorted(set(formats)))})")


def _norm(column: object) -> str:
    return str(column).strip().lower()


def _text(value: object, nan_missing: bool = False) -> str | None:
    """Every cell as text (or None when empty), so pydantic parses numbers alike from every format.

    A float NaN in a file is a bad value ('nan', reported); in an in-memory DataFrame (`nan_missing`)
    it is pandas' marker for a missing cell.
    """
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if nan_missing and isinstance(value, float | np.floating) and math.isnan(value):
        return None
    if isinstance(value, str):
        value = value.strip()
        return None if value.lower() in _MISSING else value
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        return repr(float(value))  # nan and inf stay visible: they are reported, not dropped
    return str(value)


_MISSING_ARROW = pa.array(sorted(_MISSING), pa.string())


def _clean_arrow(arr: pa.Array) -> list[str | None]:
    """`_text` for a whole Arrow column at once (numbers, booleans and strings; others cell by cell)."""
    kind = arr.type
    if pa.types.is_floating(kind) or pa.types.is_integer(kind) or pa.types.is_boolean(kind) \
            or pa.types.is_large_string(kind):
        arr = pc.cast(arr, pa.string())
    elif not pa.types.is_string(kind):
        return [_text(v) for v in arr.to_pylist()]
    trimmed = pc.utf8_trim_whitespace(arr)
    missing = pc.is_in(pc.utf8_lower(trimmed), value_set=_MISSING_ARROW)
    return pc.if_else(missing, pa.scalar(None, pa.string()), trimmed).to_pylist()


def _clean_series(s: pd.Series, nan_missing: bool = False) -> list[str | None]:
    if isinstance(s.dtype, pd.StringDtype):
        return _clean_arrow(pa.array(s.to_numpy(dtype=object, na_value=None), type=pa.string()))
    return [_text(v, nan_missing) for v in s.tolist()]


def _normalize(df: pd.DataFrame, path: object = "table", clean: bool = False,
               nan_missing: bool = False) -> pd.DataFrame:
    """Normalised column names and every cell as text or None (`clean`: the cells already are)."""
    names = [_norm(c) for c in df.columns]
    seen = {n for n in names if names.count(n) > 1}
    if seen:
        raise CatalogError(f"{path}: duplicate column '{sorted(seen)[0]}'")
    return pd.DataFrame({n: df.iloc[:, i].tolist() if clean else _clean_series(df.iloc[:, i], nan_missing)
                         for i, n in enumerate(names)}, index=range(len(df)), dtype=object)


def _csv_reader(path: Path, chunk_size: int, wanted: Collection[str] | None):
    usecols = None if wanted is None else (lambda c: _norm(c) in wanted)
    return pd.read_csv(path, dtype=str, keep_default_na=False, na_filter=False, chunksize=chunk_size,
                       usecols=usecols, encoding="utf-8-sig")


def _jsonl_records(path: Path) -> Iterator[dict]:
    with open(path, encoding="utf-8-sig") as f:
        first = ""
        while not first.strip():
            first = f.readline()
            if not first:
                return
        if first.lstrip().startswith("["):  # a .json array of objects: read whole (not streamed)
            try:
                data = json.loads(first + f.read())
            except json.JSONDecodeError as err:
                raise CatalogError(f"{path}: not valid JSON ({err.msg})") from None
            if not isinstance(data, list):
                raise CatalogError(f"{path}: a JSON {type(data).__name__}, not a table (rows of objects)")
            lines = enumerate(data, 1)
        else:
            lines = ((i, line) for i, line in enumerate(_chain(first, f), 1) if line.strip())
        for i, line in lines:
            if isinstance(line, str):
                try:
                    line = json.loads(line)
                except json.JSONDecodeError as err:
                    raise CatalogError(f"{path}: line {i} is not valid JSON ({err.msg})") from None
            if not isinstance(line, dict):
                raise CatalogError(f"{path}: record {i} is not a JSON object, so this is not a table")
            yield line


def _chain(first: str, rest) -> Iterator[str]:
    yield first
    yield from rest


def _parquet_frame(batch: pa.RecordBatch) -> pd.DataFrame:
    """A batch as text cells: a null is missing (None); a NaN stays 'nan' (reported as not finite)."""
    return pd.DataFrame({name: _clean_arrow(col) for name, col in zip(batch.schema.names, batch.columns, strict=True)},
                        index=range(batch.num_rows), dtype=object)


def _raw_chunks(path: Path, chunk_size: int, wanted: Collection[str] | None) -> Iterator[tuple[pd.DataFrame, bool]]:
    """(frame, whether its cells are already clean text) in chunks of at most `chunk_size` rows."""
    kind = table_format(path)
    if kind == "csv":
        with _csv_reader(path, chunk_size, wanted) as reader:
            for df in reader:
                yield df, False
    elif kind == "parquet":
        with pq.ParquetFile(path) as pf:
            names = [n for n in pf.schema_arrow.names if wanted is None or _norm(n) in wanted]
            for batch in pf.iter_batches(batch_size=chunk_size, columns=names):
                yield _parquet_frame(batch), True
    else:
        records: list[dict] = []
        for rec in _jsonl_records(path):
            records.append(rec)
            if len(records) == chunk_size:
                yield _records_frame(records, wanted), False
                records = []
        if records:
            yield _records_frame(records, wanted), False


def _records_frame(records: list[dict], wanted: Collection[str] | None) -> pd.DataFrame:
    """Absent keys become None (missing); an explicit NaN stays NaN (reported as not finite)."""
    names = list(dict.fromkeys(k for r in records for k in r))
    names = [n for n in names if wanted is None or _norm(n) in wanted]
    return pd.DataFrame({n: [r.get(n) for r in records] for n in names}, index=range(len(records)), dtype=object)


def _with_columns(df: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """`df` with exactly `columns`, absent ones all None (never NaN, which would read as a bad number)."""
    return pd.DataFrame({c: df[c] if c in df.columns else [None] * len(df) for c in columns},
                        index=df.index, dtype=object)


@contextlib.contextmanager
def _reading(path: Path) -> Iterator[None]:
    """Turns every way a file can fail to read into one CatalogError naming it."""
    try:
        yield
    except CatalogError:
        raise
    except FileNotFoundError:
        raise CatalogError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise CatalogError(f"{path}: is a folder, not a file") from None
    except pd.errors.EmptyDataError:
        raise CatalogError(f"{path}: empty file") from None
    except UnicodeDecodeError:
        raise CatalogError(f"{path}: not a text table (it is not UTF-8 text)") from None
    except (pd.errors.ParserError, pa.ArrowException, OSError, ValueError) as err:
        first = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise CatalogError(f"{path}: not readable as {table_format(path).upper()} ({first})") from None


def iter_table(path: str | Path, chunk_size: int = READ_ROWS,
               columns: Collection[str] | None = None) -> Iterator[pd.DataFrame]:
    """The table in chunks of exactly `chunk_size` rows (the last may be shorter), cells as text or None.

    Column names are normalised (stripped, lower case); with `columns`, only those are read.
    """
    path = Path(path)
    wanted = None if columns is None else set(columns)
    pending: list[pd.DataFrame] = []
    size = 0
    with _reading(path):
        for raw, clean in _raw_chunks(path, chunk_size, wanted):
            df = _normalize(raw, path, clean)
            if wanted is not None:
                df = df[[c for c in df.columns if c in wanted]]
            pending.append(df)
            size += len(df)
            while size >= chunk_size:
                whole = pd.concat(pending, ignore_index=True) if len(pending) > 1 else pending[0]
                yield whole.iloc[:chunk_size].reset_index(drop=True)
                rest = whole.iloc[chunk_size:].reset_index(drop=True)
                pending, size = ([rest] if len(rest) else []), len(rest)
        if size:
            yield pd.concat(pending, ignore_index=True) if len(pending) > 1 else pending[0]


def table_columns(path: str | Path) -> list[str]:
    """The normalised column names of a table (the header, or the first JSON object's keys)."""
    path = Path(path)
    kind = table_format(path)
    with _reading(path):
        if not path.exists():
            raise FileNotFoundError(path)
        if kind == "csv":
            names = list(pd.read_csv(path, nrows=0, dtype=str, encoding="utf-8-sig").columns)
        elif kind == "parquet":
            names = pq.read_schema(path).names
        else:
            first = next(_jsonl_records(path), None)
            if first is None:
                raise CatalogError(f"{path}: empty file")
            names = list(first)
    normed = [_norm(n) for n in names]
    dup = sorted({n for n in normed if normed.count(n) > 1})
    if dup:
        raise CatalogError(f"{path}: duplicate column '{dup[0]}'")
    return normed


def read_table(path: str | Path, columns: Collection[str] | None = None) -> pd.DataFrame:
    """A whole table in memory (cells as text or None); CatalogError when it is unusable or has no rows."""
    table_columns(path)
    chunks = list(iter_table(path, READ_ROWS, columns))
    if not chunks or not sum(len(c) for c in chunks):
        raise CatalogError(f"{path}: empty table (no rows)")
    return pd.concat(chunks, ignore_index=True)


def _require(path: object, columns: Sequence[str], required: Sequence[str]) -> None:
    missing = [c for c in required if c not in columns]
    if len(missing) == 1:
        raise CatalogError(f"{path}: missing required column '{missing[0]}'")
    if missing:
        raise CatalogError(f"{path}: missing required columns {', '.join(repr(m) for m in missing)}")


def is_combined(columns: Collection[str]) -> bool:
    """A products table that also holds history rows (product columns repeated on each)."""
    return "period" in columns and "units" in columns


# --- rows to contexts -------------------------------------------------------------------------------


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _field_message(e: dict) -> str:
    kind, value = e["type"], e.get("input")
    if kind == "missing":
        return "missing"
    if isinstance(value, str) and value.lower().lstrip("+-") in ("nan", "inf", "infinity"):
        return f"not a finite number ({_short(value)})"
    if kind in ("float_parsing", "float_type"):
        return f"not a number ({_short(value)})"
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return f"not a whole number ({_short(value)})"
    if kind == "value_error":
        return e["msg"].removeprefix("Value error, ")
    if kind == "less_than_equal":
        return f"above the plausibility limit of {e['ctx']['le']:g} (got {_short(value)})"
    if kind == "greater_than_equal" and e["ctx"]["ge"] == MIN_PRICE_AMOUNT:
        return f"must be a price of at least {MIN_PRICE_AMOUNT:g} (got {_short(value)})"
    text = e["msg"].replace("Input should be", "must be")
    return text + (f" (got {_short(value)})" if isinstance(value, str | int | float) else "")


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
    parts = [f"{_label(tuple(e['loc']), periods)}: {_field_message(e)}" for e in errors[:3]]
    more = f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""
    return "; ".join(parts) + more


def _number(text: object) -> float | None:
    try:
        x = float(text)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def _date(text: object) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(text)[:10])
    except ValueError:
        return None


def _ordered_history(rows: list[dict]) -> list[dict]:
    """History rows sorted by period; ISO-date periods are numbered 0, 1, ... in date order."""
    if rows and all(_number(r.get("period")) is None for r in rows):
        dates = [_date(r.get("period")) for r in rows]
        if all(d is not None for d in dates):
            rank = {d: i for i, d in enumerate(sorted(set(dates)))}
            rows = [{**r, "period": str(rank[d])} for r, d in zip(rows, dates, strict=True)]
    keyed = [(_number(r.get("period")), i) for i, r in enumerate(rows)]
    order = sorted(range(len(rows)), key=lambda i: (keyed[i][0] is None, keyed[i][0] or 0.0, i))
    return [rows[i] for i in order]


def _percent(text: str | None) -> str | float | None:
    if text is not None and text.endswith("%") and _number(text[:-1]) is not None:
        return float(text[:-1]) / 100
    return text


def _context(product: dict, history: list[dict], with_now: bool) -> tuple[PricingContext | None, str | None]:
    hist = _ordered_history(history)
    data: dict = {
        "product": {k: product[k] for k in ("sku", "name", "unit_cost", "current_price")
                    if product.get(k) is not None},
        "guardrails": {k: _percent(product[k]) if k in ("min_margin", "max_change") else product[k]
                       for k in GUARDRAIL_COLUMNS if product.get(k) is not None},
        "history": [{k: r[k] for k in ("period", "price", "units", "competitor_price", "inventory")
                     if r.get(k) is not None} for r in hist],
    }
    if with_now:
        data.update({k: product[k] for k in ("competitor_price", "inventory") if product.get(k) is not None})
    try:
        ctx = PricingContext.model_validate(data)
    except ValidationError as err:
        return None, describe_row_error(err, [r.get("period") for r in hist])
    try:
        hard_range(ctx)
    except GuardrailConflict as err:
        return None, f"guardrails conflict: {err}"
    return ctx, None


def _group(history: pd.DataFrame | None) -> dict[str, list[dict]]:
    groups: dict[str, list[dict]] = {}
    if history is None or not len(history):
        return groups
    cols = [c for c in HISTORY_COLUMNS if c in history.columns]
    for rec in history[cols].to_dict("records"):
        if rec.get("sku") is not None:
            groups.setdefault(rec["sku"], []).append(rec)
    return groups


def _combined_split(df: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, str]]:
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


Item = tuple[str | None, PricingContext | None, str | None]


def _items(products: pd.DataFrame, groups: dict[str, list[dict]] | _BucketHistory, *, with_now: bool,
           duplicates: dict[str, int] | None = None, conflicts: dict[str, str] | None = None,
           first_row: int = 1) -> list[tuple[dict, PricingContext | None, str | None]]:
    duplicates, conflicts = duplicates or {}, conflicts or {}
    out = []
    for i, rec in enumerate(products.to_dict("records")):
        sku = rec.get("sku")
        if sku is None:
            out.append((rec, None, f"sku: missing (products data row {first_row + i})"))
        elif sku in duplicates:
            out.append((rec, None, f"sku: duplicate SKU, on {duplicates[sku]} rows of the products; "
                                   "none of them is scored"))
        elif sku in conflicts:
            out.append((rec, None, conflicts[sku]))
        else:
            out.append((rec, *_context(rec, groups.get(sku, []), with_now)))
    return out


def _prepare(products: pd.DataFrame, history: pd.DataFrame | None):
    products = _normalize(products, nan_missing=True)  # in memory, NaN is pandas' missing value
    history = None if history is None else _normalize(history, nan_missing=True)
    conflicts: dict[str, str] = {}
    if history is None and is_combined(products.columns):
        _require("table", list(products.columns), (*PRODUCT_REQUIRED, *HISTORY_REQUIRED))
        products, history, conflicts = _combined_split(products)
        with_now = False
    else:
        _require("products", list(products.columns), PRODUCT_REQUIRED)
        if history is not None:
            _require("history", list(history.columns), HISTORY_REQUIRED)
        with_now = True
    skus = products["sku"].dropna()
    counts = skus.value_counts()
    duplicates = {str(k): int(v) for k, v in counts[counts > 1].items()}
    return _items(products, _group(history), with_now=with_now, duplicates=duplicates, conflicts=conflicts)


def contexts_for(products: pd.DataFrame, history: pd.DataFrame | None = None) -> list[Item]:
    """(sku, context, None) or (sku, None, error) for every product row, in order (in memory).

    With no `history` and history columns in `products`, `products` is read as a combined table
    (then one item per SKU). NaN or None in a cell means missing. A missing required column is a
    CatalogError.
    """
    return [(rec.get("sku"), ctx, err) for rec, ctx, err in _prepare(products, history)]


# --- scoring ----------------------------------------------------------------------------------------


def sku_seed(sku: str) -> int:
    return int.from_bytes(hashlib.blake2b(sku.encode("utf-8"), digest_size=4).digest(), "big")


class _SeededPerSku:
    """Resets a per-product policy with a seed from the SKU before each decision (order independence)."""

    def __init__(self, policy: Policy):
        self.policy, self.name = policy, policy.name

    @property
    def model_id(self) -> str | None:
        return getattr(self.policy, "model_id", None)

    @property
    def adapter_id(self) -> str | None:
        return getattr(self.policy, "adapter_id", None)

    def reset(self, seed: int | None = None) -> None:
        """Each act resets the wrapped policy."""

    def act(self, context: PricingContext) -> float:
        self.policy.reset(sku_seed(context.product.sku))
        return self.policy.act(context)


_FATAL = (ImportError, MemoryError)


def _recommend(contexts: list[PricingContext], policy: Policy) -> list[Recommendation | str]:
    """Recommendations, isolating a context that makes scoring fail (its row gets the error)."""
    runner = policy if hasattr(policy, "propose_batch") else _SeededPerSku(policy)
    try:
        if runner is policy:
            policy.reset(sku_seed(contexts[0].product.sku))
            return list(recommend_batch(contexts, runner, [sku_seed(c.product.sku) for c in contexts]))
        return list(recommend_batch(contexts, runner))
    except _FATAL:
        raise
    except Exception as err:
        if len(contexts) == 1:
            return [f"scoring failed: {type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}"]
        results = [r for c in contexts for r in _recommend([c], policy)]
        if all(isinstance(r, str) for r in results):
            raise err  # every product fails alone too: the policy is broken, not the data
        return results


def _r(x: float | None, digits: int = 4) -> float | None:
    return None if x is None else round(float(x), digits)


def _row(rec: dict, result: Recommendation | str | None, policy_name: str) -> dict:
    if isinstance(result, Recommendation):
        fit = result.evidence.fit
        return {
            "sku": result.sku, "name": rec.get("name") or "", "current_price": _r(result.previous_price),
            "recommended_price": _r(result.price), "change_pct": _r(result.change_pct),
            "expected_units": _r(result.expected_units), "expected_profit": _r(result.expected_profit),
            "expected_profit_low": _r(result.expected_profit_low),
            "expected_profit_high": _r(result.expected_profit_high),
            "expected_profit_change": _r(result.expected_profit_change),
            "elasticity": _r(fit.elasticity if fit else None), "confidence": result.confidence,
            "binding_rules": ";".join(b.rule for b in result.binding_rules), "flags": "; ".join(result.flags),
            "rationale": result.rationale, "policy": result.policy, "model_id": result.model_id,
            "adapter_id": result.adapter_id, "error": "",
        }
    row = dict.fromkeys(OUTPUT_COLUMNS)
    row.update(sku=rec.get("sku") or "", name=rec.get("name") or "", current_price=_number(rec.get("current_price")),
               confidence="", binding_rules="", flags="", rationale="", policy=policy_name, error=result)
    return row


def _score_items(items: list[tuple[dict, PricingContext | None, str | None]], policy: Policy, batch_size: int,
                 advance: Callable[[int], None] = lambda n: None) -> list[dict]:
    results: list[Recommendation | str | None] = [err for _, _, err in items]
    advance(sum(1 for _, ctx, _ in items if ctx is None))
    valid = [i for i, (_, ctx, _) in enumerate(items) if ctx is not None]
    for start in range(0, len(valid), batch_size):
        idx = valid[start:start + batch_size]
        for i, res in zip(idx, _recommend([items[i][1] for i in idx], policy), strict=True):
            results[i] = res
        advance(len(idx))
    return [_row(rec, res, policy.name) for (rec, _, _), res in zip(items, results, strict=True)]


def _frame(rows: list[dict]) -> pd.DataFrame:
    return pa.Table.from_pylist(rows, schema=OUTPUT_SCHEMA).to_pandas()


def score_frames(products: pd.DataFrame, history: pd.DataFrame | None, policy: Policy, batch_size: int = 16,
                 progress: bool = False) -> pd.DataFrame:
    """Scores an in-memory catalog: one output row per product row (see OUTPUT_COLUMNS)."""
    from tqdm import tqdm

    _check_sizes(batch_size, 1)
    items = _prepare(products, history)
    with tqdm(total=len(items), unit="SKU", desc="scoring", disable=not progress) as bar:
        rows = _score_items(items, policy, batch_size, bar.update)
    return _frame(rows)


# --- writing outputs --------------------------------------------------------------------------------


def _plain_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def escape_formula(text: object) -> object:
    """A spreadsheet-safe cell: text that a spreadsheet would run as a formula gets a leading quote."""
    if isinstance(text, str) and text[:1] in ("=", "+", "-", "@", "\t", "\r") and not _plain_number(text):
        return "'" + text
    return text


class _Writer:
    """Appends frames of output rows to a CSV, Parquet or JSON Lines file."""

    def __init__(self, path: Path, kind: str):
        self.path, self.kind, self.first = path, kind, True
        self._pq: pq.ParquetWriter | None = None
        self._f = None if kind == "parquet" else open(path, "w", encoding="utf-8", newline="")

    def write(self, table: pa.Table) -> None:
        if self.kind == "parquet":
            if self._pq is None:
                self._pq = pq.ParquetWriter(self.path, OUTPUT_SCHEMA)
            self._pq.write_table(table)
            return
        df = table.to_pandas()
        if self.kind == "csv":
            for c in _TEXT_COLUMNS:
                df[c] = df[c].map(escape_formula)
            df.to_csv(self._f, header=self.first, index=False, lineterminator="\n")
        elif len(df):
            text = df.to_json(orient="records", lines=True, force_ascii=False)
            self._f.write(text if text.endswith("\n") else text + "\n")
        self.first = False

    def close(self) -> None:
        if self.kind == "parquet":
            if self._pq is None:
                self._pq = pq.ParquetWriter(self.path, OUTPUT_SCHEMA)
            self._pq.close()
        else:
            if self.first and self.kind == "csv":
                self._f.write(",".join(OUTPUT_COLUMNS) + "\n")
            self._f.flush()
            os.fsync(self._f.fileno())
            self._f.close()


def write_table(df: pd.DataFrame, path: str | Path) -> Path:
    """Writes output rows (a frame with OUTPUT_COLUMNS) atomically, in the format of `path`'s extension."""
    path = Path(path)
    kind = table_format(path, OUTPUT_FORMATS)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    writer = _Writer(tmp, kind)
    try:
        writer.write(pa.Table.from_pandas(df[list(OUTPUT_COLUMNS)], schema=OUTPUT_SCHEMA, preserve_index=False))
        writer.close()
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


# --- streaming, partitioned, resumable scoring -----------------------------------------------------


def _hashes(values: pd.Series) -> np.ndarray:
    return pd.util.hash_array(values.to_numpy(dtype=object)).astype(np.uint64)


def _lookup(sorted_keys: np.ndarray, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions of `keys` in `sorted_keys` and whether each was found."""
    pos = np.searchsorted(sorted_keys, keys)
    pos_c = np.minimum(pos, max(len(sorted_keys) - 1, 0))
    found = (pos < len(sorted_keys)) & (sorted_keys[pos_c] == keys) if len(sorted_keys) else np.zeros(len(keys), bool)
    return pos_c, found


@dataclass
class _Index:
    """Which product chunk range (ordinal) each SKU belongs to, in 16 bytes per SKU."""

    mode: str  # "separate", "combined" or "products"
    n_rows: int  # output rows
    keys: np.ndarray  # sorted unique SKU hashes
    ordinal: np.ndarray  # output row of each key; -1 for duplicated SKUs
    counts: np.ndarray  # rows per key in the products table
    skipped_history_rows: int = 0
    unknown_skus: int = 0
    unknown_examples: list[str] = field(default_factory=list)
    history_rows: int = 0
    ignored_columns: list[str] = field(default_factory=list)


def _first_seen(chunks: Iterator[pd.Series]) -> tuple[np.ndarray, np.ndarray, np.ndarray, int, int]:
    """Sorted unique hashes, their first row, row counts, total rows and rows without a SKU."""
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    offset = missing = 0
    held = 0
    merged = (np.empty(0, np.uint64), np.empty(0, np.int64), np.empty(0, np.int64))

    def merge(items):
        keys = np.concatenate([p[0] for p in items])
        rows = np.concatenate([p[1] for p in items])
        cnts = np.concatenate([p[2] for p in items])
        order = np.lexsort((rows, keys))
        keys, rows, cnts = keys[order], rows[order], cnts[order]
        uniq, start = np.unique(keys, return_index=True)
        return uniq, rows[start], np.add.reduceat(cnts, start) if len(cnts) else cnts

    for skus in chunks:
        ok = skus.notna().to_numpy()
        missing += int((~ok).sum())
        h = _hashes(skus[ok])
        rows = np.flatnonzero(ok) + offset
        uniq, first, cnt = np.unique(h, return_index=True, return_counts=True)
        parts.append((uniq, rows[first], cnt))
        held += len(uniq)
        offset += len(skus)
        if held > max(2 * len(merged[0]), 100_000):
            merged = merge([merged, *parts])
            parts, held = [], 0
    merged = merge([merged, *parts])
    return merged[0], merged[1], merged[2], offset, missing


def _build_index(products: Path, history: Path | None, mode: str) -> _Index:
    keys, first, counts, n, missing = _first_seen(c["sku"] for c in iter_table(products, READ_ROWS, {"sku"}))
    if n == 0:
        raise CatalogError(f"{products}: empty table (no rows)")
    if mode == "combined":
        if len(keys) == 0:
            raise CatalogError(f"{products}: no row has a sku")
        ordinal = np.empty(len(keys), np.int64)
        ordinal[np.argsort(first, kind="stable")] = np.arange(len(keys))
        return _Index(mode, len(keys), keys, ordinal, np.ones(len(keys), np.int64), skipped_history_rows=missing,
                      history_rows=n)
    ordinal = np.where(counts > 1, -1, first)
    index = _Index(mode, n, keys, ordinal, counts)
    if history is not None:
        unknown = np.empty(0, np.uint64)
        for chunk in iter_table(history, READ_ROWS, {"sku"}):
            skus = chunk["sku"]
            ok = skus.notna().to_numpy()
            index.history_rows += len(skus)
            index.skipped_history_rows += int((~ok).sum())
            h = _hashes(skus[ok])
            _, found = _lookup(keys, h)
            index.skipped_history_rows += int((~found).sum())
            if (~found).any():
                unknown = np.unique(np.concatenate([unknown, h[~found]]))
                for s in skus[ok][~found].drop_duplicates()[:5]:
                    if len(index.unknown_examples) < 5 and s not in index.unknown_examples:
                        index.unknown_examples.append(s)
        if index.history_rows == 0:
            raise CatalogError(f"{history}: empty table (no rows)")
        index.unknown_skus = len(unknown)
    return index


def _bucket_span(index: _Index, chunk_size: int) -> int:
    """Output rows per history bucket: whole chunks, about BUCKET_ROWS history rows, at most MAX_BUCKETS."""
    per_row = index.history_rows / max(index.n_rows, 1)
    chunks = max(1, int(BUCKET_ROWS // max(per_row * chunk_size, 1)))
    chunks = max(chunks, math.ceil(index.n_rows / (MAX_BUCKETS * chunk_size)))
    return chunks * chunk_size


def _partition(source: Path, index: _Index, span: int, folder: Path, columns: Sequence[str]) -> None:
    """Streams the history once into one Arrow file per bucket of product rows (all-text columns)."""
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    schema = pa.schema([(c, pa.string()) for c in columns])
    writers: dict[int, pa.RecordBatchStreamWriter] = {}
    try:
        for chunk in iter_table(source, READ_ROWS, set(columns)):
            chunk = _with_columns(chunk, columns)
            ok = chunk["sku"].notna().to_numpy()
            chunk = chunk[ok]
            pos, found = _lookup(index.keys, _hashes(chunk["sku"]))
            ordinal = np.where(found, index.ordinal[pos], -1)
            keep = ordinal >= 0
            chunk, bucket = chunk[keep], ordinal[keep] // span
            for b in np.unique(bucket):
                part = chunk[bucket == b]
                if int(b) not in writers:
                    writers[int(b)] = pa.ipc.new_stream(str(folder / f"bucket-{int(b):05d}.arrow"), schema)
                writers[int(b)].write_table(pa.Table.from_pandas(part, schema=schema, preserve_index=False))
    finally:
        for w in writers.values():
            w.close()
    _atomic_text(folder / "DONE.json", json.dumps({"span": span}))


def _read_bucket(folder: Path, b: int) -> pa.Table | None:
    path = folder / f"bucket-{b:05d}.arrow"
    if not path.exists():
        return None
    with pa.ipc.open_stream(str(path)) as reader:
        return reader.read_all()


def _table_frame(table: pa.Table | None, columns: Sequence[str]) -> pd.DataFrame:
    if table is None:
        return pd.DataFrame({c: [] for c in columns}, dtype=object)
    return pd.DataFrame({c: table.column(c).to_pylist() for c in table.column_names}, dtype=object)


class _BucketHistory:
    """One bucket's history kept as Arrow (compact), sorted by SKU; rows become dicts only when asked for."""

    def __init__(self, table: pa.Table | None):
        self.table, self.spans = table, {}
        if table is None or not table.num_rows:
            return
        self.table = table.take(pc.sort_indices(table, sort_keys=[("sku", "ascending")]))  # stable: keeps file order
        skus = self.table.column("sku").to_numpy(zero_copy_only=False)
        starts = np.concatenate([[0], np.flatnonzero(skus[1:] != skus[:-1]) + 1])
        ends = np.append(starts[1:], len(skus))
        self.spans = {skus[a]: (int(a), int(e)) for a, e in zip(starts, ends, strict=True)}

    def get(self, sku: str, default: list[dict]) -> list[dict]:
        if sku not in self.spans:
            return default
        start, end = self.spans[sku]
        return self.table.slice(start, end - start).to_pylist()


def _atomic_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(text)
    os.replace(tmp, path)


def _file_digest(path: Path) -> str:
    h = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def policy_identity(policy: Policy) -> str:
    """What distinguishes one policy configuration from another (class, name, simple settings)."""
    attrs = getattr(policy, "__dict__", {})
    simple = {k: repr(v) for k, v in sorted(attrs.items())
              if (not k.startswith("_") or k in ("_model", "_adapter"))
              and (isinstance(v, str | int | float | bool | type(None)) or dataclasses.is_dataclass(v))}
    return json.dumps({"class": f"{type(policy).__module__}.{type(policy).__qualname__}",
                       "name": getattr(policy, "name", ""), **simple}, sort_keys=True)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    lock = folder / "lock"
    for _ in range(2):
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            try:
                pid = int(lock.read_text().strip() or 0)
            except (OSError, ValueError):
                pid = 0
            if pid and pid != os.getpid() and _pid_alive(pid):
                raise CatalogError(f"{folder}: another run (process {pid}) is writing this output (if it is not "
                                   f"running, delete {lock})") from None
            lock.unlink(missing_ok=True)  # left by a run that was killed
            continue
        with os.fdopen(fd, "w") as f:
            f.write(str(os.getpid()))
        break
    else:
        raise CatalogError(f"{folder}: could not take the lock")
    try:
        yield
    finally:
        lock.unlink(missing_ok=True)


def _check_sizes(batch_size: int, chunk_size: int) -> None:
    if batch_size < 1:
        raise ValueError("batch_size: must be at least 1")
    if chunk_size < 1:
        raise ValueError("chunk_size: must be at least 1")


def _inspect(products: Path, history: Path | None) -> tuple[str, list[str]]:
    pcols = table_columns(products)
    if history is None and is_combined(pcols):
        _require(products, pcols, (*PRODUCT_REQUIRED, *HISTORY_REQUIRED))
        return "combined", [c for c in pcols if c not in COMBINED_COLUMNS]
    _require(products, pcols, PRODUCT_REQUIRED)
    ignored = [c for c in pcols if c not in PRODUCT_COLUMNS]
    if history is None:
        return "products", ignored
    hcols = table_columns(history)
    _require(history, hcols, HISTORY_REQUIRED)
    return "separate", ignored + [f"{c} (history)" for c in hcols if c not in HISTORY_COLUMNS]


def parts_folder(out_path: str | Path) -> Path:
    return Path(f"{out_path}.parts")


def _chunks(products: Path, index: _Index, folder: Path, chunk_size: int, span: int, done: set[int],
            ) -> Iterator[tuple[int, list[tuple[dict, PricingContext | None, str | None]]]]:
    """(chunk number, items) for every chunk not in `done`, reading each history bucket once."""
    hist_dir = folder / "history"
    per_bucket = span // chunk_size
    if index.mode == "combined":
        n_buckets = math.ceil(index.n_rows / span)
        for b in range(n_buckets):
            wanted = [k for k in range(b * per_bucket, min((b + 1) * per_bucket, _n_chunks(index, chunk_size)))
                      if k not in done]
            if not wanted:
                continue
            prods, hist, conflicts = _combined_split(_table_frame(_read_bucket(hist_dir, b), COMBINED_COLUMNS))
            expected = min(span, index.n_rows - b * span)
            if len(prods) != expected:
                raise RuntimeError(f"bucket {b}: {len(prods)} SKUs, expected {expected} (SKU hash collision?)")
            groups = _group(hist)
            for k in wanted:
                lo = k * chunk_size - b * span
                chunk = prods.iloc[lo:lo + chunk_size].reset_index(drop=True)
                yield k, _items(chunk, groups, with_now=False, conflicts=conflicts)
        return
    loaded, groups = -1, _BucketHistory(None)
    for k, chunk in enumerate(iter_table(products, chunk_size, set(PRODUCT_COLUMNS))):
        if k in done:
            continue
        duplicates = {}
        skus = chunk["sku"]
        ok = skus.notna().to_numpy()
        if ok.any():
            pos, found = _lookup(index.keys, _hashes(skus[ok]))
            many = found & (index.counts[pos] > 1)
            duplicates = {s: int(c) for s, c in zip(skus[ok][many], index.counts[pos][many], strict=True)}
        if index.mode == "separate" and (k * chunk_size) // span != loaded:
            loaded = (k * chunk_size) // span
            groups = _BucketHistory(_read_bucket(hist_dir, loaded))
        yield k, _items(chunk, groups, with_now=True, duplicates=duplicates, first_row=k * chunk_size + 1)


def _n_chunks(index: _Index, chunk_size: int) -> int:
    return math.ceil(index.n_rows / chunk_size)


def _part_path(folder: Path, k: int) -> Path:
    return folder / f"chunk-{k:06d}.parquet"


def _write_part(folder: Path, k: int, rows: list[dict]) -> None:
    path = _part_path(folder, k)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    pq.write_table(pa.Table.from_pylist(rows, schema=OUTPUT_SCHEMA), tmp)
    with open(tmp, "rb") as f:
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _open_parts(folder: Path, key: str, resume: bool, describe: dict) -> None:
    """Makes `folder` hold parts for `key`: keeps matching ones, refuses stale ones unless not resuming.

    A stale run that scored nothing (it failed on its input, e.g. a header-only file) holds nothing to
    lose, so it is discarded instead of blocking the next run.
    """
    manifest = folder / "manifest.json"
    if manifest.exists():
        try:
            old = json.loads(manifest.read_text()).get("key")
        except (OSError, ValueError):
            old = None
        if old != key and resume and any(folder.glob("chunk-*.parquet")):
            raise CatalogError(
                f"{folder} holds a partial run for different inputs or settings (a file or an option changed "
                "since); run again with --no-resume (resume=False) to discard it and start over")
        if old == key and resume:
            for stray in folder.glob(".*.tmp-*"):
                stray.unlink(missing_ok=True)
            return
    for entry in folder.iterdir():
        if entry.name != "lock":
            shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
    _atomic_text(manifest, json.dumps({"version": _PART_VERSION, "key": key, **describe}, indent=1))


def _assemble(folder: Path, n_chunks: int, n_rows: int, out: Path, kind: str) -> tuple[int, int]:
    tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    writer = _Writer(tmp, kind)
    rows = errors = 0
    try:
        for k in range(n_chunks):
            table = pq.read_table(_part_path(folder, k), schema=OUTPUT_SCHEMA)
            rows += table.num_rows
            errors += int(pc.sum(pc.not_equal(table.column("error"), "")).as_py() or 0)
            writer.write(table)
        writer.close()
        if rows != n_rows:
            raise RuntimeError(f"assembled {rows} rows, expected {n_rows}")
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return rows, errors


def score_files(products_path: str | Path, history_path: str | Path | None, out_path: str | Path,
                policy: Policy, batch_size: int = 16, chunk_size: int = 256, resume: bool = True,
                progress: bool = True, policy_id: str | None = None) -> ScoreSummary:
    """Scores a catalog file into `out_path` (CSV/Parquet/JSONL by extension), streaming and resumable.

    See the module docstring for formats, validation, the memory bound and resuming.
    """
    from tqdm import tqdm

    start = time.perf_counter()
    _check_sizes(batch_size, chunk_size)
    products, history, out = Path(products_path), None if history_path is None else Path(history_path), \
        Path(out_path)
    kind = table_format(out, OUTPUT_FORMATS)
    if not out.parent.is_dir():
        raise CatalogError(f"{out}: the folder {out.parent} does not exist")
    for source in (products, history):
        if source is not None and source.exists() and out.exists() and out.resolve() == source.resolve():
            raise CatalogError(f"{out}: the output would overwrite an input file")
    mode, ignored = _inspect(products, history)
    settings = {"policy": policy_id or policy_identity(policy), "batch_size": batch_size, "chunk_size": chunk_size,
                "mode": mode, "version": _PART_VERSION}
    inputs = {"products": _file_digest(products), "history": None if history is None else _file_digest(history)}
    key = hashlib.sha256(json.dumps([inputs, settings], sort_keys=True).encode()).hexdigest()
    folder = parts_folder(out)
    folder.mkdir(exist_ok=True)
    with _locked(folder):
        _open_parts(folder, key, resume, {"inputs": {"products": str(products), "history": str(history)},
                                          "settings": settings})
        index = _build_index(products, history, mode)
        span = _bucket_span(index, chunk_size)
        hist_dir = folder / "history"
        if mode != "products" and not (hist_dir / "DONE.json").exists():
            source, columns = (products, COMBINED_COLUMNS) if mode == "combined" else (history, HISTORY_COLUMNS)
            _partition(source, index, span, hist_dir, columns)
        n_chunks = _n_chunks(index, chunk_size)
        done = {k for k in range(n_chunks) if _part_path(folder, k).exists()}
        done_rows = sum(min(chunk_size, index.n_rows - k * chunk_size) for k in done)
        scored_now = 0
        with tqdm(total=index.n_rows, initial=done_rows, unit="SKU", desc="scoring", disable=not progress) as bar:
            for k, items in _chunks(products, index, folder, chunk_size, span, done):
                rows = _score_items(items, policy, batch_size, bar.update)
                _write_part(folder, k, rows)
                scored_now += len(rows)
        rows, errors = _assemble(folder, n_chunks, index.n_rows, out, kind)
    shutil.rmtree(folder, ignore_errors=True)
    seconds = time.perf_counter() - start
    warnings = []
    if index.skipped_history_rows:
        what = "rows without a sku" if index.mode == "combined" else (
            f"history rows for {index.unknown_skus} SKU(s) not in the products"
            + (f" (e.g. {', '.join(repr(s) for s in index.unknown_examples[:3])})" if index.unknown_examples
               else "") + " or without a sku")
        warnings.append(f"skipped {index.skipped_history_rows} {what}")
    if ignored:
        warnings.append(f"ignored unknown columns: {', '.join(ignored)}")
    return ScoreSummary(out_path=out, rows=rows, scored=rows - errors, errors=errors,
                        skipped_history_rows=index.skipped_history_rows, unknown_history_skus=index.unknown_skus,
                        resumed_chunks=len(done), chunks=n_chunks, seconds=seconds,
                        skus_per_second=scored_now / seconds if seconds > 0 else 0.0, warnings=warnings)


# --- single products and policies -------------------------------------------------------------------


def find_context(sku: str, products_path: str | Path, history_path: str | Path | None = None) -> PricingContext:
    """The context of one SKU, streaming the files; ValueError naming the problem when it has none."""
    products, history = Path(products_path), None if history_path is None else Path(history_path)
    mode, _ = _inspect(products, history)
    cols = COMBINED_COLUMNS if mode == "combined" else PRODUCT_COLUMNS
    rows = pd.concat([c[c["sku"] == sku] for c in iter_table(products, READ_ROWS, set(cols))], ignore_index=True)
    if not len(rows):
        raise CatalogError(f"sku: '{sku}' is not in {products}")
    hist = None
    if history is not None:
        hist = pd.concat([c[c["sku"] == sku] for c in iter_table(history, READ_ROWS, set(HISTORY_COLUMNS))],
                         ignore_index=True)
        hist = _with_columns(hist, HISTORY_COLUMNS)
    rows = _with_columns(rows, COMBINED_COLUMNS if mode == "combined" else PRODUCT_COLUMNS)
    (_, ctx, err), *_ = contexts_for(rows, hist)
    if err:
        raise ValueError(f"SKU '{sku}': {err}")
    return ctx


def load_policy(spec: str = "llm", model: str | None = None, adapter: str | None = None) -> Policy:
    """A policy by name (`make_policy`), or `package.module:factory` for a custom one (called with no args)."""
    if ":" not in spec:
        from agent.policy import make_policy

        return make_policy(spec, model=model, adapter=adapter)
    module, _, attr = spec.partition(":")
    try:
        factory = getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as err:
        raise ValueError(f"policy: cannot load '{spec}' ({err})") from None
    try:
        policy = factory()
    except TypeError as err:
        raise ValueError(f"policy: '{spec}' cannot be called without arguments ({err})") from None
    if not callable(getattr(policy, "act", None)) or not hasattr(policy, "name"):
        raise ValueError(f"policy: '{spec}' did not give a policy (an object with a name and act())")
    return policy
