"""Regenerates bench/results/llm_profile.md: where the LLM's time goes when it scores the demo catalog, and how
close its prefill comes to what this CPU's matrix units can do.

    .venv/bin/python bench/llm_profile.py

In one run: the matmul ceiling (a 2048^3 product, fp32 and, where the CPU has native bf16, bf16); then the
demo catalog's 50 SKUs scored by the shipped adapter through `score_frames` at batch 1/8/16/32, for each dtype
the CPU runs well and each path: the slow one (peft's separate LoRA layers, the output layer fed a strided
slice), the output layer's input made contiguous, and the shipped one (contiguous + the adapter merged).
Timing comes from hooks around the model's forward: a call with more than one position is a prefill, one
position a decode step. FLOPs are counted from the model's shapes (`prefill_flops`): every projection and
the MLP per token, causal attention, the output layer once per row. MFU = the prompts' own FLOPs (fill-up
copies and left padding not counted) per second of prefill over the ceiling; "executed" counts every row
and pad the kernels ran. Prices: how many of the 50 equal the slow path's at the same dtype.
"""

from __future__ import annotations

import datetime
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from agent.catalog import score_frames  # noqa: E402
from agent.hardware import cpu_has_fast_bf16  # noqa: E402
from agent.model import load_model  # noqa: E402
from agent.policy import LLMPolicy  # noqa: E402
from bench.baselines import machine_info  # noqa: E402
from bench.throughput import repeated_catalog  # noqa: E402

RESULTS = ROOT / "bench" / "results"
HEADER = ("| dtype | path | batch | SKUs/s | prompt tokens per LLM row (real / executed) "
          "| prefill s | decode s (steps) | other s | prefill GFLOP/s | MFU | executed MFU | prices = slow path |\n"
          "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
BATCHES = (1, 8, 16, 32)
PATHS = {  # name: load_model switches
    "slow path (LoRA layers, strided head input)": {"merge": False, "contiguous": False},
    "+ contiguous head input": {"merge": False, "contiguous": True},
    "+ adapter merged (shipped)": {"merge": True, "contiguous": True},
}


def matmul_ceiling(dtype: torch.dtype, n: int = 2048, seconds: float = 2.0) -> float:
    """GFLOP/s of one large square matrix product on this machine now (the best of repeated runs)."""
    a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
    for _ in range(3):
        a @ b
    best, start = 0.0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        t = time.perf_counter()
        a @ b
        best = max(best, 2 * n**3 / (time.perf_counter() - t) / 1e9)
    return best


def prefill_flops(config, lengths: list[int]) -> float:
    """FLOPs of a prefill over prompts of `lengths` real tokens (multiply-add = 2 FLOPs)."""
    d, layers = config.hidden_size, config.num_hidden_layers
    heads = config.num_attention_heads
    head_dim = getattr(config, "head_dim", None) or d // heads
    kv = config.num_key_value_heads * head_dim
    per_token = layers * 2 * (d * heads * head_dim + 2 * d * kv + heads * head_dim * d
                              + 3 * d * config.intermediate_size)
    total = 0.0
    for n in lengths:
        attention = layers * 2 * 2 * heads * head_dim * n * (n + 1) / 2  # QK^T and AV, causal
        total += n * per_token + attention + 2 * d * config.vocab_size  # the output layer: last position only
    return total


@dataclass
class Timer:
    """Forward hooks that split the model's time into prefill and decode and keep the prefill's shapes."""

    prefill_s: float = 0.0
    decode_s: float = 0.0
    decode_steps: int = 0
    executed: list[int] = field(default_factory=list)  # every row's padded length, copies included
    useful: list[int] = field(default_factory=list)  # distinct rows' real tokens
    _start: float = 0.0
    _ids: torch.Tensor | None = None
    _mask: torch.Tensor | None = None

    def attach(self, model) -> list:
        core = model.get_base_model() if hasattr(model, "get_base_model") else model
        return [core.register_forward_pre_hook(self._before, with_kwargs=True),
                core.register_forward_hook(self._after, with_kwargs=True)]

    def _before(self, module, args, kwargs) -> None:
        self._ids, self._mask = kwargs.get("input_ids"), kwargs.get("attention_mask")
        self._start = time.perf_counter()

    def _after(self, module, args, kwargs, out) -> None:
        seconds = time.perf_counter() - self._start
        ids = self._ids
        if ids.shape[1] == 1:
            self.decode_s += seconds
            self.decode_steps += 1
            return
        self.prefill_s += seconds
        self.executed += [ids.shape[1]] * ids.shape[0]
        for row in range(ids.shape[0]):  # fill-up copies repeat the row before them
            if row == 0 or not torch.equal(ids[row], ids[row - 1]):
                self.useful.append(int(self._mask[row].sum()))


def profile_path(dtype: str, switches: dict, products, history) -> list[dict]:
    """One row per batch size, each with its prices (sku -> price)."""
    lm = load_model(None, dtype=dtype, **switches)
    policy = LLMPolicy(lm)
    score_frames(products.head(4), history, policy, batch_size=4)  # warm-up outside the timings
    rows = []
    for batch in BATCHES:
        timer = Timer()
        hooks = timer.attach(lm.model)
        start = time.perf_counter()
        out = score_frames(products, history, policy, batch_size=batch)
        seconds = time.perf_counter() - start
        for h in hooks:
            h.remove()
        prices = dict(zip(out["sku"], out["recommended_price"], strict=True))
        config = lm.model.config
        rows.append({"batch": batch, "seconds": seconds, "skus": len(out), "timer": timer,
                     "useful_gflop": prefill_flops(config, timer.useful) / 1e9,
                     "executed_gflop": prefill_flops(config, timer.executed) / 1e9, "prices": prices})
    return rows


def main() -> None:
    products, history = repeated_catalog(1)
    dtypes = ["bf16", "fp32"] if cpu_has_fast_bf16() else ["fp32"]
    ceilings = {d: matmul_ceiling(torch.bfloat16 if d == "bf16" else torch.float32) for d in dtypes}
    lines = []
    for dtype in dtypes:
        reference = None
        for name, switches in PATHS.items():
            rows = profile_path(dtype, switches, products, history)
            reference = reference or rows[0]["prices"]
            for r in rows:
                t: Timer = r["timer"]
                same = sum(r["prices"][k] == reference[k] for k in reference)
                useful = sum(t.useful) / max(len(t.useful), 1)
                executed = sum(t.executed) / max(len(t.useful), 1)
                achieved = r["useful_gflop"] / t.prefill_s if t.prefill_s else 0.0
                run = r["executed_gflop"] / t.prefill_s if t.prefill_s else 0.0
                other = r["seconds"] - t.prefill_s - t.decode_s
                cells = [dtype, name, r["batch"], f"{r['skus'] / r['seconds']:.2f}",
                         f"{useful:.0f} / {executed:.0f}", f"{t.prefill_s:.2f}", f"{t.decode_s:.2f} ({t.decode_steps})",
                         f"{other:.2f}", f"{achieved:,.0f}", f"{100 * achieved / ceilings[dtype]:.0f}%",
                         f"{100 * run / ceilings[dtype]:.0f}%", f"{same}/{len(reference)}"]
                lines.append("| " + " | ".join(str(c) for c in cells) + " |")
            print(lines[-1], flush=True)
    ceiling_text = ", ".join(f"{d} {c:,.0f} GFLOP/s" for d, c in ceilings.items())
    text = f"""# The LLM path against the machine's limit

Regenerate with `.venv/bin/python bench/llm_profile.py` (about 5 minutes on 2 cores).
Run on {datetime.date.today()}: {machine_info()}, torch {torch.__version__}, {torch.get_num_threads()} torch threads;
LLM `smollm2-135m-instruct` + the shipped adapter, greedy, the demo catalog's 50 SKUs through `score_frames`.

Matmul ceiling measured in this run (one 2048 x 2048 x 2048 product, best of 2 s): {ceiling_text}.

""" + HEADER + "\n".join(lines) + """

Reading it: a batch is the number of SKUs handed to the policy at once; every generate runs exactly four rows
of one padded length (`agent.generation.ROWS_PER_GENERATE`, fill-up copies included, so a SKU's answer does
not depend on its neighbours), so batch 1 computes each prompt four times and larger batches only fill the
groups better. "Other" is everything outside the model's forward: the evidence, the toolbox, rendering,
tokenising, generate's own bookkeeping. Prompts: SKUs whose toolbox leaves the model no choice (one candidate,
the rival-confounding probe, no sale yet) are priced without it, so fewer than 50 prompts reach the model.
"""
    (RESULTS / "llm_profile.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
