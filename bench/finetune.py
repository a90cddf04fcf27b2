"""Regenerates bench/results/finetune.md: the shipped default adapter against the pricers and pickers.

    .venv/bin/python bench/finetune.py --tasks 200 --horizon 50 --seed 0 --variants compact-sft

The default adapter (`compact-sft`, agent/adapters/pricing-compact-sft) reads the compact prompt and
chooses one of the toolbox's candidates (issue 14), so the same run carries the simplest things that
could do its job: the toolbox's fixed rule over the same candidates (`toolbox`), a gradient-boosted
picker trained on the adapter's own demonstrations (`gbm_picker`), and the hindsight picker that
knows the task (`toolbox_hindsight`, a bound). Each candidate alone is in `toolbox.md`, the same
tasks and deterministic pricers. The long-prompt adapters (zero-shot, SFT, SFT+PPO, SFT+GRPO) were
measured on the same tasks in `finetune_long.md`: `--variants zero-shot,sft,sft+ppo,sft+grpo --out
bench/results/finetune_long.md` reproduces it (~10 h on a CPU, ~15 min on one H100).

Every policy plays the same tasks on the same demand noise (common random numbers). The LLM
variants are slow on a CPU (0.26 s a decision for the compact adapter in bf16 on an AMX CPU, ~1 s
for the long prompt), so their rows are computed first, in chunks of tasks cached under
`runs/bench-finetune/` (one JSON file per variant, adapter file and chunk): a run cut short resumes
where it stopped, and the numbers equal those of one uninterrupted run (greedy decoding, fixed
seeds). On a GPU (`--device cuda`) the whole test set is one batch. CPU and GPU agree up to
summation order in fp32, which can flip a greedy token and send one task down another path (of 25
tasks computed both ways: median absolute difference 0.002 points, one task 28 points apart), so
their caches are kept apart.
`--split validation --adapter NAME=PATH` compares trained checkpoints on validation tasks (checkpoint
selection) without touching the test split; an adapter's prompt layout comes from its folder.
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

from agent.hardware import resolve_dtype  # noqa: E402
from agent.registry import in_process_policies, llm_factory  # noqa: E402
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


def _is_compact(adapter: Path | None) -> bool:
    """Whether the adapter was trained on the compact prompt (its layout file says so)."""
    from agent.prompt import LAYOUT_FILE

    layout = None if adapter is None else adapter / LAYOUT_FILE
    return layout is not None and layout.is_file() and '"compact"' in layout.read_text()


def _named_adapter(text: str) -> tuple[str, Path]:
    """`NAME=PATH` from the command line: an extra variant on the adapter folder PATH."""
    name, sep, path = text.partition("=")
    folder = Path(path).resolve()
    if not sep or not name or not (folder / "adapter_model.safetensors").is_file():
        raise argparse.ArgumentTypeError(f"expected NAME=PATH with an adapter folder at PATH, got '{text}'")
    return name, folder
CLASSICAL = ["oracle", "ts", "cils", "meta_ts", "ils", "evidence", "toolbox", "cost_plus"]
# The pickers over the compact adapter's candidates, in the same run when a compact variant is in it: the GBM
# picker trained on the compact adapter's own demonstrations (`PICKER_DEMOS`), and the hindsight bound.
PICKERS = ["gbm_picker", "toolbox_hindsight"]
PICKER_DEMOS = ROOT / "configs" / "finetune" / "cpu-compact" / "sft.yaml"


def _shown(adapter: Path | None) -> str:
    if adapter is None:
        return "no adapter"
    return str(adapter.relative_to(ROOT) if adapter.is_relative_to(ROOT) else adapter)


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


def _picker_words(pricers: list[str], variants: list[str]) -> str:
    compact = [v for v in variants if v in COMPACT]
    if not compact:
        return ""
    text = (f"\n{', '.join(f'`{v}`' for v in compact)} reads the toolbox's candidates and chooses one; beside it "
            "the simplest things that could do the same job: `toolbox`, the fixed rule over the same candidates "
            "(the stock plan where stock is known, else the best leave-one-out demand family)")
    if "gbm_picker" in pricers:
        text += (f", `gbm_picker`, gradient boosting trained on the same demonstrations with the same labels "
                 f"(`{PICKER_DEMOS.relative_to(ROOT).as_posix()}`) and the prompt's numbers as features, and "
                 "`toolbox_hindsight`, which knows the task and charges the candidate truly worth most every "
                 "period (a bound for any picker, not a pricer)")
    return text + (". Each candidate alone is in `toolbox.md` (the same tasks, seed and deterministic "
                   "pricers: its `toolbox` row must equal this one).\n")


def picker_policies(seed: int, gbm: bool = True) -> dict:
    """The pickers over the toolbox's candidates (`PICKERS`) by name, for the harness's `factories`;
    trains the GBM (about a minute) unless `gbm` is False (then only the hindsight bound)."""
    from finetune.config import SFTRunConfig, load_config
    from finetune.picker import HindsightPicker, PickerPolicy, train_picker

    table = {"toolbox_hindsight": HindsightPicker}
    if gbm:
        picker = train_picker(load_config(PICKER_DEMOS, SFTRunConfig).demos, seed=seed)
        table = {"gbm_picker": lambda task: PickerPolicy(picker), **table}
    return table


def llm_rows(name: str, adapter: Path | None, tasks: list, args) -> tuple[pd.DataFrame, str]:
    """Per-task rows of one LLM variant, chunk by chunk, each chunk cached on disk.

    A cache made on another device lives in its own folder (`...-cuda`), with the device's name in
    `device.txt`, so the report can say where its LLM rows were computed; bf16 rows live apart from
    fp32 ones (`...-bf16`), because greedy decisions differ between the two (bench/results/dtype.md).
    Returns (rows, that name).
    """
    adapter_arg = "none" if adapter is None else str(adapter)
    suffix = "" if args.device == "cpu" else f"-{args.device.split(':')[0]}"
    suffix += "" if args.dtype == "fp32" else f"-{args.dtype}"
    suffix += "" if args.split == "test" else f"-{args.split}"
    cache = args.cache / f"{name}-{_adapter_tag(adapter)}-T{args.horizon}-s{args.seed}{suffix}"
    rows = cached_rows(name, tasks, args.horizon, args.seed, args.chunk, cache, before_computing=lambda: (
        cache / "device.txt").write_text(_place_model(adapter_arg, args.device, args.dtype)),
        factories={name: llm_factory(adapter=adapter_arg, dtype=args.dtype)})
    where = cache / "device.txt"
    return rows, where.read_text() if where.is_file() else "this CPU"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tasks", type=int, default=200)
    ap.add_argument("--horizon", type=int, default=50)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--chunk", type=int, default=None,
                    help="tasks per cached LLM chunk, one lock-step batch (default: 25 on a CPU, 200 on a GPU)")
    ap.add_argument("--variants", default="compact-sft",
                    help=f"comma-separated LLM variants to include (of {', '.join(VARIANTS)})")
    ap.add_argument("--device", default="auto",
                    help="where the LLM variants run: auto (cuda if present), cpu or cuda; rows from a GPU are "
                         "cached apart from CPU ones")
    ap.add_argument("--dtype", default="auto", choices=["auto", "fp32", "bf16"],
                    help="the LLM variants' dtype (auto: what agent.hardware.resolve_dtype picks on this CPU)")
    ap.add_argument("--split", default="test", choices=["test", "validation"],
                    help="validation: compare checkpoints there (selection), never on the test tasks")
    ap.add_argument("--adapter", type=_named_adapter, action="append", default=[], metavar="NAME=PATH",
                    help="an extra LLM variant on this adapter folder (repeatable), e.g. a checkpoint")
    ap.add_argument("--no-pickers", action="store_true",
                    help="leave out the GBM picker and the hindsight bound (about 25 minutes of the run)")
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
    for name, folder in args.adapter:
        if name in VARIANTS or name in CLASSICAL:
            ap.error(f"--adapter {name}: the name is taken; pick another")
        VARIANTS[name] = folder
        variants.append(name)
    COMPACT.update(v for v in variants if _is_compact(VARIANTS[v]))

    tasks = [sample_task(args.split, i, args.horizon) for i in range(args.tasks)]
    frames, devices = [], {}
    for name in variants:  # first: the slow rows, cached per chunk, so a cut run keeps them
        rows, devices[name] = llm_rows(name, VARIANTS[name], tasks, args)
        frames.append(rows)
    pickers = picker_policies(args.seed) if COMPACT & set(variants) and not args.no_pickers else {}
    pricers = CLASSICAL + list(pickers)
    classical = evaluate(pricers, tasks=tasks, horizon=args.horizon, seed=args.seed, workers=2,
                         factories={**in_process_policies(), **pickers})
    per_task = pd.concat([classical.per_task, *frames], ignore_index=True)
    settings = {**classical.settings, "policies": [*pricers, *variants]}
    result = EvaluationResult(settings, per_task)

    plot = args.out.with_name(args.out.stem + "_regret.png")
    plot_regret(result, plot)
    args.out.with_suffix(".json").write_text(result.to_json())
    claims = [(v, b) for v in variants for b in ("ts", "meta_ts", "evidence")]
    claims += [(v, "zero-shot") for v in variants if v != "zero-shot" and "zero-shot" in variants]
    claims += [(v, "sft") for v in ("sft+ppo", "sft+grpo") if v in variants and "sft" in variants]
    claims += [(v, b) for v in variants if v in COMPACT for b in ("toolbox", *pricers[len(CLASSICAL):])]
    adapters = "\n".join(f"- `{v}`: {_shown(VARIANTS[v])}"
                         f" ({_adapter_tag(VARIANTS[v])}), decisions computed on {devices[v]}" for v in variants)
    command = (f".venv/bin/python bench/finetune.py --tasks {args.tasks} --horizon {args.horizon} "
               f"--seed {args.seed} --variants {','.join(v for v in variants if v not in dict(args.adapter))}"
               + "".join(f" --adapter {n}={_shown(f)}" for n, f in args.adapter)
               + (f" --split {args.split}" if args.split != "test" else "") + f" --chunk {args.chunk}"
               + (" --no-pickers" if args.no_pickers else "")
               + (f" --device {args.device}" if args.device != "cpu" else "") + f" --dtype {args.dtype}"
               + (f" --out {args.out.relative_to(ROOT)}" if args.out != RESULTS / "finetune.md" else ""))
    text = f"""# Fine-tuned meta-policies vs the classical pricers

Regenerate with `{command}`.
Run on {datetime.date.today().isoformat()}: {machine_info()}, torch {torch.__version__} (classical rows); the LLM
variants use the embedded SmolLM2-135M-Instruct in {args.dtype}, greedy decoding, and these adapters:

{adapters}

The first {args.tasks} tasks of the {args.split} split, T = {args.horizon}, evaluation seed {args.seed}: every policy
sees the same tasks and demand noise. Definitions as in `baselines.md`.
{_picker_words(pricers, variants)}
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
