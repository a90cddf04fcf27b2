"""The shipped adapters, their cards and bench/results/finetune.md must agree (issue 4's "done when").

These read committed files only: they fail when an adapter is retrained without re-running the
benchmark, when a card quotes a number the table does not hold, or when the default adapter is not
one the benchmark judged.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

from agent.model import ADAPTERS_DIR, DEFAULT_ADAPTER

ROOT = Path(__file__).resolve().parents[2]
REPORT = ROOT / "bench" / "results" / "finetune.md"
SHIPPED = {"sft": "pricing-sft", "sft+ppo": "pricing-sft-ppo", "sft+grpo": "pricing-sft-grpo"}


def _table_rows(text: str) -> dict[str, list[str]]:
    """The main results table: policy -> its cells (the first table whose header starts with `policy | tasks`)."""
    rows, inside = {}, False
    for line in text.splitlines():
        if line.startswith("| policy | tasks"):
            inside = True
            continue
        if inside and line.startswith("|---"):
            continue
        if inside and line.startswith("|"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            rows[cells[0]] = cells[1:]
        elif inside:
            break
    return rows


@pytest.fixture(scope="module")
def report() -> str:
    assert REPORT.is_file(), "bench/results/finetune.md is missing: run bench/finetune.py"
    return REPORT.read_text()


def test_report_covers_every_variant_and_the_classical_pricers_on_200_tasks(report):
    rows = _table_rows(report)
    for policy in ("zero-shot", *SHIPPED, "ts", "meta_ts", "cils", "oracle"):
        assert policy in rows, f"{policy} missing from finetune.md"
        assert int(rows[policy][0]) >= 200, f"{policy}: fewer than 200 tasks"
    assert "T = 50" in report


@pytest.mark.parametrize("variant", sorted(SHIPPED))
def test_report_was_made_with_the_shipped_weights(report, variant):
    weights = ADAPTERS_DIR / SHIPPED[variant] / "adapter_model.safetensors"
    tag = hashlib.sha256(weights.read_bytes()).hexdigest()[:10]
    listed = re.search(rf"- `{re.escape(variant)}`: \S+ \((\w+)\)", report)
    assert listed, f"{variant}: no adapter line in finetune.md"
    assert listed.group(1) == tag, f"{variant}: finetune.md was made with other weights ({listed.group(1)} != {tag})"


@pytest.mark.parametrize("variant", sorted(SHIPPED))
def test_card_quotes_the_benchmark_number(report, variant):
    card = (ADAPTERS_DIR / SHIPPED[variant] / "README.md").read_text()
    pct = _table_rows(report)[variant][1]  # e.g. "81.6 (77.9–84.9)"
    mean, interval = re.fullmatch(r"([\d.]+) \(([\d.]+–[\d.]+)\)", pct).groups()
    assert f"{mean}% of oracle profit (95% CI {interval})" in card, f"{SHIPPED[variant]}'s card disagrees with {pct}"


def test_default_adapter_is_a_benchmarked_variant_and_not_beaten_by_another(report):
    rows = _table_rows(report)
    by_adapter = {adapter: float(rows[variant][1].split()[0]) for variant, adapter in SHIPPED.items()}
    assert DEFAULT_ADAPTER in by_adapter
    # Within a tenth of a point: the three differ by less than their paired intervals.
    assert by_adapter[DEFAULT_ADAPTER] >= max(by_adapter.values()) - 0.1
