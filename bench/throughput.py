"""Regenerates bench/results/throughput.md: how fast the served product answers on this machine.

    .venv/bin/python bench/throughput.py

Measures, in one run: LLM batch scoring of the demo catalog (the shipped adapter) at several batch
sizes; classical and evidence scoring of large synthetic catalogs (the demo catalog's 50 SKUs
repeated under new SKUs); the merchant chat's turn latency; and `/v1/recommend` latency through
the HTTP stack. Wall-clock seconds on a shared 2-core machine: compare numbers of one run only.
"""

from __future__ import annotations

import datetime
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from agent.catalog import read_table, score_files, score_frames  # noqa: E402
from agent.demo_catalog import demo_catalog_paths  # noqa: E402
from agent.registry import product_policy  # noqa: E402
from bench.baselines import machine_info  # noqa: E402
from bench.prompt_budget import demo_contexts, token_counts  # noqa: E402

RESULTS = ROOT / "bench" / "results"
MUG = ("I sell a ceramic mug, it costs me $4, I sold 120 at $12 last week and 90 at $14 this week, "
       "my competitor is at $13.50 — what should I charge?")


def repeated_catalog(times: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The demo catalog repeated `times` times under new SKUs (realistic histories, any size)."""
    products_path, history_path = demo_catalog_paths()
    products, history = read_table(products_path), read_table(history_path)
    ps, hs = [], []
    for k in range(times):
        ps.append(products.assign(sku=products["sku"] + f"-{k}"))
        hs.append(history.assign(sku=history["sku"] + f"-{k}"))
    return pd.concat(ps, ignore_index=True), pd.concat(hs, ignore_index=True)


def ray_rows(tmp: Path) -> list[tuple[str, str, int, float]]:
    """The LLM through the local engine and through the Ray engine (a local Ray instance, 2 workers, each
    loading the model: their start-up is in the time, as a user running `--engine ray` would wait for it)."""
    try:
        from agent.catalog.ray_engine import RayEngine
    except ImportError:
        return []
    products_path, history_path = demo_catalog_paths()
    what = "demo catalog files, batch 16, chunk 16"
    local, _ = timed(lambda: score_files(products_path, history_path, tmp / "local.csv", product_policy("llm"),
                                         batch_size=16, chunk_size=16, progress=False))

    def on_ray() -> None:
        engine = RayEngine("llm", batch_size=16, workers=2)
        try:
            score_files(products_path, history_path, tmp / "ray.csv", product_policy("llm"), batch_size=16,
                        chunk_size=16, progress=False, engine=engine)
        finally:
            engine.close()

    remote, _ = timed(on_ray)
    same = (tmp / "ray.csv").read_bytes() == (tmp / "local.csv").read_bytes()
    return [("LLM, local engine (model load included)", what, 50, local),
            (f"LLM, Ray engine, 2 workers on this machine (start-up included; {'same' if same else 'DIFFERENT'} "
             "file)", what, 50, remote)]


def timed(fn) -> tuple[float, object]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def main() -> None:
    rows = []
    products, history = repeated_catalog(1)
    llm = product_policy("llm")
    _ = llm.lm  # load the model outside the timings
    for batch in (1, 16, 50):
        seconds, table = timed(lambda b=batch: score_frames(products, history, llm, batch_size=b))
        rows.append(("LLM + shipped adapter", f"demo catalog, batch {batch}", len(table), seconds))
    big_products, big_history = repeated_catalog(100)
    for name in ("evidence", "ts", "cost_plus"):
        seconds, table = timed(lambda n=name: score_frames(big_products, big_history, product_policy(n),
                                                           batch_size=256))
        rows.append((name, f"{len(big_products):,} SKUs with {len(big_history):,} history rows", len(table), seconds))
    with tempfile.TemporaryDirectory() as tmp:
        n = 100_000
        flat = pd.DataFrame({"sku": [f"S{i:06d}" for i in range(n)], "unit_cost": 4.0, "current_price": 12.0})
        flat.to_csv(Path(tmp) / "p.csv", index=False)
        seconds, _ = timed(lambda: score_files(Path(tmp) / "p.csv", None, Path(tmp) / "o.parquet",
                                               product_policy("cost_plus"), batch_size=512, chunk_size=25_000,
                                               progress=False))
        rows.append(("cost_plus", "100,000 SKUs, no history, file to file (CSV in, Parquet out)", n, seconds))
        rows += ray_rows(Path(tmp))

    from agent.service import PricingService
    from ui.assistant import Assistant, ChatState
    from ui.message_reader import MessageReader

    reader = MessageReader("llm")  # what `pricing serve` reads messages with by default
    reader.load()  # outside the timings, like the pricing model
    assistant = Assistant(PricingService(llm), reader)
    turns, state = [], ChatState()
    for message in (MUG, "what if I charge $15?", "why not lower?", "set my floor margin to 30%"):
        seconds, turn = timed(lambda m=message, s=state: assistant.respond(m, s))
        turns.append((message, 1000 * seconds))
        state = turn.state

    from fastapi.testclient import TestClient

    from agent.api import create_app

    client = TestClient(create_app(policy=llm))
    body = {"product": {"sku": "MUG-1", "name": "Ceramic mug", "unit_cost": 4, "current_price": 12},
            "history": [{"period": i, "price": p, "units": u} for i, (p, u) in
                        enumerate([(11, 118), (12.5, 92), (12, 101), (10.5, 131), (13, 88), (11.5, 110)])]}
    client.post("/v1/recommend", json=body)
    http = [1000 * timed(lambda: client.post("/v1/recommend", json=body))[0] for _ in range(10)]

    table = "\n".join(f"| {who} | {what} | {n:,} | {s:.1f} | {n / s:,.1f} |" for who, what, n, s in rows)
    chat = "\n".join(f"| {m[:60]}{'…' if len(m) > 60 else ''} | {ms:,.0f} |" for m, ms in turns)
    dtype = str(llm.lm.dtype).removeprefix("torch.")
    tokens = int(np.median(token_counts(llm.lm.tokenizer, demo_contexts())[llm.lm.prompt_layout]))
    text = f"""# Throughput and latency

Regenerate with `.venv/bin/python bench/throughput.py` (or `make bench`).
Run on {datetime.date.today().isoformat()}: {machine_info()}, torch {torch.__version__},
{torch.get_num_threads()} torch threads; LLM `{llm.model_id}` + `{llm.adapter_id}`, {dtype}, greedy,
at most {llm.max_new_tokens} new tokens.

## Batch scoring

| policy | catalog | SKUs | seconds | SKUs/s |
|---|---|---:|---:|---:|
{table}

Batching 16 SKUs per generate is {rows[0][3] / rows[1][3]:.1f}x faster than one at a time, a batch of 50
{rows[0][3] / rows[2][3]:.1f}x: the prompt's prefill (median {tokens} tokens per SKU in the shipped
`{llm.lm.prompt_layout}` layout, `prompt_budget.md`) is compute-bound on 2 cores. Fitting the evidence costs
the classical rows about {1000 * (rows[3][3] - rows[5][3]) / rows[3][2]:.0f} ms per SKU with a 30-period
history (evidence minus cost_plus).

## Merchant chat (one turn, end to end: reading the message ({reader.active}), evidence, LLM, guardrails, chart)

| message | ms |
|---|---:|
{chat}

The what-if and why-not turns reuse the fitted demand and do not call the pricing model (the message
reader still reads them).

## HTTP

`POST /v1/recommend` through the FastAPI stack (in-process client), LLM policy, 10 requests: median
{statistics.median(http):,.0f} ms, max {max(http):,.0f} ms.
"""
    (RESULTS / "throughput.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
