"""One table reader for every door: a path (CLI, catalog tab) or bytes + file name (API, chat uploads).

Whatever the format, a table comes out the same way: canonical column names (trimmed, lower case,
aliases such as `qty` -> `units` resolved, see `schema.COLUMN_ALIASES`) and every cell as text or
None. Cells stay text on purpose: numbers are parsed once, later, by the same schema whatever the
door (so "12" from a CSV and 12.0 from Parquet give one price), and a bad cell becomes a message
naming it instead of a silently coerced NaN.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from pathlib import Path

import pandas as pd
import pyarrow as pa

from agent.catalog.formats import TableSource, clean_arrow, header_names, raw_chunks, raw_header, reading
from agent.catalog.schema import (
    COMBINED_COLUMNS,
    HISTORY_COLUMNS,
    HISTORY_REQUIRED,
    PRODUCT_COLUMNS,
    PRODUCT_REQUIRED,
    READ_ROWS,
    CatalogError,
    canonical_names,
    duplicate_column,
    is_combined,
    require,
)
from agent.catalog.values import cell_text

Source = str | Path | TableSource


def clean_series(s: pd.Series, nan_missing: bool = False) -> list[str | None]:
    """A column's cells as text or None (pandas' string dtype in one Arrow pass, others cell by cell)."""
    if isinstance(s.dtype, pd.StringDtype):
        return clean_arrow(pa.array(s.to_numpy(dtype=object, na_value=None), type=pa.string()))
    return [cell_text(v, nan_missing) for v in s.tolist()]


def normalize_frame(df: pd.DataFrame, where: object = "table", clean: bool = False,
                    nan_missing: bool = False) -> pd.DataFrame:
    """Canonical column names and every cell as text or None (`clean`: the cells already are).

    `nan_missing`: the frame came from memory (pandas uses NaN for a missing cell), not from a file.
    """
    names = canonical_names(list(df.columns))
    dup = duplicate_column(names)
    if dup is not None:
        raise CatalogError(f"{where}: duplicate column '{dup}'")
    return pd.DataFrame({n: df.iloc[:, i].tolist() if clean else clean_series(df.iloc[:, i], nan_missing)
                         for i, n in enumerate(names)}, index=range(len(df)), dtype=object)


def with_columns(df: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """`df` with exactly `columns`, absent ones all None (never NaN, which would read as a bad number)."""
    return pd.DataFrame({c: df[c] if c in df.columns else [None] * len(df) for c in columns},
                        index=df.index, dtype=object)


def iter_table(path: Source, chunk_size: int = READ_ROWS,
               columns: Collection[str] | None = None) -> Iterator[pd.DataFrame]:
    """The table in chunks of exactly `chunk_size` rows (the last may be shorter), cells as text or None.

    Exact chunks keep the resumable scorer's chunk numbering independent of how a format batches
    its rows. With `columns` (canonical names), only those are read.
    """
    source = TableSource.of(path)
    wanted = None if columns is None else set(columns)
    pending: list[pd.DataFrame] = []
    size = 0
    with reading(source):
        for raw, clean in raw_chunks(source, chunk_size, wanted):
            df = normalize_frame(raw, source.prefix.rstrip(": ") or "table", clean)
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
    """The canonical column names of a table (the header, or the first JSON object's keys)."""
    source = TableSource.of(path)
    with reading(source):
        return list(header_names(source, raw_header(source)).values())


def _read(source: TableSource, columns: Collection[str] | None) -> pd.DataFrame:
    table_columns(source)
    chunks = list(iter_table(source, READ_ROWS, columns))
    if not chunks or not sum(len(c) for c in chunks):
        raise source.error("empty table (no rows)")
    return pd.concat(chunks, ignore_index=True)


def read_table(path: str | Path, columns: Collection[str] | None = None) -> pd.DataFrame:
    """A whole table file in memory (cells as text or None); CatalogError when unusable or without rows."""
    return _read(TableSource.of(path), columns)


def read_upload(data: bytes, filename: str, columns: Collection[str] | None = None) -> pd.DataFrame:
    """`read_table` for uploaded bytes; the format comes from `filename`'s extension.

    No temporary file: an HTTP body or a chat upload is read where it lies. Messages do not name the
    file (the caller knows which upload it was, and a server-side path must never leak).
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise CatalogError(f"expected the file's bytes, got {type(data).__name__}")
    return _read(TableSource(Path(str(filename)).name or "upload", data=bytes(data)), columns)


def inspect_inputs(products: Path, history: Path | None) -> tuple[str, list[str]]:
    """('combined' | 'products' | 'separate', ignored columns): the layout of a catalog's files.

    Checked before any scoring, so a missing required column stops the run with one message
    instead of turning every row into the same error.
    """
    pcols = table_columns(products)
    if history is None and is_combined(pcols):
        require(products, pcols, (*PRODUCT_REQUIRED, *HISTORY_REQUIRED))
        return "combined", [c for c in pcols if c not in COMBINED_COLUMNS]
    require(products, pcols, PRODUCT_REQUIRED)
    ignored = [c for c in pcols if c not in PRODUCT_COLUMNS]
    if history is None:
        return "products", ignored
    hcols = table_columns(history)
    require(history, hcols, HISTORY_REQUIRED)
    return "separate", ignored + [f"{c} (history)" for c in hcols if c not in HISTORY_COLUMNS]

