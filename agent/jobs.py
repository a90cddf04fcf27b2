"""Scoring as a job: a catalog handed in now, scored in the background, its progress and result asked for later.

Why: a pricing team waited four to five minutes for 50 SKUs inside one blocking `POST /v1/score`
(issue 17); a proxy or a client timeout in between lost the whole answer. A job answers at once with
an id; the catalog is scored by `agent.catalog.score_files` (streaming, resumable by chunks) and the
result file is fetched when it is done.

Every job is a folder under the queue's root, so nothing lives only in memory:

    <root>/<id>/job.json              what was asked and where it stands (`JobStatus`, written atomically)
    <root>/<id>/products.<ext>        the tables as received (history.<ext> too when given)
    <root>/<id>/result.csv            the scored catalog, once done (its chunks sit beside it until then)

A server that stops or dies mid-job leaves the job `running` with its finished chunks on disk; the next
queue started on the same root takes it up again and scores only the chunks that were missing, so the
result is the file an uninterrupted run writes. One worker thread scores one job at a time, taking the
pricing service's lock per chunk: a chat message or a `/v1/recommend` waits at most one chunk.
"""

from __future__ import annotations

import contextlib
import datetime
import logging
import queue
import re
import secrets
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, Literal

from pydantic import BaseModel

from agent.catalog import FORMATS, CatalogError, ColumnMap, TableSource, score_files, table_format
from agent.catalog.parts import atomic_text
from agent.catalog.tables import inspect_inputs
from agent.service import PricingService

log = logging.getLogger("agent.jobs")

Status = Literal["queued", "running", "done", "failed"]
RESULT = "result.csv"
CHUNK = 16  # SKUs scored per turn of the lock (and per resumable part)
_ID = re.compile(r"[0-9a-f]{16}")
_SAVE_EVERY_S = 1.0  # progress is written to job.json at most this often (and at every state change)


class JobStatus(BaseModel):
    """Where a job stands: what `GET /v1/jobs/{id}` answers and `job.json` holds."""

    id: str
    status: Status
    created_at: str
    started_at: str | None = None
    finished_at: str | None = None
    files: dict[str, str]  # role ("products", "history") -> the stored file's name
    columns: str | None = None  # the merchant's column mapping, as given
    rows_total: int | None = None  # product rows in the catalog (known once scoring starts)
    rows_done: int = 0
    skus_per_second: float | None = None  # over this run of the job (a resumed run counts from its start)
    eta_seconds: float | None = None
    seconds: float | None = None  # how long the last run of the job took, once done
    scored: int | None = None  # rows priced, once done
    errors: int | None = None  # rows that carry an error, once done
    resumed: int = 0  # times the job was taken up again after the server stopped mid-way
    warnings: list[str] = []
    error: str | None = None  # why a failed job failed


class JobNotFound(KeyError):
    """No job with that id under this queue's root."""


class JobNotDone(RuntimeError):
    """The job's result was asked for before the job finished."""


class _Stopped(Exception):
    """The queue is stopping: the job in progress stays `running` and resumes at the next start."""


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")


def _stored_name(role: str, filename: str) -> str:
    """`products.csv` etc.: the role and the upload's own extension (the table reader picks by it)."""
    suffixes = "".join(Path(filename or "").suffixes[-2:]).lower()
    return role + re.sub(r"[^a-z0-9.]", "", suffixes)


class JobQueue:
    """Catalog-scoring jobs on disk under `root`, run one at a time by a worker thread over `service`."""

    def __init__(self, root: str | Path, service: PricingService, batch_size: int = 16, chunk_size: int = CHUNK):
        self.root, self.service = Path(root), service
        self.batch_size, self.chunk_size = batch_size, chunk_size
        self._pending: queue.Queue[str | None] = queue.Queue()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    # --- lifecycle ---------------------------------------------------------------------------------

    def start(self) -> None:
        """Starts the worker (once) after queueing every unfinished job on disk, oldest first."""
        with self._start_lock:
            if self._thread is not None:
                return
            self.root.mkdir(parents=True, exist_ok=True)
            unfinished = [s for s in self._statuses() if s.status in ("queued", "running")]
            for status in sorted(unfinished, key=lambda s: (s.created_at, s.id)):
                self._pending.put(status.id)
            self._stop.clear()
            self._thread = threading.Thread(target=self._work, name="scoring-jobs", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Stops the worker between two batches; the job in progress resumes at the next `start`."""
        with self._start_lock:
            thread, self._thread = self._thread, None
            if thread is None:
                return
            self._stop.set()
            self._pending.put(None)
            thread.join(timeout)

    # --- what clients do ---------------------------------------------------------------------------

    def submit(self, tables: dict[str, tuple[str, bytes | BinaryIO]], columns: str | None = None) -> JobStatus:
        """A new job for `tables` ({"products": (file name, bytes or a binary file), optional "history": ...}).

        The files' formats and required columns are checked now (`CatalogError`, a 422 for the API),
        so a job that cannot run is refused instead of failing later."""
        if "products" not in tables:
            raise CatalogError("products: a job needs a products table")
        unknown = sorted(set(tables) - {"products", "history"})
        if unknown:
            raise CatalogError(f"{unknown[0]}: unknown table (expected products, history)")
        mapping = ColumnMap.parse(columns)
        job_id = secrets.token_hex(8)
        folder = self.root / job_id
        folder.mkdir(parents=True)
        try:
            files = {}
            for role, (filename, data) in tables.items():
                name = _stored_name(role, filename)
                table_format(folder / name, FORMATS, where=f"{role} ({filename}): ")
                if isinstance(data, bytes):
                    (folder / name).write_bytes(data)
                else:  # an upload spooled to disk: copied in blocks, never whole in memory
                    with open(folder / name, "wb") as out:
                        shutil.copyfileobj(data, out, 1 << 20)
                files[role] = name
            history = folder / files["history"] if "history" in files else None
            inspect_inputs(TableSource.of(folder / files["products"], dict(mapping.products)),
                           None if history is None else TableSource.of(history, dict(mapping.history)))
        except Exception as err:
            shutil.rmtree(folder, ignore_errors=True)
            if isinstance(err, CatalogError):  # the merchant's own file names, not the stored ones
                text = str(err)
                for role, (filename, _) in tables.items():
                    stored = _stored_name(role, filename)
                    text = text.replace(str(folder / stored), filename or stored).replace(stored, filename or stored)
                raise CatalogError(text) from None
            raise
        self.start()  # before this job is on disk: a first start queues the jobs it finds there, not this one twice
        status = JobStatus(id=job_id, status="queued", created_at=_now(), files=files, columns=columns)
        self._save(status)
        self._pending.put(job_id)
        return status

    def get(self, job_id: str) -> JobStatus:
        path = self._folder(job_id) / "job.json"
        if not path.exists():
            raise JobNotFound(job_id)
        return JobStatus.model_validate_json(path.read_text(encoding="utf-8"))

    def result(self, job_id: str) -> Path:
        """The finished job's result file; `JobNotDone` before that."""
        status = self.get(job_id)
        if status.status != "done":
            raise JobNotDone(f"job {job_id} is {status.status}" + (f": {status.error}" if status.error else ""))
        return self._folder(job_id) / RESULT

    def list(self) -> list[JobStatus]:
        return sorted(self._statuses(), key=lambda s: (s.created_at, s.id), reverse=True)

    def wait(self, job_id: str, timeout: float = 60.0) -> JobStatus:
        """The job's status once it is done or failed (or at `timeout`): for tests and scripts."""
        deadline = time.monotonic() + timeout
        while True:
            status = self.get(job_id)
            if status.status in ("done", "failed") or time.monotonic() > deadline:
                return status
            time.sleep(0.05)

    # --- the worker --------------------------------------------------------------------------------

    def _work(self) -> None:
        while not self._stop.is_set():
            job_id = self._pending.get()
            if job_id is None or self._stop.is_set():
                return
            try:
                self._run(self.get(job_id))
            except _Stopped:
                return
            except Exception:  # never let one job end the worker
                log.exception("scoring job %s", job_id)

    def _run(self, status: JobStatus) -> None:
        if status.status not in ("queued", "running"):
            return
        folder = self._folder(status.id)
        if status.status == "running":
            status.resumed += 1
        status.status, status.started_at, status.error = "running", status.started_at or _now(), None
        self._save(status)
        started = time.monotonic()
        first: list[int | None] = [None]  # rows done when this run began (a resumed job starts above 0)
        saved = [0.0]

        def progress(done: int, total: int) -> None:
            first[0] = done if first[0] is None else first[0]
            elapsed = time.monotonic() - started
            rate = (done - first[0]) / elapsed if elapsed > 0 and done > first[0] else None
            status.rows_done, status.rows_total = done, total
            status.skus_per_second = rate
            status.eta_seconds = (total - done) / rate if rate else None
            if time.monotonic() - saved[0] >= _SAVE_EVERY_S or done == total:
                saved[0] = time.monotonic()
                self._save(status)
            if self._stop.is_set():
                raise _Stopped

        history = folder / status.files["history"] if "history" in status.files else None
        try:
            policy = self.service.shared_policy()
            summary = score_files(folder / status.files["products"], history, folder / RESULT, policy,
                                  batch_size=self.batch_size, chunk_size=self.chunk_size, resume=True,
                                  progress=False, mapping=status.columns, on_progress=progress,
                                  exclusive=self._turn)
        except _Stopped:
            self._save(status)  # still `running`: the next start resumes it
            raise
        except CatalogError as err:
            self._finish(status, error=str(err))
            return
        except Exception as err:
            log.exception("scoring job %s failed", status.id)
            self._finish(status, error=f"scoring failed: {type(err).__name__}: {err}".strip())
            return
        status.scored, status.errors, status.warnings = summary.scored, summary.errors, summary.warnings
        status.seconds = round(time.monotonic() - started, 3)
        status.rows_done = status.rows_total = summary.rows
        status.eta_seconds = 0.0
        self._finish(status)

    @contextlib.contextmanager
    def _turn(self) -> Iterator[None]:
        """The service's lock for one chunk, waiting as long as others hold it (a job is patient: unlike a
        request it has no client timing out), but giving up when the queue stops."""
        while not self.service.lock.acquire(timeout=0.5):
            if self._stop.is_set():
                raise _Stopped
        try:
            yield
        finally:
            self.service.lock.release()

    # --- disk --------------------------------------------------------------------------------------

    def _finish(self, status: JobStatus, error: str | None = None) -> None:
        status.status, status.error, status.finished_at = ("failed" if error else "done"), error, _now()
        self._save(status)

    def _folder(self, job_id: str) -> Path:
        if not _ID.fullmatch(job_id or ""):
            raise JobNotFound(job_id)  # not an id this queue makes: never a path outside the root
        return self.root / job_id

    def _save(self, status: JobStatus) -> None:
        atomic_text(self._folder(status.id) / "job.json", status.model_dump_json(indent=1))

    def _statuses(self) -> list[JobStatus]:
        out = []
        for path in self.root.glob("*/job.json") if self.root.is_dir() else []:
            try:
                out.append(JobStatus.model_validate_json(path.read_text(encoding="utf-8")))
            except Exception as err:  # a foreign or damaged file is skipped, not fatal
                log.warning("skipping %s: %s", path, err)
        return out
