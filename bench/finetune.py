"""Regenerates bench/results/finetune.md: zero-shot, SFT, SFT+PPO and SFT+GRPO against the
classical pricers on the test split.

    .venv/bin/python bench/finetune.py --tasks 200 --horizon 50 --seed 0

Every policy plays the same tasks on the same demand noise (common random numbers). The LLM
variants are slow on a CPU (~1 s a decision), so their rows are computed in chunks of tasks and
cached under `runs/bench-finetune/` (one JSON file per variant, adapter file and chunk): a run cut
short resumes where it stopped, and the numbers equal those of one uninterrupted run (greedy
decoding, fixed seeds). `--variants` picks which LLM variants to include.
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
from bench.baselines import breakdown, machine_info, paired_differences  # noqa: E402
from env.distribution import sample_task  # noqa: E402
from env.evaluation import EvaluationResult, evaluate, plot_regret  # noqa: E402

RESULTS = ROOT / "bench" / "results"
ADAPTERS = ROOT / "agent" / "adapters"
VARIANTS = {  # name -> adapter folder (None: the base model, zero-shot)
    "zero-shot": None,
    "sft": ADAPTERS / "pricing-sft",
    "sft+ppo": ADAPTERS / "pricing-sft-ppo",
    "sft+grpo": ADAPTERS / "pricing-sft-grpo",
}
CLASSICAL = ["oracle", "ts", "cils", "meta_ts", "ils", "evidence", "cost_plus"]


def _adapter_tag(adapter: Path | None) -> str:
    if adapter is None:
        return "base"
    return hashlib.sha256((adapter / "adapter_model.safetensors").read_bytes()).hexdigest()[:10]


def llm_rows(name: str, adapter: Path | None, tasks: list, args) -> pd.DataFrame:
    """Per-task rows of one LLM variant, chunk by chunk, each chunk cached on disk."""
    register_llm(adapter="none" if adapter is None else str(adapter), name=name)
    cache = args.cache / f"{name}-{_adapter_tag(adapter)}-T{args.horizon}-s{args.seed}"
    cache.mkdir(parents=True, exist_ok=True)
    frames = []
    for start in range(0, len(tasks), args.chunk):
        chunk = tasks[start:start + args.chunk]
        path = cache / f"{chunk[0].task_id}-{chunk[-1].task_id}.json"
        if path.is_file():
            frames.append(pd.read_json(path, orient="records"))
            continue
        result = evaluate([name], tasks=chunk, horizon=args.horizon, seed=args.seed, workers=1,
                          batch_size=len(chunk))
        rows = result.per_task[result.per_task.policy == name]
        tmp = path.with_suffix(".tmp")
        tmp.write_text(rows.to_json(orient="records"))
        tmp.replace(path)
        frames.append(rows)
        print(f"{name}: tasks {start + len(chunk)}/{len(tasks)} done", flush=True)
    return pd.concat(frames, ignore_index=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tasks", type=int, default=200)
    ap.add_argument("--horizon", type=int, default=50)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--chunk", type=int, default=25, help="tasks per cached LLM chunk (one lock-step batch)")
    ap.add_argument("--variants", default=",".join(VARIANTS), help="comma-separated LLM variants to include")
    ap.add_argument("--cache", type=Path, default=ROOT / "runs" / "bench-finetune")
    ap.add_argument("--out", type=Path, default=RESULTS / "finetune.md")
    args = ap.parse_args()
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown:
        ap.error(f"unknown variants {unknown}; choose from {', '.join(VARIANTS)}")

    tasks = [sample_task("test", i, args.horizon) for i in range(args.tasks)]
    classical = evaluate(CLASSICAL, tasks=tasks, horizon=args.horizon, seed=args.seed, workers=2)
    frames = [classical.per_task]
    for name in variants:
        frames.append(llm_rows(name, VARIANTS[name], tasks, args))
    per_task = pd.concat(frames, ignore_index=True)
    settings = {**classical.settings, "policies": [*CLASSICAL, *variants]}
    result = EvaluationResult(settings, per_task)

    plot = args.out.with_name(args.out.stem + "_regret.png")
    plot_regret(result, plot)
    args.out.with_suffix(".json").write_text(result.to_json())
    claims = [(v, b) for v in variants for b in ("ts", "meta_ts", "evidence")]
    claims += [(v, "zero-shot") for v in variants if v != "zero-shot" and "zero-shot" in variants]
    claims += [(v, "sft") for v in ("sft+ppo", "sft+grpo") if v in variants and "sft" in variants]
    adapters = "\n".join(f"- `{v}`: {VARIANTS[v].relative_to(ROOT) if VARIANTS[v] else 'no adapter'}"
                         f" ({_adapter_tag(VARIANTS[v])})" for v in variants)
    command = (f".venv/bin/python bench/finetune.py --tasks {args.tasks} --horizon {args.horizon} "
               f"--seed {args.seed} --variants {','.join(variants)}")
    text = f"""# Fine-tuned meta-policies vs the classical pricers

Regenerate with `{command}`.
Run on {datetime.date.today().isoformat()}: {machine_info()}, torch {torch.__version__}; the LLM variants use
the embedded SmolLM2-135M-Instruct, greedy decoding, and these adapters:

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
