"""File formats: CSV, Parquet and JSON Lines, from a path on disk or from bytes (an HTTP upload).

The format is chosen by the file name's extension, the same way for a path and for an upload, so
the CLI, the API and the UI agree on what a file is. Reading is chunked (a catalog may not fit in
memory) and every way a file can fail to read becomes one `CatalogError` line, never a traceback:
a user who uploads a spreadsheet needs to hear "not readable as CSV", not a pandas stack.

A source read from bytes is named by its file name only (messages carry no temporary path; the
caller says which upload it was).
"""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from agent.catalog.schema import CatalogError, canonical_names, duplicate_column
from agent.catalog.values import MISSING_MARKERS, cell_text

FORMATS = {".csv": "csv", ".csv.gz": "csv", ".parquet": "parquet", ".pq": "parquet", ".jsonl": "jsonl",
           ".ndjson": "jsonl", ".json": "jsonl"}
OUTPUT_FORMATS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet", ".jsonl": "jsonl", ".ndjson": "jsonl"}
_MISSING_ARROW = pa.array(sorted(MISSING_MARKERS), pa.string())


def table_format(path: str | Path, formats: dict[str, str] = FORMATS, where: str | None = None) -> str:
    """'csv', 'parquet' or 'jsonl' by the name's extension; CatalogError listing the accepted ones."""
    name = Path(path).name.lower()
    for suffix in sorted(formats, key=len, reverse=True):
        if name.endswith(suffix):
            return formats[suffix]
    prefix = f"{path}: " if where is None else where
    raise CatalogError(f"{prefix}unsupported file type (use {', '.join(sorted(set(formats)))})")


@dataclass(frozen=True)
class TableSource:
    """A table to read: a file on disk, or the bytes of an upload with the file name it came under."""

    name: str  # decides the format by its extension
    path: Path | None = None
    data: bytes | None = None

    @classmethod
    def of(cls, source: str | Path | TableSource) -> TableSource:
        return source if isinstance(source, TableSource) else cls(Path(source).name, path=Path(source))

    @property
    def prefix(self) -> str:
        """How messages name this table: its path, or nothing for an upload (the caller names it)."""
        return f"{self.path}: " if self.path is not None else ""

    @property
    def kind(self) -> str:
        return table_format(self.name, where=self.prefix)

    def error(self, problem: str) -> CatalogError:
        return CatalogError(self.prefix + problem)

    def open_binary(self) -> IO[bytes]:
        return open(self.path, "rb") if self.path is not None else io.BytesIO(self.data or b"")

    def csv_input(self) -> tuple[str | Path | IO[bytes], str | None]:
        """What pandas reads, and the compression (from the name, which an upload's buffer lacks)."""
        if self.path is not None:
            return self.path, "infer"
        return io.BytesIO(self.data or b""), "gzip" if self.name.lower().endswith(".gz") else None


@contextlib.contextmanager
def reading(source: TableSource) -> Iterator[None]:
    """Turns every way a file can fail to read into one CatalogError naming it."""
    try:
        yield
    except CatalogError:
        raise
    except FileNotFoundError:
        raise source.error("file not found") from None
    except IsADirectoryError:
        raise source.error("is a folder, not a file") from None
    except pd.errors.EmptyDataError:
        raise source.error("empty file") from None
    except UnicodeDecodeError:
        raise source.error("not a text table (it is not UTF-8 text)") from None
    except (pd.errors.ParserError, pa.ArrowException, OSError, ValueError, EOFError) as err:
        first = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise source.error(f"not readable as {source.kind.upper()} ({first})") from None


def raw_header(source: TableSource) -> list[str]:
    """The column names as the file writes them (the first JSON object's keys for JSON Lines)."""
    kind = source.kind
    if source.path is not None and not source.path.exists():
        raise FileNotFoundError(source.path)
    if kind == "csv":
        data, compression = source.csv_input()
        return list(pd.read_csv(data, nrows=0, dtype=str, encoding="utf-8-sig", compression=compression).columns)
    if kind == "parquet":
        with source.open_binary() as f:
            return list(pq.read_schema(f).names)
    first = next(jsonl_records(source), None)
    if first is None:
        raise source.error("empty file")
    return list(first)


def header_names(source: TableSource, raw: list[str]) -> dict[str, str]:
    """{raw name: canonical name}; CatalogError when two columns mean the same one."""
    names = canonical_names(raw)
    dup = duplicate_column(names)
    if dup is not None:
        raise source.error(f"duplicate column '{dup}'")
    return dict(zip(raw, names, strict=True))


def jsonl_records(source: TableSource) -> Iterator[dict]:
    """JSON Lines records (streamed), or the objects of a JSON array (read whole)."""
    with source.open_binary() as raw, io.TextIOWrapper(raw, encoding="utf-8-sig") as f:
        first = ""
        while not first.strip():
            first = f.readline()
            if not first:
                return
        if first.lstrip().startswith("["):
            try:
                data = json.loads(first + f.read())
            except json.JSONDecodeError as err:
                raise source.error(f"not valid JSON ({err.msg})") from None
            if not isinstance(data, list):
                raise source.error(f"a JSON {type(data).__name__}, not a table (rows of objects)")
            lines: Iterator[tuple[int, object]] = enumerate(data, 1)
        else:
            lines = ((i, line) for i, line in enumerate(_chain(first, f), 1) if line.strip())
        for i, line in lines:
            if isinstance(line, str):
                try:
                    line = json.loads(line)
                except json.JSONDecodeError as err:
                    raise source.error(f"line {i} is not valid JSON ({err.msg})") from None
            if not isinstance(line, dict):
                raise source.error(f"record {i} is not a JSON object, so this is not a table")
            yield line


def _chain(first: str, rest: IO[str]) -> Iterator[str]:
    yield first
    yield from rest


def clean_arrow(arr: pa.Array) -> list[str | None]:
    """`cell_text` for a whole Arrow column at once (numbers, booleans and strings; others cell by cell)."""
    kind = arr.type
    if pa.types.is_floating(kind) or pa.types.is_integer(kind) or pa.types.is_boolean(kind) \
            or pa.types.is_large_string(kind):
        arr = pc.cast(arr, pa.string())
    elif not pa.types.is_string(kind):
        return [cell_text(v) for v in arr.to_pylist()]
    trimmed = pc.utf8_trim_whitespace(arr)
    missing = pc.is_in(pc.utf8_lower(trimmed), value_set=_MISSING_ARROW)
    return pc.if_else(missing, pa.scalar(None, pa.string()), trimmed).to_pylist()


def _parquet_frame(batch: pa.RecordBatch, names: dict[str, str]) -> pd.DataFrame:
    """A batch as text cells: a null is missing (None); a NaN stays 'nan' (reported as not finite)."""
    return pd.DataFrame({names[n]: clean_arrow(col) for n, col in zip(batch.schema.names, batch.columns, strict=True)},
                        index=range(batch.num_rows), dtype=object)


def _records_frame(source: TableSource, records: list[dict], wanted: Collection[str] | None) -> pd.DataFrame:
    """Absent keys become None (missing); an explicit NaN stays NaN (reported as not finite)."""
    names = header_names(source, list(dict.fromkeys(k for r in records for k in r)))
    keep = [raw for raw, n in names.items() if wanted is None or n in wanted]
    return pd.DataFrame({names[k]: [r.get(k) for r in records] for k in keep}, index=range(len(records)),
                        dtype=object)


def raw_chunks(source: TableSource, chunk_size: int,
               wanted: Collection[str] | None) -> Iterator[tuple[pd.DataFrame, bool]]:
    """(frame with canonical column names, whether its cells are already clean text), at most
    `chunk_size` rows each; with `wanted`, only those (canonical) columns are read."""
    kind = source.kind
    if kind == "jsonl":
        records: list[dict] = []
        for rec in jsonl_records(source):
            records.append(rec)
            if len(records) == chunk_size:
                yield _records_frame(source, records, wanted), False
                records = []
        if records:
            yield _records_frame(source, records, wanted), False
        return
    names = header_names(source, raw_header(source))
    keep = {raw for raw, n in names.items() if wanted is None or n in wanted}
    if kind == "csv":
        data, compression = source.csv_input()
        with pd.read_csv(data, dtype=str, keep_default_na=False, na_filter=False, chunksize=chunk_size,
                         usecols=lambda c: c in keep, encoding="utf-8-sig", compression=compression) as reader:
            for df in reader:
                yield df.rename(columns=names), False
        return
    with source.open_binary() as f, pq.ParquetFile(f) as pf:
        columns = [n for n in pf.schema_arrow.names if n in keep]
        for batch in pf.iter_batches(batch_size=chunk_size, columns=columns):
            yield _parquet_frame(batch, names), True
