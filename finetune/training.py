"""What the three trainers share: the base model, LoRA, precision, validation and adapter files."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import torch
from peft import LoraConfig
from safetensors.torch import load_file, save_file

from agent.generation import LoadedModel
from agent.hardware import forced_dtype, resolve_dtype
from agent.model import load_base
from finetune.config import LoraSettings, ValidationSettings

ADAPTER_WEIGHTS = "adapter_model.safetensors"
ADAPTER_CONFIG = "adapter_config.json"


def lora_config(settings: LoraSettings) -> LoraConfig:
    return LoraConfig(r=settings.r, lora_alpha=settings.alpha, lora_dropout=settings.dropout,
                      target_modules=list(settings.target_modules), task_type="CAUSAL_LM", bias="none")


def hardware_flags(dtype: str) -> dict:
    """Trainer device and precision flags: the GPU when there is one, else the CPU.

    "auto" means bf16 mixed precision on a GPU that supports it (every Ampere or newer card), and
    on a CPU only where bf16 is fast (AMX, `resolve_dtype`): elsewhere a LoRA step in bf16 was
    measured no faster (AVX512-BF16 alone) or 3x slower (no bf16 instructions). An explicit "bf16"
    or "fp32", or `$PRICING_DTYPE`, is obeyed on either.
    """
    gpu = torch.cuda.is_available()
    if gpu and str(dtype).lower() == "auto" and forced_dtype() is None:
        bf16 = torch.cuda.is_bf16_supported()
    else:
        bf16 = resolve_dtype(dtype) == torch.bfloat16
    return {"use_cpu": not gpu, "bf16": bf16, "fp16": False}


def base_with_adapter_merged(model: str | None, adapter: str | None, dtype: str = "auto") -> LoadedModel:
    """A fresh base model, with `adapter` (e.g. the SFT one) merged into its weights when given.

    RL trains a new LoRA on top of this merged model, so "adapter off" *is* the SFT policy: PPO's
    KL reference, and the starting point of GRPO. `combine_adapters` later folds both LoRAs into one.
    """
    lm = load_base(model, dtype)
    if adapter:
        from peft import PeftModel

        lm.model = PeftModel.from_pretrained(lm.model, adapter, is_trainable=False).merge_and_unload()
    lm.model.train()
    return lm


def save_json_atomic(path: Path, data: dict) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, default=str))
    tmp.replace(path)


# --------------------------------------------------------------------------- validation


def validate(model, tokenizer, settings: ValidationSettings, name: str = "candidate",
             prompt_layout: str = "long") -> dict:
    """Plays the model (LoRA attached) on validation tasks with the env harness; summary numbers.

    Greedy decoding, as the shipped agent. Puts the model in eval mode for the run and back in
    train mode after it.
    """
    if settings.n_tasks == 0:
        return {}
    from agent.policy import LLMPolicy
    from env.evaluation import evaluate

    lm = LoadedModel(model=model, tokenizer=tokenizer, model_id=name, adapter_id="training", dtype=model.dtype,
                     prompt_layout=prompt_layout)
    side, was_training = tokenizer.padding_side, model.training
    tokenizer.padding_side = "left"
    model.eval()
    label = f"finetune-{name}"
    try:
        result = evaluate([label], split="validation", n_tasks=settings.n_tasks, horizon=settings.horizon,
                          seed=settings.seed, workers=1, progress=False, batch_size=settings.batch_size,
                          factories={label: lambda task: LLMPolicy(lm=lm)})
    finally:
        tokenizer.padding_side = side
        model.train(was_training)
    rows = result.per_task[result.per_task.policy == label]
    return {"pct_oracle": float(rows.pct_oracle.mean()), "pct_oracle_median": float(rows.pct_oracle.median()),
            "regret_pct": float(rows.regret_pct.mean()), "volatility": float(rows.volatility.mean()),
            "tasks": int(len(rows))}


# --------------------------------------------------------------------------- adapters


def _lora_scale(config: dict) -> float:
    r, alpha = config["r"], config["lora_alpha"]
    return alpha / math.sqrt(r) if config.get("use_rslora") else alpha / r


def combine_adapters(first: str | Path, second: str | Path, out: str | Path) -> Path:
    """One LoRA adapter equal to applying `first` then `second` (trained on the merged first).

    LoRA updates add: W + s1 B1 A1 + s2 B2 A2 = W + [s1 B1, s2 B2] [A1; A2]. Stacking the
    factors gives an exact adapter of rank r1 + r2 with scale 1, so the shipped policy is a single
    ordinary adapter file whatever the number of training stages.
    """
    first, second, out = Path(first), Path(second), Path(out)
    cfg1 = json.loads((first / ADAPTER_CONFIG).read_text())
    cfg2 = json.loads((second / ADAPTER_CONFIG).read_text())
    w1, w2 = load_file(str(first / ADAPTER_WEIGHTS)), load_file(str(second / ADAPTER_WEIGHTS))
    s1, s2 = _lora_scale(cfg1), _lora_scale(cfg2)
    r1, r2 = cfg1["r"], cfg2["r"]
    modules = sorted({k.rsplit(".lora_", 1)[0] for k in (*w1, *w2) if ".lora_" in k})
    combined: dict[str, torch.Tensor] = {}
    for m in modules:
        a1, b1 = w1.get(f"{m}.lora_A.weight"), w1.get(f"{m}.lora_B.weight")
        a2, b2 = w2.get(f"{m}.lora_A.weight"), w2.get(f"{m}.lora_B.weight")
        ref_a, ref_b = (a1, b1) if a1 is not None else (a2, b2)
        if a1 is None:  # a module only the second adapter touches: the first contributes zero
            a1, b1 = ref_a.new_zeros(r1, ref_a.shape[1]), ref_b.new_zeros(ref_b.shape[0], r1)
        if a2 is None:
            a2, b2 = ref_a.new_zeros(r2, ref_a.shape[1]), ref_b.new_zeros(ref_b.shape[0], r2)
        combined[f"{m}.lora_A.weight"] = torch.cat([a1.float(), a2.float()], 0).contiguous()
        combined[f"{m}.lora_B.weight"] = torch.cat([s1 * b1.float(), s2 * b2.float()], 1).contiguous()
    config = dict(cfg1)
    config.update(r=r1 + r2, lora_alpha=r1 + r2, use_rslora=False, lora_dropout=0.0,
                  target_modules=sorted(set(cfg1["target_modules"]) | set(cfg2["target_modules"])),
                  rank_pattern={}, alpha_pattern={})
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    save_file(combined, str(tmp / ADAPTER_WEIGHTS), metadata={"format": "pt"})
    (tmp / ADAPTER_CONFIG).write_text(json.dumps(config, indent=2))
    from agent.prompt import LAYOUT_FILE

    for layout in (second / LAYOUT_FILE, first / LAYOUT_FILE):  # the prompt both were trained on travels along
        if layout.is_file():
            shutil.copyfile(layout, tmp / LAYOUT_FILE)
            break
    shutil.rmtree(out, ignore_errors=True)
    tmp.replace(out)
    return out


def save_adapter(model, out: str | Path, prompt_layout: str = "long") -> Path:
    """Saves the trainable ("default") LoRA of a PeftModel as safetensors, atomically, with the prompt
    layout it was trained on (`agent.prompt.LAYOUT_FILE`: the agent renders that layout for it)."""
    from agent.prompt import LAYOUT_FILE

    out = Path(out)
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(str(tmp), selected_adapters=["default"], safe_serialization=True)
    (tmp / LAYOUT_FILE).write_text(json.dumps({"prompt": prompt_layout}) + "\n")
    shutil.rmtree(out, ignore_errors=True)
    tmp.replace(out)
    return out
