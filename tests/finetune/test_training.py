"""SFT, PPO and GRPO end to end on the tiny model (seconds each), resume after a kill, adapter algebra."""

import json

import pytest
import torch
from safetensors.torch import load_file
from transformers import TrainerCallback

from agent.model import load_base
from agent.policy import LLMPolicy
from finetune import rl
from finetune.config import GRPOSettings
from finetune.rl import run_rl
from finetune.sft import run_sft
from finetune.training import combine_adapters

pytestmark = [pytest.mark.slow, pytest.mark.dtype_sensitive]
CANDIDATE_GROUPS = GRPOSettings(num_generations=5, groups="candidates")


def _lora(folder) -> dict[str, torch.Tensor]:
    return load_file(str(folder / "adapter_model.safetensors"))


def _b_norm(weights: dict[str, torch.Tensor]) -> float:
    return float(sum(w.abs().sum() for k, w in weights.items() if "lora_B" in k))


@pytest.fixture(scope="module")
def sft_adapter(tmp_path_factory):
    """One SFT run on the quick config, shared by the RL tests."""
    from finetune.config import SFTRunConfig, load_config
    from tests.finetune.conftest import CONFIGS

    tmp = tmp_path_factory.mktemp("sft")
    cfg = load_config(CONFIGS / "cpu-quick" / "sft.yaml", SFTRunConfig)
    cfg = cfg.model_copy(update={"output_dir": str(tmp / "sft"),
                                 "demos": cfg.demos.model_copy(update={"output": str(tmp / "demos")})})
    return run_sft(cfg, progress=False)


def test_sft_changes_the_lora_weights_and_logs_validation(sft_adapter):
    # LoRA's B factors start at zero: any non-zero B is the optimiser's doing
    assert _b_norm(_lora(sft_adapter)) > 0
    out = sft_adapter.parent
    run = json.loads((out / "run.json").read_text())
    assert run["global_step"] == 4 and run["examples"] == 8
    lines = [json.loads(x) for x in (out / "validation.jsonl").read_text().splitlines()]
    assert [r["step"] for r in lines] == [2, 4] and all("pct_oracle" in r for r in lines)
    assert list((out / "tb").rglob("events.out.tfevents.*"))
    # the adapter loads through the agent's own loader and plays
    from agent.model import load_model

    lm = load_model("tiny-random", adapter=sft_adapter)
    assert lm.adapter_id is not None


class _Kill(TrainerCallback):
    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step == 3:
            raise KeyboardInterrupt("killed")


def test_sft_killed_mid_way_resumes_from_its_checkpoint(quick_sft):
    with pytest.raises(KeyboardInterrupt):
        run_sft(quick_sft, progress=False, callbacks=[_Kill()])
    out = quick_sft.output_dir
    assert not (tmp := __import__("pathlib").Path(out) / "adapter").exists(), tmp
    adapter = run_sft(quick_sft, progress=False)
    run = json.loads((adapter.parent / "run.json").read_text())
    assert run["resumed_from"].endswith("checkpoint-2")
    assert run["global_step"] == 4


@pytest.mark.parametrize("algorithm", ["ppo", "grpo"])
def test_two_rl_updates_change_the_policy(algorithm, quick_rl, sft_adapter):
    cfg = quick_rl(algorithm, str(sft_adapter), rounds=1)
    adapter = run_rl(cfg, algorithm)
    out = adapter.parent
    round_one = _lora(out / "rounds" / "round-001")
    assert _b_norm(round_one) > 0  # the RL LoRA moved from its zero start
    record = json.loads((out / "rounds.jsonl").read_text().splitlines()[0])
    assert record["states"] == 4 and "validation_pct_oracle" in record
    # the final adapter is SFT and RL folded into one: rank 4 + 4
    assert json.loads((adapter / "adapter_config.json").read_text())["r"] == 8


def test_rl_from_a_compact_adapter_trains_on_the_compact_prompt_and_keeps_its_layout(quick_rl, sft_adapter,
                                                                                    tmp_path, monkeypatch):
    import shutil

    from agent.model import adapter_layout
    from agent.prompt import LAYOUT_FILE

    compact = tmp_path / "compact-sft"
    shutil.copytree(sft_adapter, compact)
    (compact / LAYOUT_FILE).write_text(json.dumps({"prompt": "compact"}) + "\n")
    real_round, seen = rl.grpo_round, []

    def recording(policy, tokenizer, states, cfg, reward, out, layout="long"):
        seen.append([rl.prompt_messages(s, layout)[-1]["content"] for s in states])
        return real_round(policy, tokenizer, states, cfg, reward, out, layout)

    monkeypatch.setattr(rl, "grpo_round", recording)
    adapter = run_rl(quick_rl("grpo", str(compact), rounds=1), "grpo")
    assert seen and all("candidate price profit" in text for text in seen[0])  # the toolbox's table
    assert adapter_layout(adapter) == "compact" and adapter_layout(adapter.parent / "rounds" / "round-001") == "compact"


def test_grpo_candidate_groups_hold_every_candidate_answer_and_move_the_policy(quick_rl, sft_adapter, tmp_path,
                                                                             monkeypatch):
    import shutil

    from agent.prompt import LAYOUT_FILE

    compact = tmp_path / "compact-sft"
    shutil.copytree(sft_adapter, compact)
    (compact / LAYOUT_FILE).write_text(json.dumps({"prompt": "compact"}) + "\n")
    real_call, groups = rl.CandidateRollout.__call__, []

    def recording(self, prompts, trainer=None):
        out = real_call(self, prompts, trainer)
        texts = [self.tokenizer.decode(ids, skip_special_tokens=True) for ids in out["completion_ids"]]
        for start in range(0, len(prompts), 5):
            key = prompts[start][-1]["content"]
            groups.append((set(texts[start:start + 5]), set(self.answers[key])))
        return out

    monkeypatch.setattr(rl.CandidateRollout, "__call__", recording)
    # the tiny model's compact rollouts reach states with several candidates in 12 periods
    rollout = quick_rl("grpo", None).rollout.model_copy(update={"horizon": 12, "states_per_round": 6})
    cfg = quick_rl("grpo", str(compact), rounds=1, grpo=CANDIDATE_GROUPS, rollout=rollout)
    adapter = run_rl(cfg, "grpo")
    assert groups, "no candidate group was trained on"
    # every group of five is exactly its state's candidate answers (cycled), all of them at least twice apart
    assert all(seen == answers and len(answers) > 1 for seen, answers in groups)
    assert _b_norm(_lora(adapter.parent / "rounds" / "round-001")) > 0


def test_grpo_candidate_groups_refuse_a_long_prompt_adapter(quick_rl, sft_adapter):
    with pytest.raises(ValueError, match="compact"):
        run_rl(quick_rl("grpo", str(sft_adapter), rounds=1, grpo=CANDIDATE_GROUPS), "grpo")


def test_rl_killed_mid_way_resumes_at_the_unfinished_round(quick_rl, sft_adapter, monkeypatch):
    cfg = quick_rl("ppo", str(sft_adapter), rounds=2)
    real_round, calls = rl.ppo_round, []

    def dies_in_round_two(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt("killed")
        return real_round(*args, **kwargs)

    monkeypatch.setattr(rl, "ppo_round", dies_in_round_two)
    with pytest.raises(KeyboardInterrupt):
        run_rl(cfg, "ppo")
    out = rl.Path(cfg.output_dir)
    assert json.loads((out / "progress.json").read_text())["rounds_done"] == 1
    first = _lora(out / "rounds" / "round-001")
    monkeypatch.setattr(rl, "ppo_round", real_round)
    run_rl(cfg, "ppo")
    rounds = [json.loads(x)["round"] for x in (out / "rounds.jsonl").read_text().splitlines()]
    assert rounds == [1, 2]  # round 1 was not redone
    assert all(torch.equal(first[k], v) for k, v in _lora(out / "rounds" / "round-001").items())
    with pytest.raises(ValueError, match="different run"):
        run_rl(cfg.model_copy(update={"rounds": 3, "learning_rate": 0.5}), "ppo")


@pytest.mark.parametrize(("dtype", "atol"), [
    ("fp32", 1e-5),  # the algebra is exact: only float rounding is left
    # bf16 keeps 8 mantissa bits: merging rounds the tiny model's logits (|x| < 1) by ~0.005, while the
    # RL LoRA moves them by ~0.8, so 0.02 still catches a combination that drops or doubles a LoRA
    ("bf16", 0.02),
])
def test_combined_adapter_equals_sft_merged_plus_rl(tmp_path, sft_adapter, dtype, atol):
    """combine_adapters is exact: base + combined == (base + SFT merged) + RL LoRA, in each dtype."""
    from peft import LoraConfig, PeftModel, get_peft_model

    torch.manual_seed(0)
    merged = PeftModel.from_pretrained(load_base("tiny-random", dtype=dtype).model, str(sft_adapter)).merge_and_unload()
    second = get_peft_model(merged, LoraConfig(r=2, lora_alpha=6, target_modules=["q_proj", "v_proj", "down_proj"]))
    with torch.no_grad():
        for name, p in second.named_parameters():
            if "lora_B" in name:
                p.normal_(0, 0.5)
    second.save_pretrained(str(tmp_path / "second"))
    combined = combine_adapters(sft_adapter, tmp_path / "second", tmp_path / "combined")
    one = PeftModel.from_pretrained(load_base("tiny-random", dtype=dtype).model, str(combined)).eval()
    ids = torch.tensor([[5, 9, 30, 41, 7, 12]])
    with torch.no_grad():
        got, want = one(input_ids=ids).logits, second.eval()(input_ids=ids).logits
    assert got.dtype == want.dtype == {"fp32": torch.float32, "bf16": torch.bfloat16}[dtype]
    assert torch.allclose(got.float(), want.float(), atol=atol)


def test_llm_policy_samples_reproducibly_for_rollouts():
    from agent.tiny import tiny_model
    from env.distribution import sample_task
    from env.episode import start_market

    ctx = start_market(sample_task("train", 0, 5), 0).context()
    a, b = LLMPolicy(lm=tiny_model(0), temperature=1.0), LLMPolicy(lm=tiny_model(0), temperature=1.0)
    a.reset(3), b.reset(3)
    assert [p.text for p in a.propose_batch([ctx, ctx])] == [p.text for p in b.propose_batch([ctx, ctx])]


@pytest.mark.parametrize(("gpu", "gpu_bf16", "cpu_bf16", "dtype", "expected"), [
    (True, True, False, "auto", {"use_cpu": False, "bf16": True}),  # GPU runs bf16 whatever the host CPU
    (True, False, True, "auto", {"use_cpu": False, "bf16": False}),  # an old GPU: fp32
    (True, True, False, "fp32", {"use_cpu": False, "bf16": False}),  # explicit choice obeyed
    (False, True, False, "auto", {"use_cpu": True, "bf16": False}),  # CPU without fast (AMX) bf16: fp32
    (False, False, True, "auto", {"use_cpu": True, "bf16": True}),
])
def test_hardware_flags_pick_bf16_where_the_training_device_runs_it(monkeypatch, gpu, gpu_bf16, cpu_bf16, dtype,
                                                                    expected):
    from agent import hardware as model_module
    from finetune.training import hardware_flags

    monkeypatch.delenv(model_module.DTYPE_ENV, raising=False)  # the CPU's flags decide, not the run's override
    monkeypatch.setattr(torch.cuda, "is_available", lambda: gpu)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: gpu_bf16)
    monkeypatch.setattr(model_module, "cpu_has_fast_bf16", lambda: cpu_bf16)
    assert hardware_flags(dtype) == {**expected, "fp16": False}


@pytest.mark.parametrize("forced", ["fp32", "bf16"])
def test_the_dtype_override_moves_training_too(monkeypatch, forced):
    """$PRICING_DTYPE decides "auto" on the CPU and on a GPU alike; an explicit dtype still wins."""
    from agent import hardware as model_module
    from finetune.training import hardware_flags

    monkeypatch.setenv(model_module.DTYPE_ENV, forced)
    for gpu in (False, True):
        monkeypatch.setattr(torch.cuda, "is_available", lambda gpu=gpu: gpu)
        monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: forced == "fp32")
        assert hardware_flags("auto")["bf16"] is (forced == "bf16")
        assert hardware_flags("fp32")["bf16"] is False
