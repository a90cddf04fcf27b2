"""What this CPU is and which dtype the model runs in here.

Why a module of its own: benchmarks, the Makefile and the test-suite ask "which kind of CPU is this, and what
does dtype auto mean here" without loading a model; the loader (`agent.model`) asks the same.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

import torch

DTYPE_ENV = "PRICING_DTYPE"
"""Forces what "auto" means for a whole run (`bf16` or `fp32`), e.g. to test the other path."""
_DTYPES = {"bf16": torch.bfloat16, "bfloat16": torch.bfloat16, "fp32": torch.float32, "float32": torch.float32}


@functools.lru_cache(maxsize=1)
def _cpuinfo_field(name: str) -> str:
    """The first `name : value` of /proc/cpuinfo ("" where there is none, e.g. macOS)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return ""
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip() == name:
            return value.strip()
    return ""


def cpu_flags() -> frozenset[str]:
    """The CPU feature flags of /proc/cpuinfo (empty where there is none, e.g. macOS)."""
    return frozenset(_cpuinfo_field("flags").split())


def cpu_model_name() -> str:
    """The CPU's model name (e.g. "AMD EPYC 9R14"), for the machine line of a benchmark table."""
    import platform

    return _cpuinfo_field("model name") or platform.processor() or platform.machine()


def cpu_has_fast_bf16() -> bool:
    """True where bf16 is worth it on this CPU: where it has AMX tiles (`amx_bf16`).

    Measured (torch 2.13, 2 cores, bench/results/dtype.md and its predecessors): on a CPU without
    any bf16 instructions torch emulates bf16, 2-3x slower than fp32; on an Intel Xeon with
    AVX512-BF16 but no AMX, bf16 matrix products ran at 0.53-0.61x of fp32, batch scoring at
    0.79-0.82x and a LoRA training step at 0.89-1.02x (two runs); with AMX, bf16 matrix
    products ran 3.2-5.8x faster than fp32. bf16 also moved 1.5% of the shipped adapter's greedy
    prices (-0.8 points of oracle profit on 32 validation tasks), a cost worth paying only for the
    AMX speed-up.
    """
    return "amx_bf16" in cpu_flags()


def cpu_kind() -> str:
    """A short name for the kind of CPU a figure was measured on: `amx`, `avx512-bf16` or `no-bf16`."""
    flags = cpu_flags()
    if "amx_bf16" in flags:
        return "amx"
    return "avx512-bf16" if "avx512_bf16" in flags else "no-bf16"


def forced_dtype() -> torch.dtype | None:
    """The dtype `$PRICING_DTYPE` forces "auto" to mean, or None when it is unset (or "auto")."""
    forced = os.environ.get(DTYPE_ENV, "").strip().lower()
    if not forced or forced == "auto":
        return None
    if forced not in _DTYPES:
        raise ValueError(f"{DTYPE_ENV}: expected auto, bf16 or fp32, got {forced!r}")
    return _DTYPES[forced]


def resolve_dtype(dtype: str = "auto") -> torch.dtype:
    """Map a dtype name to torch: "auto" is bf16 only where the CPU runs it fast (AMX), else fp32.

    `$PRICING_DTYPE` (bf16 or fp32), when set, is what "auto" means instead: one switch that moves
    a whole run (tests, a benchmark, the server) onto the other path without editing configs.
    An explicit "bf16" or "fp32" is always obeyed.
    """
    key = str(dtype).lower().removeprefix("torch.")
    if key == "auto":
        forced = forced_dtype()
        if forced is not None:
            return forced
        return torch.bfloat16 if cpu_has_fast_bf16() else torch.float32
    if key not in _DTYPES:
        raise ValueError(f"dtype: expected auto, bf16/bfloat16 or fp32/float32, got {dtype!r}")
    return _DTYPES[key]
