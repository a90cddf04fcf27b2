"""Regenerates bench/results/dtype.md: the shipped adapter under bf16 against fp32, on this CPU.

    .venv/bin/python bench/dtype.py --tasks 32 --horizon 50 --seed 0

Why: `resolve_dtype("auto")` follows the CPU (bf16 only where it has AMX), so the
same adapter takes another numeric path on another machine. This measures what that changes:

1. Decisions. The shipped SFT adapter plays the same validation tasks on the same demand noise once
   in fp32 and once in bf16 (greedy decoding). Once one greedy price differs, the two runs see
   different histories, so the table counts the first divergence per task; the decisions made on
   identical histories up to it give a per-decision disagreement rate. % of oracle profit of each,
   and their paired difference, say whether bf16 costs quality. Cached per chunk of tasks under
   `runs/bench-dtype/` (a run cut short resumes; the numbers equal an uninterrupted run's).
2. Speed, in one run, each dtype measured alternately: matmul GFLOP/s (square and model-shaped),
   LLM batch scoring of the demo catalog (`agent.catalog.score_frames`, batch 16), and a LoRA
   training step (forward + backward) on the real model.
"""

from __future__ import annotations

import argparse
import datetime
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from agent.hardware import resolve_dtype  # noqa: E402
from agent.model import load_base  # noqa: E402
from agent.registry import llm_factory  # noqa: E402
from bench.baselines import machine_info, paired_differences  # noqa: E402
from bench.chunk_cache import cached_rows  # noqa: E402
from env.distribution import sample_task  # noqa: E402
from env.evaluation import bootstrap_ci  # noqa: E402

RESULTS = ROOT / "bench" / "results"
ADAPTER = ROOT / "agent" / "adapters" / "pricing-sft"
DTYPES = ("fp32", "bf16")
# SmolLM2-135M: hidden 576, MLP 1536; a prompt is ~560 tokens, a decode step is one token per row.
MATMULS = {"square 2048": (2048, 2048, 2048), "prefill 560×576·576×1536": (560, 576, 1536),
           "decode, batch 16: 16×576·576×1536": (16, 576, 1536)}


# --- 1. decisions ---------------------------------------------------------------------------------


def decision_rows(dtype: str, tasks: list, args) -> pd.DataFrame:
    """Per-task rows of the shipped adapter run in `dtype`, chunk by chunk, each chunk cached."""
    name = f"sft-{dtype}"
    cache = args.cache / f"{name}-T{args.horizon}-s{args.seed}"
    return cached_rows(name, tasks, args.horizon, args.seed, args.chunk, cache,
                       factories={name: llm_factory(adapter=str(ADAPTER), dtype=dtype)})


def divergence(fp32: pd.DataFrame, bf16: pd.DataFrame) -> dict:
    """How far the two dtypes' price paths agree, task by task (same task, same noise)."""
    a = fp32.set_index("task_id")["prices"]
    b = bf16.set_index("task_id")["prices"]
    first, same_history, differing = [], 0, 0
    for task_id in a.index:
        pa, pb = np.asarray(a[task_id], float), np.asarray(b[task_id], float)
        differ = ~np.isclose(pa, pb, rtol=0, atol=1e-9)
        differing += int(differ.sum())
        t = int(np.argmax(differ)) if differ.any() else None
        first.append(t)
        # decisions made on identical histories: every period up to and including the first divergence
        same_history += len(pa) if t is None else t + 1
    diverged = [t for t in first if t is not None]
    periods = sum(len(a[i]) for i in a.index)
    return {"tasks": len(first), "diverged": len(diverged), "periods": periods, "differing": differing,
            "same_history": same_history, "first": diverged}


# --- 2. speed -------------------------------------------------------------------------------------


def matmul_gflops(shape: tuple[int, int, int], dtype: torch.dtype, seconds: float = 1.5) -> float:
    m, k, n = shape
    x, w = torch.randn(m, k, dtype=dtype), torch.randn(k, n, dtype=dtype)
    for _ in range(3):
        x @ w
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        x @ w
        count += 1
    return 2 * m * k * n * count / (time.perf_counter() - start) / 1e9


def scoring_seconds(dtype: str) -> tuple[int, float]:
    """Wall seconds to score the demo catalog with the shipped adapter in `dtype`, batch 16."""
    from agent.catalog import read_table, score_frames
    from agent.demo_catalog import demo_catalog_paths
    from agent.policy import LLMPolicy

    products_path, history_path = demo_catalog_paths()
    products, history = read_table(products_path), read_table(history_path)
    policy = LLMPolicy(adapter=str(ADAPTER), dtype=dtype)
    _ = policy.lm  # load outside the timing
    start = time.perf_counter()
    table = score_frames(products, history, policy, batch_size=16)
    return len(table), time.perf_counter() - start


def training_step_seconds(dtype: str, batch: int = 4, tokens: int = 560, steps: int = 3) -> float:
    """Median seconds of one LoRA forward + backward on the real model, as SFT trains it."""
    from peft import get_peft_model

    from finetune.config import LoraSettings
    from finetune.training import lora_config

    lm = load_base(None, dtype)
    model = get_peft_model(lm.model, lora_config(LoraSettings()))
    model.train()
    ids = torch.randint(0, lm.tokenizer.vocab_size, (batch, tokens), generator=torch.Generator().manual_seed(0))
    times = []
    for i in range(steps + 1):
        start = time.perf_counter()
        loss = model(input_ids=ids, labels=ids).loss
        loss.backward()
        model.zero_grad(set_to_none=True)
        if i:  # the first step warms up
            times.append(time.perf_counter() - start)
    return statistics.median(times)


# --- report ---------------------------------------------------------------------------------------


def _pct_line(name: str, rows: pd.DataFrame) -> str:
    pct = rows["pct_oracle"].to_numpy(float)
    lo, hi = bootstrap_ci(pct)
    return f"| {name} | {pct.mean():.1f} | {lo:.1f} … {hi:.1f} | {np.median(pct):.1f} |"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tasks", type=int, default=32)
    ap.add_argument("--horizon", type=int, default=50)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--chunk", type=int, default=16, help="tasks per cached chunk, one lock-step batch")
    ap.add_argument("--cache", type=Path, default=ROOT / "runs" / "bench-dtype")
    ap.add_argument("--decisions-only", action="store_true", help="fill the decision cache, skip speed and report")
    ap.add_argument("--out", type=Path, default=RESULTS / "dtype.md")
    args = ap.parse_args()

    tasks = [sample_task("validation", i, args.horizon) for i in range(args.tasks)]
    rows = {dt: decision_rows(dt, tasks, args) for dt in DTYPES}
    if args.decisions_only:
        return
    d = divergence(rows["fp32"], rows["bf16"])
    per_task = pd.concat([rows[dt] for dt in DTYPES], ignore_index=True)

    gflops = {label: {dt: [] for dt in DTYPES} for label in MATMULS}
    for _ in range(2):  # alternate the dtypes, so load on the machine hits both alike
        for label, shape in MATMULS.items():
            for dt in DTYPES:
                gflops[label][dt].append(matmul_gflops(shape, resolve_dtype(dt)))
    scoring = {dt: scoring_seconds(dt) for dt in DTYPES}
    training = {dt: training_step_seconds(dt) for dt in DTYPES}

    mm = "\n".join(f"| {label} | {max(v['fp32']):.0f} | {max(v['bf16']):.0f} | "
                   f"{max(v['bf16']) / max(v['fp32']):.2f} |" for label, v in gflops.items())
    first = d["first"]
    first_text = (f"first divergence at period {min(first) + 1} at the earliest, median {np.median(first) + 1:.0f}"
                  if first else "no task diverged")
    n_sku = scoring["fp32"][0]
    speed = "\n".join([
        f"| LLM batch scoring, demo catalog ({n_sku} SKUs), batch 16: seconds | {scoring['fp32'][1]:.1f} | "
        f"{scoring['bf16'][1]:.1f} | {scoring['fp32'][1] / scoring['bf16'][1]:.2f}x |",
        f"| LoRA training step, forward + backward, 4 × 560 tokens: seconds | {training['fp32']:.2f} | "
        f"{training['bf16']:.2f} | {training['fp32'] / training['bf16']:.2f}x |"])
    command = (f".venv/bin/python bench/dtype.py --tasks {args.tasks} --horizon {args.horizon} "
               f"--seed {args.seed} --chunk {args.chunk}")
    text = f"""# bf16 against fp32: the shipped adapter's decisions and speed on this CPU

Regenerate with `{command}` (decisions cached under `runs/bench-dtype/`).
Run on {datetime.date.today().isoformat()}: {machine_info()}, torch {torch.__version__},
{torch.get_num_threads()} torch threads. `dtype auto` on this CPU: {str(resolve_dtype('auto')).removeprefix('torch.')}.

## Decisions

The shipped adapter (`{ADAPTER.relative_to(ROOT)}`) on the first {args.tasks} validation tasks, T = {args.horizon},
evaluation seed {args.seed}, greedy decoding, batches of {args.chunk} tasks; the same tasks and demand noise
under both dtypes.

- Tasks whose price path differs anywhere: **{d['diverged']} of {d['tasks']}** ({first_text}).
- Decisions made on identical histories (every period up to a task's first divergence):
  {d['same_history']}; of those, {d['diverged']} got a different greedy price:
  **{d['diverged'] / d['same_history']:.1%} per decision**.
- Periods whose price differs at all (later ones follow from an earlier difference): {d['differing']} of {d['periods']}.

| dtype | % of oracle profit | 95% CI | median |
|---|---:|---:|---:|
{_pct_line("fp32", rows["fp32"])}
{_pct_line("bf16", rows["bf16"])}

{paired_differences(per_task, [("sft-bf16", "sft-fp32")])}
## Speed

Matrix products (GFLOP/s, best of two alternating runs):

| shape | fp32 | bf16 | bf16 / fp32 |
|---|---:|---:|---:|
{mm}

| path | fp32 | bf16 | bf16 speed-up (fp32 s / bf16 s) |
|---|---:|---:|---:|
{speed}

## What `auto` means, and why

`auto` is bf16 only on a CPU with AMX (`amx_bf16`), for inference and for training alike; fp32 everywhere
else. The numbers behind it: bf16 moves greedy prices (the per-decision rate above) and costs a little
profit (the paired difference above), so it must buy real speed. On a CPU with no bf16 instructions torch
emulates it, 2-3x slower than fp32 (earlier measurement, FACTS.md). On the CPU of this table, whose kind is
named in the "Run on" line, see the speed rows above. With AMX, bf16 matrix products measured 3.2-5.8x
faster than fp32 (fp32 118-219, bf16 426-769 GFLOP/s; issue 12): the one kind where the trade pays.
`PRICING_DTYPE=fp32` or `bf16` overrides `auto` for a whole run.

The decisions in the cache were computed before generation became batch-invariant (issue 13: prompts are
now padded by their own length and generated a few rows at a time); a run without the cache computes the
same comparison on the new path, with its own per-decision differences.
"""
    args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
