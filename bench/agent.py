"""Regenerates bench/results/agent.md: the shipped LLM agent against the classical pricers,
batch-scoring throughput on the demo catalog, and single-recommendation latency.

    .venv/bin/python bench/agent.py --tasks 24 --horizon 50 --seed 0

The agent is `LLMPolicy()` as a merchant gets it: the embedded model with the default adapter on the
prompt layout that adapter was trained on (`--adapter none` measures the zero-shot model). Beside it,
the simplest thing that does the same job: for the compact prompt the toolbox's fixed rule over the
candidates the model reads (`toolbox`), for the long prompt the evidence's model-optimal price
(`evidence`). The LLM is slow on a 2-core CPU, so the comparison uses the first `--tasks` test tasks
for every policy (the same tasks and noise for all); bench/results/finetune.md has 200.
"""

from __future__ import annotations

import argparse
import datetime
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from agent.catalog import contexts_for, read_table, score_frames  # noqa: E402
from agent.demo_catalog import demo_catalog_paths  # noqa: E402
from agent.policy import CONFOUNDED, LLMPolicy  # noqa: E402
from agent.recommend import recommend  # noqa: E402
from agent.registry import in_process_policies  # noqa: E402
from bench.baselines import machine_info, paired_differences  # noqa: E402
from bench.prompt_budget import token_counts  # noqa: E402
from env.evaluation import evaluate, plot_regret  # noqa: E402

RESULTS = ROOT / "bench" / "results"


class CountingLLM(LLMPolicy):
    """The LLM policy, counting how often its answer had to fall back."""

    decisions = fallbacks = probes = 0

    def propose_batch(self, contexts, evidences=None, seeds=None):
        proposals = super().propose_batch(contexts, evidences, seeds)
        CountingLLM.decisions += len(proposals)
        CountingLLM.probes += sum(p.fallback == CONFOUNDED for p in proposals)
        CountingLLM.fallbacks += sum(p.fallback not in (None, CONFOUNDED) for p in proposals)
        return proposals


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tasks", type=int, default=24)
    ap.add_argument("--horizon", type=int, default=50)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--batch-size", type=int, default=16, help="SKUs per generate call in catalog scoring")
    ap.add_argument("--adapter", default=None, help="an adapter name or folder; 'none' for the zero-shot model "
                                                    "(default: the shipped default adapter)")
    ap.add_argument("--out", type=Path, default=RESULTS / "agent.md")
    args = ap.parse_args()

    policy = LLMPolicy(adapter=args.adapter)
    lm = policy.lm  # load once, before timing (every episode's policy shares the cached model)
    factories = {**in_process_policies(), "llm": lambda task: CountingLLM(adapter=args.adapter)}
    compact = lm.prompt_layout == "compact"
    reads = "toolbox" if compact else "evidence"  # the deterministic tool the model reads

    # 1. the agent vs the classical pricers on the same test tasks
    names = ["oracle", "llm", "toolbox", "evidence", "cost_plus", "ils", "cils", "ts", "meta_ts"]
    result = evaluate(names, split="test", n_tasks=args.tasks, horizon=args.horizon, seed=args.seed,
                      workers=2, batch_size=args.tasks, factories=factories)
    plot = args.out.with_name("agent_regret.png")
    plot_regret(result, plot)
    args.out.with_suffix(".json").write_text(result.to_json())
    llm_rows = result.per_task[result.per_task.policy == "llm"]

    # 2. batch scoring throughput on the demo catalog
    products_path, history_path = demo_catalog_paths()
    products, history = read_table(products_path), read_table(history_path)
    start = time.perf_counter()
    table = score_frames(products, history, policy, batch_size=args.batch_size)
    seconds = time.perf_counter() - start
    n_skus = len(table)
    contexts = [c for _, c, err in contexts_for(products, history) if c is not None]
    prompt_tokens = token_counts(lm.tokenizer, contexts)[lm.prompt_layout]
    fallbacks = int(table["flags"].fillna("").str.contains("fallback").sum())

    # 3. single-recommendation latency (one SKU at a time, evidence + generation + guardrails)
    latencies = []
    for ctx in contexts[:10]:
        start = time.perf_counter()
        recommend(ctx, policy)
        latencies.append(1000 * (time.perf_counter() - start))

    command = (f".venv/bin/python bench/agent.py --tasks {args.tasks} --horizon {args.horizon} --seed {args.seed}"
               + (f" --adapter {args.adapter}" if args.adapter else ""))
    who = "the zero-shot model" if lm.adapter_id is None else f"the adapter `{lm.adapter_id}`"
    fallback = ("the toolbox had no candidate yet (nothing sold): the price stays, as under the rule" if compact
                else "the answer had no usable price: the evidence's model-optimal price is charged")
    added = ("`toolbox` charges the candidate of the toolbox's fixed rule (`agent.policy.ToolboxPolicy`) from the "
             "same candidates the model chooses among, so `llm − toolbox` is what the language model itself adds"
             if compact else "`evidence` charges the evidence's model-optimal price (`agent.policy.EvidencePolicy`), "
             "the number the model reads, so `llm − evidence` is what the language model itself adds")
    text = f"""# The LLM pricing agent on this machine

Regenerate with `{command}` (or `make bench`).
Run on {datetime.date.today().isoformat()}: {machine_info()}, torch {torch.__version__}, model `{lm.model_id}`
(adapter: {lm.adapter_id or 'none'}), dtype {str(lm.dtype).replace('torch.', '')}, greedy decoding,
{policy.max_new_tokens} new tokens at most.

## LLMPolicy ({who}, {lm.prompt_layout} prompt) vs the classical pricers

The first {args.tasks} tasks of the test split, T = {args.horizon}, evaluation seed {args.seed}; every policy sees
the same tasks and demand noise. The LLM plays all {args.tasks} tasks in lock-step (one batched
generate per period). Definitions as in `baselines.md`. Fallbacks: {CountingLLM.fallbacks} of
{CountingLLM.decisions} decisions ({fallback}). Exploration probes charged without asking the model, because
the price had only moved with the competitor's (`agent.candidates.confounded_probe`): {CountingLLM.probes}.

{result.to_markdown()}
Paired differences (same tasks, same noise):

{paired_differences(result.per_task, [("llm", reads), ("llm", "ts"), ("llm", "meta_ts"), ("llm", "cils"),
                                      ("llm", "cost_plus")])}

{added}.

![regret]({plot.name})

LLM wall time for the {args.tasks} x {args.horizon} decisions: {llm_rows['episode_s'].sum():.0f} s.

## Batch catalog scoring (demo catalog)

| SKUs | batch size | seconds | SKUs/s | median prompt tokens | prompt tokens/s | answers that fell back |
|---:|---:|---:|---:|---:|---:|---:|
| {n_skus} | {args.batch_size} | {seconds:.1f} | {n_skus / seconds:.2f} | {np.median(prompt_tokens):.0f} \
| {sum(prompt_tokens) / seconds:.0f} | {fallbacks} |

## Single recommendation latency

One SKU at a time (evidence, prompt, generation, guardrails, rationale), {len(latencies)} demo SKUs:
median {statistics.median(latencies):.0f} ms, max {max(latencies):.0f} ms.
"""
    args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
