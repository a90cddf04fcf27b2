"""Training the message reader end to end on the tiny model: the targets are the copy-format answers, the
run saves a loadable safetensors adapter, and a killed run resumes from its checkpoint."""

from __future__ import annotations

import json

import pytest
from transformers import TrainerCallback

from finetune.config import ConfigError, load_config
from finetune.message_reader import ReaderRunConfig, reader_datasets, run_reader_sft
from ui.message_reader import MessageReader


def _cfg(tmp_path, **kw) -> ReaderRunConfig:
    return ReaderRunConfig(model="tiny-random", dtype="fp32", n_messages=24, n_validation=8,
                           output_dir=str(tmp_path / "reader"), batch_size=4, gradient_accumulation_steps=1,
                           max_steps=4, save_steps=2, eval_steps=2, logging_steps=1, **kw)


def test_datasets_hold_copy_answers_of_train_phrasings_only(tmp_path):
    train, validation = reader_datasets(_cfg(tmp_path))
    assert len(train) == 24 and len(validation) == 8
    row = train[0]
    assert row["prompt"][-1]["role"] == "user" and row["completion"][0]["role"] == "assistant"
    assert row["prompt"][-1]["content"] not in {r["prompt"][-1]["content"] for r in validation}


class _Kill(TrainerCallback):
    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step == 3:
            raise KeyboardInterrupt("killed")


def test_reader_trains_resumes_and_its_adapter_loads(tmp_path):
    cfg = _cfg(tmp_path)
    with pytest.raises(KeyboardInterrupt):
        run_reader_sft(cfg, progress=False, callbacks=[_Kill()])
    adapter = run_reader_sft(cfg, progress=False)
    assert (adapter / "adapter_model.safetensors").is_file()
    run = json.loads((tmp_path / "reader" / "run.json").read_text())
    assert run["resumed_from"] and run["resumed_from"].endswith("checkpoint-2") and run["global_step"] == 4
    assert any("eval_loss" in entry for entry in run["log_history"])
    reader = MessageReader("llm", adapter=adapter, model="tiny-random")
    assert reader.load() is not None and reader.active == "llm"
    answer = reader.answers(["it costs me $4"])[0]
    assert isinstance(answer, str)  # a random model's words: whatever they are, the checks decide what is kept
    assert reader("it costs me $4").unit_cost in (None, 4.0)
    # one loader for both adapters, and neither is taken for the other
    from agent.model import ModelNotAvailable
    from agent.policy import LLMPolicy

    with pytest.raises(ModelNotAvailable, match="read chat messages"):
        assert LLMPolicy(model="tiny-random", adapter=str(adapter)).lm is None


def test_config_file_errors_are_one_line(tmp_path):
    bad = tmp_path / "reader.yaml"
    bad.write_text("n_messages: 0\n")
    with pytest.raises(ConfigError, match="n_messages"):
        load_config(bad, ReaderRunConfig)
