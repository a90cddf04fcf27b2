"""The run comparison pairs each policy with itself on the tasks both runs hold."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.compare_runs import compare  # noqa: E402


def test_new_minus_old_on_common_tasks_only():
    old = pd.DataFrame({"policy": ["ts"] * 3 + ["sft"] * 3, "task_id": ["a", "b", "c"] * 2,
                        "pct_oracle": [80.0, 90.0, 70.0, 60.0, 60.0, 60.0]})
    new = pd.DataFrame({"policy": ["ts"] * 2 + ["sft"] * 2 + ["only_new"], "task_id": ["a", "b", "a", "b", "a"],
                        "pct_oracle": [82.0, 92.0, 60.0, 55.0, 99.0]})
    table = compare(old, new)
    assert "| ts − ts (old) | +2.0 | +2.0 … +2.0 | 100% of tasks |" in table  # task c is in one run only
    assert "| sft − sft (old) | -2.5 |" in table and "only_new" not in table
