"""Supervised fine-tuning of a LoRA adapter on the demonstrations (TRL `SFTTrainer`).

Read top to bottom: load or generate the demonstrations, load a fresh base model, train a LoRA
with the loss on the answer only (prompt-completion data), save checkpoints every `save_steps`
(a killed run resumes from the newest one), evaluate each checkpoint on the validation split with
the env harness, and save the final adapter as safetensors in `<output_dir>/adapter`.

Logs: TensorBoard under `<output_dir>/tb` (training loss, learning rate, and the validation
`% of oracle profit` beside them); `validation.jsonl` and `run.json` hold the same numbers as text.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from transformers import TrainerCallback
from transformers.trainer_utils import get_last_checkpoint

from finetune.config import SFTRunConfig, ValidationSettings
from finetune.demonstrations import load_or_generate
from finetune.training import hardware_flags, lora_config, save_adapter, save_json_atomic, validate


class ValidationCallback(TrainerCallback):
    """Evaluates every saved checkpoint on validation tasks; logs to TensorBoard and a JSONL file."""

    def __init__(self, tokenizer, settings: ValidationSettings, out_dir: Path, prompt_layout: str = "long"):
        self.tokenizer, self.settings, self.out_dir = tokenizer, settings, out_dir
        self.prompt_layout = prompt_layout
        self.model = None  # set once the trainer has wrapped the model with LoRA

    def on_save(self, args, state, control, **kwargs):
        if self.settings.n_tasks == 0 or self.model is None:
            return
        metrics = validate(self.model, self.tokenizer, self.settings, name=f"step{state.global_step}",
                           prompt_layout=self.prompt_layout)
        record = {"step": state.global_step, **metrics}
        with open(self.out_dir / "validation.jsonl", "a") as f:
            f.write(json.dumps(record) + "\n")
        from torch.utils.tensorboard import SummaryWriter

        with SummaryWriter(str(self.out_dir / "tb" / "validation")) as writer:
            for key, value in metrics.items():
                writer.add_scalar(f"validation/{key}", value, state.global_step)


def run_sft(cfg: SFTRunConfig, progress: bool = True, callbacks: list | None = None) -> Path:
    """Trains (or resumes) the SFT adapter described by `cfg`; returns the final adapter folder.

    `callbacks`: extra `TrainerCallback`s (the tests use one to kill a run mid-way).
    """
    from trl import SFTConfig, SFTTrainer

    from agent.model import load_base

    out = Path(cfg.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    dataset = load_or_generate(cfg.demos, progress).select_columns(["prompt", "completion"])
    lm = load_base(cfg.model, cfg.dtype)
    lm.tokenizer.padding_side = "right"  # training pads on the right; generation switches to left
    os.environ["TENSORBOARD_LOGGING_DIR"] = str(out / "tb" / "train")
    checkpoints = out / "checkpoints"
    args = SFTConfig(
        output_dir=str(checkpoints), seed=cfg.seed, data_seed=cfg.seed,
        per_device_train_batch_size=cfg.batch_size, gradient_accumulation_steps=cfg.gradient_accumulation_steps,
        learning_rate=cfg.learning_rate, num_train_epochs=cfg.epochs, max_steps=cfg.max_steps,
        warmup_steps=cfg.warmup_ratio, lr_scheduler_type="cosine", max_length=cfg.max_length,
        completion_only_loss=True, packing=False, gradient_checkpointing=False,
        logging_steps=cfg.logging_steps, save_steps=cfg.save_steps, save_total_limit=cfg.save_total_limit,
        report_to=["tensorboard"], disable_tqdm=not progress, dataloader_num_workers=0,
        **hardware_flags(cfg.dtype),
    )
    callback = ValidationCallback(lm.tokenizer, cfg.validation, out, cfg.demos.prompt)
    trainer = SFTTrainer(model=lm.model, args=args, train_dataset=dataset, processing_class=lm.tokenizer,
                         peft_config=lora_config(cfg.lora), callbacks=[callback, *(callbacks or [])])
    callback.model = trainer.model
    resume = get_last_checkpoint(str(checkpoints)) if checkpoints.is_dir() else None
    result = trainer.train(resume_from_checkpoint=resume)
    adapter = save_adapter(trainer.model, out / "adapter", cfg.demos.prompt)
    save_json_atomic(out / "run.json", {
        "command": "sft", "config": cfg.model_dump(), "resumed_from": resume, "examples": len(dataset),
        "train_metrics": result.metrics, "global_step": trainer.state.global_step,
    })
    return adapter
