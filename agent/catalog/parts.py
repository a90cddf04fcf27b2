"""The crash-safe state of a resumable run: part files, the manifest, the lock, the final assembly.

Every finished chunk is written atomically (temp file + fsync + `os.replace`) as
`<out>.parts/chunk-NNNNNN.parquet`: a part exists completely or not at all, so a re-run after Ctrl-C
or `kill -9` skips exactly the finished chunks. `manifest.json` holds a key hashed from the input
files' contents and the settings that change results; a re-run whose key differs *refuses* (inputs
or settings changed) rather than mixing stale rows in, unless told not to resume. A lock file stops
two live runs from writing one output.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from agent.catalog.output import OutputWriter
from agent.catalog.schema import OUTPUT_SCHEMA, CatalogError

PART_VERSION = 1  # bump when a part's content changes meaning: old partial runs are then refused


def parts_folder(out_path: str | Path) -> Path:
    """Where a run on `out_path` keeps its parts until the output is assembled."""
    return Path(f"{out_path}.parts")


def atomic_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(text)
    os.replace(tmp, path)


def file_digest(path: Path) -> str:
    """A content hash of an input file: a changed file (same name) must not resume an old run."""
    h = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextlib.contextmanager
def locked(folder: Path) -> Iterator[None]:
    """Holds `folder`'s lock for one run; a lock left by a killed process is taken over."""
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


def part_path(folder: Path, k: int) -> Path:
    return folder / f"chunk-{k:06d}.parquet"


def write_part(folder: Path, k: int, rows: list[dict]) -> None:
    """Chunk `k`'s output rows, durably: after this returns, a crash cannot lose or half-write them."""
    path = part_path(folder, k)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    pq.write_table(pa.Table.from_pylist(rows, schema=OUTPUT_SCHEMA), tmp)
    with open(tmp, "rb") as f:
        os.fsync(f.fileno())
    os.replace(tmp, path)


def open_parts(folder: Path, key: str, resume: bool, describe: dict) -> None:
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
    atomic_text(manifest, json.dumps({"version": PART_VERSION, "key": key, **describe}, indent=1))


def assemble(folder: Path, n_chunks: int, n_rows: int, out: Path, kind: str) -> tuple[int, int]:
    """Joins the parts into `out` atomically; (rows, rows with an error). A missing row is a bug: raised."""
    tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    writer = OutputWriter(tmp, kind)
    rows = errors = 0
    try:
        for k in range(n_chunks):
            table = pq.read_table(part_path(folder, k), schema=OUTPUT_SCHEMA)
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
