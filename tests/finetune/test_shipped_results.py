"""The shipped adapters, their cards and the benchmark tables must agree (issues 4 and 14, "done when").

`bench/results/finetune.md` judges the default adapter (the compact prompt, issue 14) on 200 test
tasks beside the pricers and pickers it must beat; `finetune_long.md` holds the long-prompt adapters
measured on the same tasks and seed. These read committed files only: they fail when an adapter is
retrained without re-running its benchmark, when a card quotes a number its table does not hold, or
when the default is not the best adapter the benchmarks judged.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

from agent.model import ADAPTERS_DIR, DEFAULT_ADAPTER

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "bench" / "results"
DEFAULT_REPORT, LONG_REPORT = RESULTS / "finetune.md", RESULTS / "finetune_long.md"
# variant name in its table -> (adapter folder, table)
SHIPPED = {
    "compact-sft": ("pricing-compact-sft", DEFAULT_REPORT),
    "sft": ("pricing-sft", LONG_REPORT),
    "sft+ppo": ("pricing-sft-ppo", LONG_REPORT),
    "sft+grpo": ("pricing-sft-grpo", LONG_REPORT),
}


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


def _pct(rows: dict[str, list[str]], policy: str) -> float:
    return float(rows[policy][1].split()[0])


@pytest.fixture(scope="module")
def reports() -> dict[Path, str]:
    for path in (DEFAULT_REPORT, LONG_REPORT):
        assert path.is_file(), f"{path.relative_to(ROOT)} is missing: run bench/finetune.py"
    return {path: path.read_text() for path in (DEFAULT_REPORT, LONG_REPORT)}


MIN_TASKS = {DEFAULT_REPORT: 200, LONG_REPORT: 200}  # issue 14: 200 test tasks


@pytest.mark.parametrize("path, policies", [
    (DEFAULT_REPORT, ("compact-sft", "toolbox", "gbm_picker", "toolbox_hindsight", "ts", "meta_ts", "oracle")),
    (LONG_REPORT, ("zero-shot", "sft", "sft+ppo", "sft+grpo", "ts", "meta_ts", "cils", "oracle")),
])
def test_reports_cover_their_variants_and_the_pricers_on_the_first_test_tasks(reports, path, policies):
    text = reports[path]
    rows = _table_rows(text)
    n = MIN_TASKS[path]
    for policy in policies:
        assert policy in rows, f"{policy} missing from {path.name}"
        assert int(rows[policy][0]) >= n, f"{path.name}: {policy} on fewer than {n} tasks"
    assert "T = 50" in text and "evaluation seed 0" in text
    assert re.search(r"The first \d+ tasks of the test split", text)


@pytest.mark.parametrize("variant", sorted(SHIPPED))
def test_report_was_made_with_the_shipped_weights(reports, variant):
    folder, path = SHIPPED[variant]
    tag = hashlib.sha256((ADAPTERS_DIR / folder / "adapter_model.safetensors").read_bytes()).hexdigest()[:10]
    listed = re.search(rf"- `{re.escape(variant)}`: \S+ \((\w+)\)", reports[path])
    assert listed, f"{variant}: no adapter line in {path.name}"
    assert listed.group(1) == tag, f"{variant}: {path.name} was made with other weights ({listed.group(1)} != {tag})"


@pytest.mark.parametrize("variant", sorted(SHIPPED))
def test_card_quotes_the_benchmark_number(reports, variant):
    folder, path = SHIPPED[variant]
    card = (ADAPTERS_DIR / folder / "README.md").read_text()
    pct = _table_rows(reports[path])[variant][1]  # e.g. "81.6 (77.9–84.9)"
    mean, interval = re.fullmatch(r"([\d.]+) \(([\d.]+–[\d.]+)\)", pct).groups()
    assert f"{mean}% of oracle profit (95% CI {interval})" in card, f"{folder}'s card disagrees with {pct}"


def test_default_adapter_is_the_best_benchmarked_one(reports):
    by_adapter = {folder: _pct(_table_rows(reports[path]), variant) for variant, (folder, path) in SHIPPED.items()}
    assert DEFAULT_ADAPTER in by_adapter
    assert by_adapter[DEFAULT_ADAPTER] >= max(by_adapter.values()) - 0.1

