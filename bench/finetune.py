"""Regenerates bench/results/finetune.md: zero-shot, SFT, SFT+PPO and SFT+GRPO against the
classical pricers on the test split.

    .venv/bin/python bench/finetune.py --tasks 200 --horizon 50 --seed 0

Every policy plays the same tasks on the same demand noise (common random numbers). The LLM
variants are slow on a CPU (~1 s a decision, ~10 h for the four), so their rows are computed in
chunks of tasks and cached under `runs/bench-finetune/` (one JSON file per variant, adapter file and
chunk): a run cut short resumes where it stopped, and the numbers equal those of one uninterrupted
run (greedy decoding, fixed seeds). On a GPU (`--device cuda`, ~4 min a variant on one H100) the
whole test set is one batch. CPU and GPU agree up to summation order in fp32, which can flip a
greedy token and send one task down another path (of 25 tasks computed both ways: median absolute
difference 0.002 points, one task 28 points apart), so their caches are kept apart.
`--variants` picks which LLM variants to include. `compact-sft` reads the compact prompt with the
toolbox's candidates (issue 14), so the table carries the toolbox's fixed rule (`toolbox`) beside it:
what the LLM adds is measured against the deterministic rule over the same candidates (the GBM picker
and the hindsight bound are in `toolbox.md`).
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import sys
from pathlib import Path

import pandas as pd
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import agent  # noqa: E402,F401  (registers the evidence policy)
from agent import register_llm  # noqa: E402
from agent.model import resolve_dtype  # noqa: E402
from bench.baselines import breakdown, machine_info, paired_differences  # noqa: E402
from bench.chunk_cache import cached_rows  # noqa: E402
from env.distribution import sample_task  # noqa: E402
from env.evaluation import EvaluationResult, evaluate, plot_regret  # noqa: E402

RESULTS = ROOT / "bench" / "results"
ADAPTERS = ROOT / "agent" / "adapters"
VARIANTS = {  # name -> adapter folder (None: the base model, zero-shot)
    "zero-shot": None,
    "sft": ADAPTERS / "pricing-sft",
    "sft+ppo": ADAPTERS / "pricing-sft-ppo",
    "sft+grpo": ADAPTERS / "pricing-sft-grpo",
    "compact-sft": ADAPTERS / "pricing-compact-sft",  # reads the toolbox (agent.prompt.render_compact)
}
COMPACT = {"compact-sft"}  # variants on the compact prompt, measured against the toolbox they read
CLASSICAL = ["oracle", "ts", "cils", "meta_ts", "ils", "evidence", "toolbox", "cost_plus"]


def _adapter_tag(adapter: Path | None) -> str:
    if adapter is None:
        return "base"
    return hashlib.sha256((adapter / "adapter_model.safetensors").read_bytes()).hexdigest()[:10]


def _place_model(adapter: str, device: str, dtype: str) -> str:
    """Load the variant's model once and move it to `device`; returns the device's name for the report.

    The policy loads through the same in-process cache, so it finds the model already there. Matrix
    products stay in full fp32 (no TF32) so a GPU computes what the CPU would, up to summation order.
    """
    if device == "cpu":
        return "this CPU"
    from agent.model import load_model

    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    lm = load_model(None, adapter=adapter, dtype=dtype)
    lm.model.to(device)
    return torch.cuda.get_device_name(torch.device(device)) if device.startswith("cuda") else device


def llm_rows(name: str, adapter: Path | None, tasks: list, args) -> tuple[pd.DataFrame, str]:
    """Per-task rows of one LLM variant, chunk by chunk, each chunk cached on disk.

    A cache made on another device lives in its own folder (`...-cuda`), with the device's name in
    `device.txt`, so the report can say where its LLM rows were computed; bf16 rows live apart from
    fp32 ones (`...-bf16`), because greedy decisions differ between the two (bench/results/dtype.md).
    Returns (rows, that name).
    """
    adapter_arg = "none" if adapter is None else str(adapter)
    register_llm(adapter=adapter_arg, name=name, dtype=args.dtype)
    suffix = "" if args.device == "cpu" else f"-{args.device.split(':')[0]}"
    suffix += "" if args.dtype == "fp32" else f"-{args.dtype}"
    cache = args.cache / f"{name}-{_adapter_tag(adapter)}-T{args.horizon}-s{args.seed}{suffix}"
    rows = cached_rows(name, tasks, args.horizon, args.seed, args.chunk, cache, before_computing=lambda: (
        cache / "device.txt").write_text(_place_model(adapter_arg, args.device, args.dtype)))
    where = cache / "device.txt"
    return rows, where.read_text() if where.is_file() else "this CPU"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tasks", type=int, default=200)
    ap.add_argument("--horizon", type=int, default=50)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--chunk", type=int, default=None,
                    help="tasks per cached LLM chunk, one lock-step batch (default: 25 on a CPU, 200 on a GPU)")
    ap.add_argument("--variants", default=",".join(VARIANTS), help="comma-separated LLM variants to include")
    ap.add_argument("--device", default="auto",
                    help="where the LLM variants run: auto (cuda if present), cpu or cuda; rows from a GPU are "
                         "cached apart from CPU ones")
    ap.add_argument("--dtype", default="auto", choices=["auto", "fp32", "bf16"],
                    help="the LLM variants' dtype (auto: what agent.model.resolve_dtype picks on this CPU)")
    ap.add_argument("--cache", type=Path, default=ROOT / "runs" / "bench-finetune")
    ap.add_argument("--out", type=Path, default=RESULTS / "finetune.md")
    args = ap.parse_args()
    args.out = args.out.resolve()  # a relative --out is relative to where the command runs
    if args.device == "auto":
        args.device = "cuda" if torch.cuda.is_available() else "cpu"
    args.dtype = "bf16" if resolve_dtype(args.dtype) == torch.bfloat16 else "fp32"
    if args.chunk is None:
        args.chunk = 25 if args.device == "cpu" else 200
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown:
        ap.error(f"unknown variants {unknown}; choose from {', '.join(VARIANTS)}")

    tasks = [sample_task("test", i, args.horizon) for i in range(args.tasks)]
    classical = evaluate(CLASSICAL, tasks=tasks, horizon=args.horizon, seed=args.seed, workers=2)
    frames, devices = [classical.per_task], {}
    for name in variants:
        rows, devices[name] = llm_rows(name, VARIANTS[name], tasks, args)
        frames.append(rows)
    per_task = pd.concat(frames, ignore_index=True)
    settings = {**classical.settings, "policies": [*CLASSICAL, *variants]}
    result = EvaluationResult(settings, per_task)

    plot = args.out.with_name(args.out.stem + "_regret.png")
    plot_regret(result, plot)
    args.out.with_suffix(".json").write_text(result.to_json())
    claims = [(v, b) for v in variants for b in ("ts", "meta_ts", "evidence")]
    claims += [(v, "zero-shot") for v in variants if v != "zero-shot" and "zero-shot" in variants]
    claims += [(v, "sft") for v in ("sft+ppo", "sft+grpo") if v in variants and "sft" in variants]
    claims += [(v, "toolbox") for v in variants if v in COMPACT]
    adapters = "\n".join(f"- `{v}`: {VARIANTS[v].relative_to(ROOT) if VARIANTS[v] else 'no adapter'}"
                         f" ({_adapter_tag(VARIANTS[v])}), decisions computed on {devices[v]}" for v in variants)
    command = (f".venv/bin/python bench/finetune.py --tasks {args.tasks} --horizon {args.horizon} "
               f"--seed {args.seed} --variants {','.join(variants)} --chunk {args.chunk}"
               + (f" --device {args.device}" if args.device != "cpu" else "") + f" --dtype {args.dtype}"
               + (f" --out {args.out.relative_to(ROOT)}" if args.out != RESULTS / "finetune.md" else ""))
    text = f"""# Fine-tuned meta-policies vs the classical pricers

Regenerate with `{command}`.
Run on {datetime.date.today().isoformat()}: {machine_info()}, torch {torch.__version__} (classical rows); the LLM
variants use the embedded SmolLM2-135M-Instruct in {args.dtype}, greedy decoding, and these adapters:

{adapters}

The first {args.tasks} tasks of the test split, T = {args.horizon}, evaluation seed {args.seed}: every policy
sees the same tasks and demand noise. Definitions as in `baselines.md`.

{result.to_markdown()}
Paired differences (same tasks, same noise):

{paired_differences(per_task, claims)}
By task segment (% of oracle profit; a task can be in several segments):

{breakdown(per_task, {t.task_id: t for t in tasks})}
![regret]({plot.name})
"""
    args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
