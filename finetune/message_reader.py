"""Training the message reader: a LoRA on the embedded model that copies a merchant's chat message into
facts (issue 16). Read top to bottom: generate train-family messages (`finetune.message_data`), render
each gold answer in the copy format of `agent.reader_format`, train a LoRA with the loss on the answer
only (TRL `SFTTrainer`, prompt-completion data), checkpoint every `save_steps` (a killed run resumes),
and save the adapter as safetensors in `<output_dir>/adapter`.

Only train-family phrasings are trained on; the held-out family is what `bench/merchant.py` measures
the reader on. A separate stream of train-family messages (another seed) gives the validation loss,
logged beside the training loss: it says when more steps stop helping on the wordings trained on, and is
never used to pick anything on the held-out ones.
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field, model_validator

from agent.reader_format import READER_LAYOUT, reader_prompt, render_answer
from finetune.config import LoraSettings, _Config
from finetune.message_data import MessageRecord, build_messages
from finetune.training import hardware_flags, lora_config, save_adapter, save_json_atomic


class ReaderRunConfig(_Config):
    """One message-reader training run (`pricing finetune reader -c configs/finetune/reader.yaml`)."""

    model: str | None = Field(None, description="None: the embedded default model; 'tiny-random' for tests")
    dtype: str = Field("auto", description="bf16 where the CPU or GPU is fast at it, else fp32")
    n_messages: int = Field(6000, ge=2, description="train-family messages to train on, half English, half Chinese")
    n_validation: int = Field(200, ge=0, description="train-family messages (another seed) for the validation loss")
    seed: int = 0
    output_dir: str = "runs/reader"
    lora: LoraSettings = Field(default_factory=lambda: LoraSettings(
        r=16, alpha=32, dropout=0.05,
        target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]))
    learning_rate: float = Field(4e-4, gt=0)
    epochs: float = Field(1.0, gt=0)
    max_steps: int = Field(-1, description="> 0 overrides epochs")
    batch_size: int = Field(8, ge=1)
    gradient_accumulation_steps: int = Field(2, ge=1)
    max_length: int = Field(512, ge=32)
    save_steps: int = Field(50, ge=1)
    eval_steps: int = Field(100, ge=1)
    logging_steps: int = Field(10, ge=1)

    @model_validator(mode="after")
    def _check(self) -> ReaderRunConfig:
        if self.save_steps > self.eval_steps * 10:
            raise ValueError("save_steps should not be far above eval_steps: a cut run would lose many evaluations")
        return self


def answer_for(record: MessageRecord) -> str:
    """The gold answer of one message in the copy format: its stated numbers as the message writes them."""
    facts, spans = record.facts, record.spans
    texts = {key: spans[key] for key in ("unit_cost", "current_price", "competitor_price", "min_price", "max_price",
                                         "min_margin", "max_change", "what_if_price")
             if getattr(facts, key) is not None}
    if facts.name is not None:
        texts["name"] = _name_as_written(record)
    sales = [tuple(pair) for pair in spans.get("sales", [])]
    return render_answer(texts, sales, facts.question)


def _name_as_written(record: MessageRecord) -> str:
    """The product name as the message writes it (the gold name is its canonical form, e.g. without the
    article): the reader copies text, so its target is the message's own words where they are found."""
    name = record.facts.name or ""
    lower = record.message.lower()
    at = lower.find(name.lower())
    return record.message[at:at + len(name)] if at >= 0 else name


def reader_examples(records: list[MessageRecord]) -> list[dict]:
    """Prompt-completion rows in the conversational form TRL expects."""
    return [{"prompt": reader_prompt(r.message), "completion": [{"role": "assistant", "content": answer_for(r)}]}
            for r in records]


def reader_datasets(cfg: ReaderRunConfig):
    """(train, validation) `datasets.Dataset`s of train-family messages; validation uses another seed."""
    from datasets import Dataset

    train = build_messages(n_train=cfg.n_messages, n_heldout=0, seed=cfg.seed)
    validation = build_messages(n_train=cfg.n_validation, n_heldout=0, seed=cfg.seed + 10_000)
    return Dataset.from_list(reader_examples(train)), Dataset.from_list(reader_examples(validation))


def run_reader_sft(cfg: ReaderRunConfig, progress: bool = True, callbacks: list | None = None) -> Path:
    """Trains (or resumes) the reader LoRA of `cfg`; returns the adapter folder."""
    from transformers.trainer_utils import get_last_checkpoint
    from trl import SFTConfig, SFTTrainer

    from agent.model import load_base

    out = Path(cfg.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    train, validation = reader_datasets(cfg)
    lm = load_base(cfg.model, cfg.dtype)
    lm.tokenizer.padding_side = "right"
    os.environ["TENSORBOARD_LOGGING_DIR"] = str(out / "tb")
    checkpoints = out / "checkpoints"
    evaluate = len(validation) > 0
    args = SFTConfig(
        output_dir=str(checkpoints), seed=cfg.seed, data_seed=cfg.seed,
        per_device_train_batch_size=cfg.batch_size, per_device_eval_batch_size=cfg.batch_size,
        gradient_accumulation_steps=cfg.gradient_accumulation_steps,
        learning_rate=cfg.learning_rate, num_train_epochs=cfg.epochs, max_steps=cfg.max_steps,
        warmup_steps=0.03, lr_scheduler_type="cosine", max_length=cfg.max_length,
        completion_only_loss=True, packing=False, gradient_checkpointing=False,
        eval_strategy="steps" if evaluate else "no", eval_steps=cfg.eval_steps,
        logging_steps=cfg.logging_steps, save_steps=cfg.save_steps, save_total_limit=2,
        report_to=["tensorboard"], disable_tqdm=not progress, dataloader_num_workers=0,
        **hardware_flags(cfg.dtype),
    )
    trainer = SFTTrainer(model=lm.model, args=args, train_dataset=train,
                         eval_dataset=validation if evaluate else None, processing_class=lm.tokenizer,
                         peft_config=lora_config(cfg.lora), callbacks=list(callbacks or []))
    resume = get_last_checkpoint(str(checkpoints)) if checkpoints.is_dir() else None
    result = trainer.train(resume_from_checkpoint=resume)
    adapter = save_adapter(trainer.model, out / "adapter", prompt_layout=READER_LAYOUT)
    save_json_atomic(out / "run.json", {
        "command": "reader", "config": cfg.model_dump(), "resumed_from": resume, "examples": len(train),
        "train_metrics": result.metrics, "global_step": trainer.state.global_step,
        "log_history": trainer.state.log_history,
    })
    return adapter
