"""Writing scored rows: CSV, Parquet or JSON Lines by extension, atomically, safe to open in a spreadsheet.

CSV outputs are opened in spreadsheets, which run a cell starting with `=`, `+`, `-`, `@`, tab or
carriage return as a formula; product names come from merchants' files (untrusted), so such a text
cell is written with a leading `'` unless it is a plain number. Files are written to a temporary
name and renamed, so a reader never sees half an output.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import IO

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from agent.catalog.formats import OUTPUT_FORMATS, table_format
from agent.catalog.schema import OUTPUT_COLUMNS, OUTPUT_SCHEMA, TEXT_OUTPUT_COLUMNS


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


class OutputWriter:
    """Appends tables of output rows (OUTPUT_SCHEMA) to a CSV, Parquet or JSON Lines file."""

    def __init__(self, path: Path, kind: str):
        self.path, self.kind, self.first = path, kind, True
        self._pq: pq.ParquetWriter | None = None
        self._f: IO[str] | None = None if kind == "parquet" else open(path, "w", encoding="utf-8", newline="")

    def write(self, table: pa.Table) -> None:
        if self.kind == "parquet":
            if self._pq is None:
                self._pq = pq.ParquetWriter(self.path, OUTPUT_SCHEMA)
            self._pq.write_table(table)
            return
        assert self._f is not None
        df = table.to_pandas()
        if self.kind == "csv":
            for c in TEXT_OUTPUT_COLUMNS:
                df[c] = df[c].map(escape_formula)
            df.to_csv(self._f, header=self.first, index=False, lineterminator="\n")
        elif len(df):
            text = df.to_json(orient="records", lines=True, force_ascii=False)
            self._f.write(text if text.endswith("\n") else text + "\n")
        self.first = False

    def close(self) -> None:
        """Finishes the file (a header-only CSV or an empty Parquet when nothing was written) and syncs it."""
        if self.kind == "parquet":
            if self._pq is None:
                self._pq = pq.ParquetWriter(self.path, OUTPUT_SCHEMA)
            self._pq.close()
            return
        assert self._f is not None
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
    writer = OutputWriter(tmp, kind)
    try:
        writer.write(pa.Table.from_pandas(df[list(OUTPUT_COLUMNS)], schema=OUTPUT_SCHEMA, preserve_index=False))
        writer.close()
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path
