"""Regenerates bench/results/prompt_budget.md: tokens per decision, long prompt vs compact prompt.

    .venv/bin/python bench/prompt_budget.py

Counted with the embedded model's own tokenizer and chat template (the tokens a decision really
costs), on every SKU of the demo catalog (`agent/data/`) and on a long-history synthetic product, for
the shipped prompt (`agent.prompt.render_messages`, ~560 tokens in `finetune.md`'s runs) and the compact
one (`agent.prompt.render_compact`, issue 14's budget: at most 200 at the median). Seconds.
"""

from __future__ import annotations

import argparse
import datetime
import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from agent.candidates import build_toolbox  # noqa: E402
from agent.catalog import contexts_for  # noqa: E402
from agent.demo_catalog import demo_catalog_paths  # noqa: E402
from agent.evidence import compute_evidence  # noqa: E402
from agent.prompt import render_compact, render_messages  # noqa: E402
from bench.baselines import machine_info  # noqa: E402
from env.context import PricingContext  # noqa: E402

RESULTS = ROOT / "bench" / "results"


def demo_contexts() -> list[PricingContext]:
    products, history = (pd.read_csv(p) for p in demo_catalog_paths())
    return [ctx for _, ctx, _ in contexts_for(products, history) if ctx is not None]


def token_counts(tokenizer, contexts: list[PricingContext]) -> dict[str, list[int]]:
    """Prompt tokens per context (chat template and generation prompt included) for each layout."""
    def n(messages: list[dict]) -> int:
        return len(tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True)["input_ids"])
    return {"long": [n(render_messages(c, compute_evidence(c))) for c in contexts],
            "compact": [n(render_compact(c, build_toolbox(c))) for c in contexts]}


def main() -> None:
    from transformers import AutoTokenizer

    from agent.model import default_model_folder

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=RESULTS / "prompt_budget.md")
    args = ap.parse_args()
    tokenizer = AutoTokenizer.from_pretrained(default_model_folder())
    contexts = demo_contexts()
    rows = []
    for layout, counts in token_counts(tokenizer, contexts).items():
        q = np.percentile(counts, [0, 10, 50, 90, 100])
        label = {"long": "long (`pricing-sft`)", "compact": "compact (`pricing-compact-sft`, the default)"}[layout]
        rows.append(f"| {label} | {len(counts)} | " + " | ".join(f"{v:.0f}" for v in q) + " |")
    table = "\n".join(rows)
    example = render_compact(contexts[0], build_toolbox(contexts[0]))
    text = f"""# Tokens per decision: long vs compact prompt

Regenerate with `.venv/bin/python bench/prompt_budget.py`.
Run on {datetime.date.today().isoformat()}: {machine_info()}.

Prompt tokens per SKU of the demo catalog (`agent/data/`, {len(contexts)} SKUs), with the embedded SmolLM2
tokenizer and chat template (generation prompt included). Issue 14's budget: at most 200 at the median.

| layout | SKUs | min | 10th pct | median | 90th pct | max |
|---|---:|---:|---:|---:|---:|---:|
{table}

The compact prompt of the first SKU (system line, then the user message):

```
{example[0]["content"]}
---
{example[1]["content"]}
```
"""
    args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
