"""One table reader for every door: a path (CLI, catalog tab) or bytes + file name (API, chat uploads).

Whatever the format, a table comes out the same way: catalog column names (the merchant's explicit
mapping first, then a recognised shop export's columns, then trimmed lower-case names with aliases such
as `qty` -> `units`: `plans`) and every cell as text or None. Cells stay text on purpose: numbers are
parsed once, later, by the same schema whatever the door (so "12" from a CSV and 12.0 from Parquet give
one price), and a bad cell becomes a message naming it instead of a silently coerced NaN. A text table
written with decimal commas has its money and count cells rewritten with decimal points here
(`dialects`), and an order export is summed into weekly sales history (`orders`).
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from pathlib import Path

import pandas as pd
import pyarrow as pa

from agent.catalog.formats import TableSource, clean_arrow, raw_chunks, raw_header, reading, source_decimal
from agent.catalog.orders import weekly_history
from agent.catalog.plans import Plan, build_plan
from agent.catalog.schema import (
    COMBINED_COLUMNS,
    COUNT_COLUMNS,
    FRACTION_COLUMNS,
    HISTORY_COLUMNS,
    HISTORY_REQUIRED,
    MONEY_COLUMNS,
    PRODUCT_COLUMNS,
    PRODUCT_REQUIRED,
    READ_ROWS,
    CatalogError,
    is_combined,
    require,
)
from agent.catalog.values import cell_text, decimal_comma_text

Source = str | Path | TableSource
Pairs = Mapping[str, str] | None  # {catalog column: file column}
NUMERIC = MONEY_COLUMNS | COUNT_COLUMNS | FRACTION_COLUMNS | {"revenue", "discount"}


def clean_series(s: pd.Series, nan_missing: bool = False) -> list[str | None]:
    """A column's cells as text or None: in one Arrow pass where every cell is text or missing (pandas' string
    dtype, or an object column of str and None: a catalog read by `read_table`), others cell by cell (cell by
    cell was a fifth of a classical 5,000-SKU score)."""
    if isinstance(s.dtype, pd.StringDtype):
        return clean_arrow(pa.array(s.to_numpy(dtype=object, na_value=None), type=pa.string()))
    if s.dtype == object:
        try:
            text = pa.array(s.to_numpy(), type=pa.string())  # refuses a float (NaN too), int, bool... cell
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            pass
        else:
            return clean_arrow(text)
    return [cell_text(v, nan_missing) for v in s.tolist()]


def _cells(df: pd.DataFrame, clean: bool, nan_missing: bool = False) -> pd.DataFrame:
    return pd.DataFrame({str(c): df.iloc[:, i].tolist() if clean else clean_series(df.iloc[:, i], nan_missing)
                         for i, c in enumerate(df.columns)}, index=range(len(df)), dtype=object)


def _decimal_points(df: pd.DataFrame, decimal: str) -> pd.DataFrame:
    if decimal == ",":
        for column in (c for c in df.columns if c in NUMERIC):
            df[column] = [decimal_comma_text(v) for v in df[column]]
    return df


def normalize_frame(df: pd.DataFrame, where: object = "table", clean: bool = False,
                    nan_missing: bool = False, mapping: Pairs = None) -> pd.DataFrame:
    """Catalog column names and every cell as text or None (`clean`: the cells already are).

    `nan_missing`: the frame came from memory (pandas uses NaN for a missing cell), not from a file.
    `mapping`: the merchant's explicit {catalog column: frame column}.
    """
    plan = build_plan([str(c) for c in df.columns], mapping, f"{where}: " if where else "")
    out = plan.apply(_cells(df, clean, nan_missing), {})
    if plan.orders:
        out = weekly_history(out, plan.platform.a_label, f"{where}: " if where else "")  # type: ignore[union-attr]
    return out


def with_columns(df: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """`df` with exactly `columns`, absent ones all None (never NaN, which would read as a bad number)."""
    return pd.DataFrame({c: df[c] if c in df.columns else [None] * len(df) for c in columns},
                        index=df.index, dtype=object)


def table_plan(path: Source) -> Plan:
    """How a table's columns become catalog columns (from its header and its explicit mapping)."""
    source = TableSource.of(path)
    with reading(source):
        return build_plan(raw_header(source), source.mapping, source.prefix)


def _mapped(source: TableSource, plan: Plan, chunk_size: int,
            wanted: Collection[str] | None) -> Iterator[pd.DataFrame]:
    decimal, state = source_decimal(source), {}
    for raw, clean in raw_chunks(source, chunk_size, plan.needed(wanted)):
        yield _decimal_points(plan.apply(_cells(raw, clean), state), decimal)


def iter_table(path: Source, chunk_size: int = READ_ROWS,
               columns: Collection[str] | None = None) -> Iterator[pd.DataFrame]:
    """The table in chunks of exactly `chunk_size` rows (the last may be shorter), cells as text or None.

    Exact chunks keep the resumable scorer's chunk numbering independent of how a format batches
    its rows. With `columns` (catalog names), only those are read.
    """
    source = TableSource.of(path)
    wanted = None if columns is None else set(columns)
    pending: list[pd.DataFrame] = []
    size = 0
    with reading(source):
        plan = build_plan(raw_header(source), source.mapping, source.prefix)
        chunks = _mapped(source, plan, chunk_size, wanted)
        if plan.orders:
            lines = list(chunks)
            whole = pd.concat(lines, ignore_index=True) if lines else pd.DataFrame()
            chunks = iter([weekly_history(whole, plan.platform.a_label, source.prefix)])  # type: ignore[union-attr]
        for df in chunks:
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


def table_columns(path: Source) -> list[str]:
    """The catalog column names a table yields (from its header, or the first JSON object's keys)."""
    return table_plan(path).columns


def _read(source: TableSource, columns: Collection[str] | None) -> pd.DataFrame:
    table_plan(source)
    chunks = list(iter_table(source, READ_ROWS, columns))
    if not chunks or not sum(len(c) for c in chunks):
        raise source.error("empty table (no rows)")
    return pd.concat(chunks, ignore_index=True)


def read_table(path: str | Path, columns: Collection[str] | None = None, mapping: Pairs = None) -> pd.DataFrame:
    """A whole table file in memory (cells as text or None); CatalogError when unusable or without rows.

    `mapping`: the merchant's explicit {catalog column: file column} for this file.
    """
    return _read(TableSource.of(path, mapping), columns)


def read_upload(data: bytes, filename: str, columns: Collection[str] | None = None,
                mapping: Pairs = None) -> pd.DataFrame:
    """`read_table` for uploaded bytes; the format comes from `filename`'s extension.

    No temporary file: an HTTP body or a chat upload is read where it lies. Messages do not name the
    file (the caller knows which upload it was, and a server-side path must never leak).
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise CatalogError(f"expected the file's bytes, got {type(data).__name__}")
    source = TableSource(Path(str(filename)).name or "upload", data=bytes(data), mapping=tuple((mapping or {}).items()))
    return _read(source, columns)


def _require(source: TableSource, plan: Plan, required: Sequence[str]) -> None:
    missing = [c for c in required if c not in plan.columns]
    require(source.prefix.rstrip(": ") or None, plan.columns, required, plan.raw, plan.hints(missing))


def check_columns(source: Source, role: str, with_history: bool = False) -> None:
    """CatalogError naming the file's own columns when a 'products' (with or without a separate history) or a
    'history' table lacks a required column; a products table with sales columns is a combined one."""
    source = TableSource.of(source)
    plan = table_plan(source)
    if role == "history":
        required: Sequence[str] = HISTORY_REQUIRED
    elif not with_history and is_combined(plan.columns):
        required = (*PRODUCT_REQUIRED, *HISTORY_REQUIRED)
    else:
        required = PRODUCT_REQUIRED
    _require(source, plan, required)


def inspect_inputs(products: Source, history: Source | None) -> tuple[str, list[str], list[str]]:
    """('combined' | 'products' | 'separate', ignored columns, notes): the layout of a catalog's files.

    Checked before any scoring, so a missing required column stops the run with one message
    instead of turning every row into the same error. Notes say how a shop export was read.
    """
    psource = TableSource.of(products)
    pplan = table_plan(psource)
    pcols, notes = pplan.columns, pplan.notes()
    if history is None and is_combined(pcols):
        _require(psource, pplan, (*PRODUCT_REQUIRED, *HISTORY_REQUIRED))
        return "combined", [c for c in pcols if c not in COMBINED_COLUMNS], notes
    _require(psource, pplan, PRODUCT_REQUIRED)
    ignored = [c for c in pcols if c not in PRODUCT_COLUMNS]
    if history is None:
        return "products", ignored, notes
    hsource = TableSource.of(history)
    hplan = table_plan(hsource)
    _require(hsource, hplan, HISTORY_REQUIRED)
    notes += [f"history: {n}" for n in hplan.notes()]
    return "separate", ignored + [f"{c} (history)" for c in hplan.columns if c not in HISTORY_COLUMNS], notes
