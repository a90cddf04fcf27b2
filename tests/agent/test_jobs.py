"""Scoring jobs: answered at once, scored in the background, the same scores as the blocking route, and a
job cut by a server stop resumes in the next server and writes the file an uninterrupted run writes."""

from __future__ import annotations

import io
import threading

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from agent.api import create_app
from agent.demo_catalog import demo_catalog_paths
from agent.jobs import JobNotDone, JobQueue
from agent.policy import EvidencePolicy
from agent.service import PricingService


class Pausing(EvidencePolicy):
    """The evidence policy, pausing at its `_pause_at`-th decision until `_go` is set (a server mid-job)."""

    def __init__(self, pause_at: int | None = None):
        self._pause_at, self._calls = pause_at, 0
        self._reached, self._go = threading.Event(), threading.Event()

    def act(self, context):
        self._calls += 1
        if self._calls == self._pause_at:
            self._reached.set()
            self._go.wait(30)
        return super().act(context)


def demo_tables() -> dict[str, tuple[str, bytes]]:
    products, history = demo_catalog_paths()
    return {"products": (products.name, products.read_bytes()), "history": (history.name, history.read_bytes())}


def test_a_job_over_http_scores_what_the_blocking_route_scores(tmp_path):
    app = create_app(policy=EvidencePolicy(), jobs_dir=tmp_path / "jobs")
    client = TestClient(app)
    products, history = demo_catalog_paths()
    files = {"products": (products.name, products.read_bytes()), "history": (history.name, history.read_bytes())}
    r = client.post("/v1/jobs", files=files)
    assert r.status_code == 202, r.text
    job = r.json()
    assert job["status"] == "queued" and r.headers["location"].endswith(f"/v1/jobs/{job['id']}")
    done = app.state.jobs.wait(job["id"])
    assert done.status == "done", done.error
    status = client.get(f"/v1/jobs/{job['id']}").json()
    assert status["rows_done"] == status["rows_total"] == 50 and status["scored"] == 50 and status["errors"] == 0
    result = client.get(f"/v1/jobs/{job['id']}/result")
    assert result.status_code == 200 and result.headers["content-type"].startswith("text/csv")
    from_job = pd.read_csv(io.StringIO(result.text))
    blocking = pd.read_csv(io.StringIO(client.post("/v1/score/files?format=csv", files=files).text))
    merged = from_job.merge(blocking, on="sku", suffixes=("_job", "_now"))
    assert len(merged) == 50
    assert (merged.recommended_price_job == merged.recommended_price_now).all()
    assert [j["id"] for j in client.get("/v1/jobs").json()] == [job["id"]]


def test_json_rows_become_a_job_and_bad_catalogs_are_refused_at_once(tmp_path):
    app = create_app(policy=EvidencePolicy(), jobs_dir=tmp_path / "jobs")
    client = TestClient(app)
    body = {"products": [{"sku": "MUG-1", "unit_cost": 4, "current_price": 12}],
            "history": [{"sku": "MUG-1", "period": i, "price": p, "units": u}
                        for i, (p, u) in enumerate([(11, 118), (12.5, 92), (12, 101), (10.5, 131)])]}
    job = client.post("/v1/jobs", json=body).json()
    assert app.state.jobs.wait(job["id"]).status == "done"
    rows = pd.read_csv(io.StringIO(client.get(f"/v1/jobs/{job['id']}/result").text))
    assert rows.sku.tolist() == ["MUG-1"] and rows.recommended_price.notna().all()

    missing = client.post("/v1/jobs", files={"products": ("p.csv", b"sku,name\nA,mug\n")})
    assert missing.status_code == 422 and "unit_cost" in missing.json()["message"]
    wrong_type = client.post("/v1/jobs", files={"products": ("p.pdf", b"%PDF")})
    assert wrong_type.status_code == 422 and "unsupported file type" in wrong_type.json()["message"]
    assert "products.csv" not in missing.json()["message"] and "p.csv" in missing.json()["message"]
    assert [p.name for p in (tmp_path / "jobs").iterdir()] == [job["id"]]  # refused jobs leave nothing
    assert client.get("/v1/jobs/0123456789abcdef").status_code == 404
    assert client.get("/v1/jobs/../../etc").status_code == 404


def test_the_result_waits_for_the_job_and_the_lock_is_shared_per_chunk(tmp_path):
    service = PricingService(EvidencePolicy())
    queue = JobQueue(tmp_path, service, chunk_size=16)
    with service.lock:  # a long chat request: the job cannot score a chunk meanwhile
        job = queue.submit(demo_tables())
        with pytest.raises(JobNotDone):
            queue.result(job.id)
        assert queue.get(job.id).rows_done == 0
    assert queue.wait(job.id).status == "done"
    assert queue.result(job.id).exists()
    queue.stop()


def test_a_job_cut_by_a_server_stop_resumes_in_the_next_one_to_the_same_bytes(tmp_path):
    reference = JobQueue(tmp_path / "reference", PricingService(Pausing()), chunk_size=16)
    whole = reference.wait(reference.submit(demo_tables()).id)
    assert whole.status == "done" and whole.resumed == 0
    expected = reference.result(whole.id).read_bytes()
    reference.stop()

    first = Pausing(pause_at=21)  # inside the second chunk of 16
    server = JobQueue(tmp_path / "jobs", PricingService(first), chunk_size=16)
    job = server.submit(demo_tables())
    assert first._reached.wait(30)
    stopping = threading.Thread(target=server.stop)
    stopping.start()  # the server stops while the job is mid-way ...
    first._go.set()  # ... and the decision in flight finishes
    stopping.join(30)
    cut = server.get(job.id)
    assert cut.status == "running" and 16 <= cut.rows_done < 50

    restarted = JobQueue(tmp_path / "jobs", PricingService(Pausing()), chunk_size=16)
    restarted.start()
    done = restarted.wait(job.id)
    assert done.status == "done" and done.resumed == 1 and done.rows_done == 50
    assert restarted.result(job.id).read_bytes() == expected
    restarted.stop()


def test_jobs_take_catalogs_past_the_request_limit_under_their_own(tmp_path):
    app = create_app(policy=EvidencePolicy(), jobs_dir=tmp_path / "jobs", max_body_bytes=2_000, max_job_bytes=20_000)
    client = TestClient(app)

    def catalog(rows: int) -> bytes:
        return ("sku,unit_cost,current_price\n" + "".join(f"SKU-{i:05d},4.00,12.00\n" for i in range(rows))).encode()

    mid = catalog(200)  # ~4 KB: over the request limit, under the job limit
    assert client.post("/v1/score/files", files={"products": ("p.csv", mid)}).status_code == 413
    job = client.post("/v1/jobs", files={"products": ("p.csv", mid)})
    assert job.status_code == 202
    assert app.state.jobs.wait(job.json()["id"]).rows_total == 200
    big = catalog(2_000)  # ~44 KB
    assert client.post("/v1/jobs", files={"products": ("p.csv", big)}).status_code == 413

    def chunks():  # no Content-Length: the gate counts the stream as the app reads it
        boundary = b"--xyz\r\n"
        yield boundary + b'Content-Disposition: form-data; name="products"; filename="p.csv"\r\n\r\n'
        for start in range(0, len(big), 4_000):
            yield big[start:start + 4_000]
        yield b"\r\n--xyz--\r\n"

    streamed = client.post("/v1/jobs", content=chunks(), headers={"Content-Type": "multipart/form-data; boundary=xyz"})
    assert streamed.status_code == 413 and "20000 bytes" in streamed.json()["message"]
    assert len(list((tmp_path / "jobs").iterdir())) == 1  # only the accepted job
