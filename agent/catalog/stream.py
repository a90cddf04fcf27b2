"""`score_files`: a catalog file in, an output file out, streaming, resumable and reproducible.

The pieces live beside this module: `partition` bounds memory (SKU index + history buckets), `parts`
makes the run crash-safe and resumable, `rows` and `scoring` turn each chunk into output rows. This
module only orders them and reports the run: a re-run after Ctrl-C or `kill -9` writes exactly the
bytes an uninterrupted run does.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path

from agent.catalog.formats import OUTPUT_FORMATS, TableSource, table_format
from agent.catalog.partition import SkuIndex, bucket_span, build_index, chunk_items, partition
from agent.catalog.parts import (
    PART_VERSION,
    assemble,
    file_digest,
    locked,
    open_parts,
    part_path,
    parts_folder,
    write_part,
)
from agent.catalog.plans import ColumnMap
from agent.catalog.schema import COMBINED_COLUMNS, HISTORY_COLUMNS, CatalogError
from agent.catalog.scoring import check_sizes, policy_identity, score_items
from agent.catalog.tables import inspect_inputs
from env.context import Policy

# Scores chunks elsewhere: (chunk number, row items) in, (chunk number, output rows) out, in any order.
ChunkEngine = Callable[[Iterator[tuple[int, list]]], Iterator[tuple[int, list[dict]]]]


@dataclass
class ScoreSummary:
    """What a `score_files` run did, for the CLI's closing lines and the UI's status."""

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


def _warnings(index: SkuIndex, ignored: list[str], notes: list[str]) -> list[str]:
    warnings = list(notes)
    if index.skipped_history_rows:
        what = "rows without a sku" if index.mode == "combined" else (
            f"history rows for {index.unknown_skus} SKU(s) not in the products"
            + (f" (e.g. {', '.join(repr(s) for s in index.unknown_examples[:3])})" if index.unknown_examples
               else "") + " or without a sku")
        warnings.append(f"skipped {index.skipped_history_rows} {what}")
    if ignored:
        warnings.append(f"ignored unknown columns: {', '.join(ignored)}")
    return warnings


def score_files(products_path: str | Path, history_path: str | Path | None, out_path: str | Path,
                policy: Policy, batch_size: int = 16, chunk_size: int = 256, resume: bool = True,
                progress: bool = True, policy_id: str | None = None,
                mapping: ColumnMap | str | None = None,
                on_progress: Callable[[int, int], None] | None = None,
                exclusive: Callable[[], AbstractContextManager] | None = None,
                engine: ChunkEngine | None = None) -> ScoreSummary:
    """Scores a catalog file into `out_path` (CSV/Parquet/JSONL by extension), streaming and resumable.

    See the package docstring for formats and validation, `partition` for the memory bound and
    `parts` for resuming. `mapping`: the merchant's explicit column mapping (`ColumnMap` or its text,
    "sku=Variant SKU,unit_cost=Cost per item,history.units=Qty"). `on_progress(rows_done, rows_total)`
    after each batch (rows a resumed run found done count as done); `exclusive()`, when given, is held
    around each chunk's scoring (a server's policy lock: other requests get their turn between chunks).
    `engine`: who scores the chunks (`agent.catalog.ray_engine` on a Ray cluster); by default this process,
    with `policy`. Reading, partitioning, the parts and the output stay here either way, so every engine
    writes the same file.
    """
    from tqdm import tqdm

    start = time.perf_counter()
    check_sizes(batch_size, chunk_size)
    products, out = Path(products_path), Path(out_path)
    history = None if history_path is None else Path(history_path)
    kind = table_format(out, OUTPUT_FORMATS)
    if not out.parent.is_dir():
        raise CatalogError(f"{out}: the folder {out.parent} does not exist")
    for source in (products, history):
        if source is not None and source.exists() and out.exists() and out.resolve() == source.resolve():
            raise CatalogError(f"{out}: the output would overwrite an input file")
    cmap = ColumnMap.parse(mapping)
    psource = TableSource.of(products, dict(cmap.products))
    hsource = None if history is None else TableSource.of(history, dict(cmap.history))
    mode, ignored, notes = inspect_inputs(psource, hsource)
    settings = {"policy": policy_id or policy_identity(policy), "batch_size": batch_size, "chunk_size": chunk_size,
                "mode": mode, "version": PART_VERSION}
    if cmap:
        settings["columns"] = cmap.describe()
    inputs = {"products": file_digest(products), "history": None if history is None else file_digest(history)}
    key = hashlib.sha256(json.dumps([inputs, settings], sort_keys=True).encode()).hexdigest()
    folder = parts_folder(out)
    folder.mkdir(exist_ok=True)
    with locked(folder):
        open_parts(folder, key, resume, {"inputs": {"products": str(products), "history": str(history)},
                                         "settings": settings})
        index = build_index(psource, hsource, mode)
        span = bucket_span(index, chunk_size)
        hist_dir = folder / "history"
        if mode != "products" and not (hist_dir / "DONE.json").exists():
            source, columns = (psource, COMBINED_COLUMNS) if mode == "combined" else (hsource, HISTORY_COLUMNS)
            partition(source, index, span, hist_dir, columns)  # type: ignore[arg-type]
        n_chunks = index.n_chunks(chunk_size)
        done = {k for k in range(n_chunks) if part_path(folder, k).exists()}
        done_rows = sum(min(chunk_size, index.n_rows - k * chunk_size) for k in done)
        scored_now = 0
        with tqdm(total=index.n_rows, initial=done_rows, unit="SKU", desc="scoring", disable=not progress) as bar:
            counted = [done_rows]  # not bar.n: a disabled tqdm bar does not count

            def advance(n: int) -> None:
                bar.update(n)
                counted[0] += n
                if on_progress is not None:
                    on_progress(counted[0], index.n_rows)

            if on_progress is not None:
                on_progress(done_rows, index.n_rows)
            chunks = chunk_items(psource, index, folder, chunk_size, span, done)
            if engine is None:
                for k, items in chunks:
                    with exclusive() if exclusive is not None else contextlib.nullcontext():
                        rows = score_items(items, policy, batch_size, advance)
                    write_part(folder, k, rows)
                    scored_now += len(rows)
            else:
                for k, rows in engine(chunks):
                    write_part(folder, k, rows)
                    scored_now += len(rows)
                    advance(len(rows))
        rows_out, errors = assemble(folder, n_chunks, index.n_rows, out, kind)
    shutil.rmtree(folder, ignore_errors=True)
    seconds = time.perf_counter() - start
    return ScoreSummary(out_path=out, rows=rows_out, scored=rows_out - errors, errors=errors,
                        skipped_history_rows=index.skipped_history_rows, unknown_history_skus=index.unknown_skus,
                        resumed_chunks=len(done), chunks=n_chunks, seconds=seconds,
                        skus_per_second=scored_now / seconds if seconds > 0 else 0.0,
                        warnings=_warnings(index, ignored, notes))
