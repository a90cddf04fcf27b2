"""File formats: CSV (and TSV / text), Excel .xlsx, Parquet and JSON Lines, from a path or from bytes.

The format is chosen by the file name's extension, the same way for a path and for an upload, so
the CLI, the API and the UI agree on what a file is. A text table's encoding, delimiter and decimal
mark are sniffed (`dialects`); an .xlsx is read with openpyxl (its first sheet that holds data).
Reading is chunked (a catalog may not fit in memory) and every way a file can fail to read becomes one
`CatalogError` line, never a traceback: a user who uploads a spreadsheet needs to hear "not readable
as XLSX", not a stack. Chunks keep the file's own column names; naming them is `plans`' job.

A source read from bytes is named by its file name only (messages carry no temporary path; the
caller says which upload it was).
"""

from __future__ import annotations

import contextlib
import gzip
import io
import json
import zipfile
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from agent.catalog.dialects import SAMPLE_BYTES, Dialect, NotText, sniff
from agent.catalog.schema import CatalogError
from agent.catalog.values import MISSING_MARKERS, cell_text

FORMATS = {".csv": "csv", ".csv.gz": "csv", ".tsv": "csv", ".tsv.gz": "csv", ".txt": "csv", ".tab": "csv",
           ".xlsx": "xlsx", ".xlsm": "xlsx", ".parquet": "parquet", ".pq": "parquet", ".jsonl": "jsonl",
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
    hint = "; save other spreadsheets as .xlsx or CSV" if formats is FORMATS else ""
    raise CatalogError(f"{prefix}unsupported file type (use {', '.join(sorted(set(formats)))}{hint})")


@dataclass(frozen=True)
class TableSource:
    """A table to read: a file on disk, or the bytes of an upload with the file name it came under, and
    the merchant's explicit column mapping for it ((catalog column, file column) pairs, `plans.ColumnMap`)."""

    name: str  # decides the format by its extension
    path: Path | None = None
    data: bytes | None = None
    mapping: tuple[tuple[str, str], ...] = ()

    @classmethod
    def of(cls, source: str | Path | TableSource, mapping: Mapping[str, str] | None = None) -> TableSource:
        pairs = tuple((mapping or {}).items())
        if isinstance(source, TableSource):
            return source if not pairs else cls(source.name, source.path, source.data, pairs)
        return cls(Path(source).name, path=Path(source), mapping=pairs)

    def __str__(self) -> str:
        return str(self.path) if self.path is not None else self.name

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

    def sample(self) -> tuple[bytes, bool]:
        """The first SAMPLE_BYTES of the (decompressed) text, and whether that is all of it."""
        with self.open_binary() as raw:
            f = gzip.GzipFile(fileobj=raw) if self.name.lower().endswith(".gz") else raw
            data = f.read(SAMPLE_BYTES + 1)
        return data[:SAMPLE_BYTES], len(data) <= SAMPLE_BYTES

    def _key(self) -> tuple:
        if self.path is not None:
            stat = self.path.stat()
            return self.name, str(self.path), stat.st_size, stat.st_mtime_ns
        return self.name, len(self.data or b""), hash(self.data or b"")


def text_dialect(source: TableSource) -> Dialect:
    """The sniffed encoding, delimiter and decimal mark of a text table (cached per file version)."""
    if source.path is not None and not source.path.exists():
        raise FileNotFoundError(source.path)
    key = source._key()
    if key not in _DIALECTS:
        sample, complete = source.sample()
        preferred = "\t" if source.name.lower().endswith((".tsv", ".tsv.gz", ".tab")) else ","
        try:
            _DIALECTS[key] = sniff(sample, complete, preferred)
        except NotText as err:
            raise source.error(str(err)) from None
        while len(_DIALECTS) > 64:
            _DIALECTS.pop(next(iter(_DIALECTS)))
    return _DIALECTS[key]


_DIALECTS: dict[tuple, Dialect] = {}  # sniffed once per file version (a run reads a file several times)


def source_decimal(source: TableSource) -> str:
    """The decimal mark of a table's text numbers: sniffed for text tables, '.' for typed formats."""
    return text_dialect(source).decimal if source.kind == "csv" else "."


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
    except UnicodeDecodeError as err:
        raise source.error(f"not a text table (its bytes are not {err.encoding} text throughout; "
                           "save it as UTF-8 CSV or .xlsx)") from None
    except (pd.errors.ParserError, pa.ArrowException, OSError, ValueError, EOFError) as err:
        first = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise source.error(f"not readable as {source.kind.upper()} ({first})") from None


def _csv_options(source: TableSource) -> dict:
    dialect = text_dialect(source)
    data, compression = source.csv_input()
    return {"filepath_or_buffer": data, "compression": compression, "sep": dialect.delimiter,
            "encoding": dialect.encoding}


def raw_header(source: TableSource) -> list[str]:
    """The column names as the file writes them (the first JSON object's keys for JSON Lines)."""
    kind = source.kind
    if source.path is not None and not source.path.exists():
        raise FileNotFoundError(source.path)
    if kind == "csv":
        return [str(c) for c in pd.read_csv(nrows=0, dtype=str, **_csv_options(source)).columns]
    if kind == "xlsx":
        with xlsx_rows(source) as rows:
            return xlsx_header(source, rows)
    if kind == "parquet":
        with source.open_binary() as f:
            return list(pq.read_schema(f).names)
    first = next(jsonl_records(source), None)
    if first is None:
        raise source.error("empty file")
    return list(first)


@contextlib.contextmanager
def xlsx_rows(source: TableSource) -> Iterator[Iterator[tuple]]:
    """The rows (tuples of cell values) of the workbook's first sheet that holds data."""
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    with source.open_binary() as f:
        try:
            book = load_workbook(f, read_only=True, data_only=True)
        except (zipfile.BadZipFile, KeyError, InvalidFileException, OSError, ValueError, EOFError) as err:
            first = str(err).splitlines()[0] if str(err) else type(err).__name__
            raise source.error(f"not readable as XLSX ({first[:120]})") from None
        try:
            sheets = [s for s in book.worksheets if s.max_row and s.max_row > 0] or book.worksheets[:1]
            picked = next((s for s in sheets if any(v is not None for row in s.iter_rows(max_row=50, values_only=True)
                                                     for v in row)), sheets[0] if sheets else None)
            yield iter(()) if picked is None else picked.iter_rows(values_only=True)
        finally:
            book.close()


def xlsx_header(source: TableSource, rows: Iterator[tuple]) -> list[str]:
    """The first row with a value, as names (an empty header cell is named like pandas names it)."""
    for row in rows:
        cells = list(row)
        while cells and cell_text(cells[-1]) is None:
            cells.pop()
        if cells:
            return [cell_text(c) or f"Unnamed: {i}" for i, c in enumerate(cells)]
    raise source.error("empty file")


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


def _parquet_frame(batch: pa.RecordBatch) -> pd.DataFrame:
    """A batch as text cells: a null is missing (None); a NaN stays 'nan' (reported as not finite)."""
    return pd.DataFrame({n: clean_arrow(col) for n, col in zip(batch.schema.names, batch.columns, strict=True)},
                        index=range(batch.num_rows), dtype=object)


def _records_frame(records: list[dict], header: list[str], keep: Collection[str] | None) -> pd.DataFrame:
    """Absent keys become None (missing); an explicit NaN stays NaN (reported as not finite)."""
    names = [k for k in dict.fromkeys([*header, *(k for r in records for k in r)]) if keep is None or k in keep]
    return pd.DataFrame({k: [r.get(k) for r in records] for k in names}, index=range(len(records)), dtype=object)


def _xlsx_chunks(source: TableSource, chunk_size: int, keep: Collection[str] | None) -> Iterator[pd.DataFrame]:
    with xlsx_rows(source) as rows:
        header = xlsx_header(source, rows)
        width = len(header)
        picked = [i for i, n in enumerate(header) if keep is None or n in keep]
        block: list[list] = []
        for row in rows:
            cells = (list(row) + [None] * width)[:width]
            if all(cell_text(c) is None for c in cells):
                continue  # formatted but empty rows below the data
            block.append([cells[i] for i in picked])
            if len(block) == chunk_size:
                yield pd.DataFrame(block, columns=[header[i] for i in picked], dtype=object)
                block = []
        if block:
            yield pd.DataFrame(block, columns=[header[i] for i in picked], dtype=object)


def raw_chunks(source: TableSource, chunk_size: int,
               keep: Collection[str] | None) -> Iterator[tuple[pd.DataFrame, bool]]:
    """(frame with the file's own column names, whether its cells are already clean text), at most
    `chunk_size` rows each; with `keep`, only those (raw) columns are read."""
    kind = source.kind
    if kind == "jsonl":
        records: list[dict] = []
        header: list[str] = []
        for rec in jsonl_records(source):
            header = header or list(rec)
            records.append(rec)
            if len(records) == chunk_size:
                yield _records_frame(records, header, keep), False
                records = []
        if records:
            yield _records_frame(records, header, keep), False
        return
    if kind == "xlsx":
        for frame in _xlsx_chunks(source, chunk_size, keep):
            yield frame, False
        return
    if kind == "csv":
        with pd.read_csv(dtype=str, keep_default_na=False, na_filter=False, chunksize=chunk_size,
                         usecols=None if keep is None else (lambda c: c in keep), **_csv_options(source)) as reader:
            yield from ((df, False) for df in reader)
        return
    with source.open_binary() as f, pq.ParquetFile(f) as pf:
        columns = [n for n in pf.schema_arrow.names if keep is None or n in keep]
        for batch in pf.iter_batches(batch_size=chunk_size, columns=columns):
            yield _parquet_frame(batch), True
