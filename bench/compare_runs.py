"""What moved between two benchmark runs: per policy, new minus old % of oracle on the tasks both ran.

    .venv/bin/python bench/compare_runs.py OLD.json NEW.json

Reads two result files written by the evaluation benchmarks (`finetune.json`, `baselines.json`, ...)
and prints, for every policy in both, the paired difference over their common tasks with a 95%
bootstrap interval (the same tasks and noise seed make the per-task difference the thing to test).
Why a script: after a change to the market, the oracle or the generation path, the note must say
which numbers moved by more than their interval, and that is this table.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.baselines import paired_differences  # noqa: E402


def per_task(path: Path) -> pd.DataFrame:
    return pd.DataFrame(json.loads(path.read_text())["per_task"])[["policy", "task_id", "pct_oracle"]]


def compare(old: pd.DataFrame, new: pd.DataFrame) -> str:
    """A markdown table of new − old per policy, on the tasks both runs hold for that policy."""
    policies = [p for p in new.policy.unique() if p in set(old.policy)]
    frames = []
    for p in policies:
        common = set(old.task_id[old.policy == p]) & set(new.task_id[new.policy == p])
        for frame, tag in ((new, p), (old, f"{p} (old)")):
            rows = frame[(frame.policy == p) & frame.task_id.isin(common)]
            frames.append(rows.assign(policy=tag))
    both = pd.concat(frames, ignore_index=True)
    return paired_differences(both, [(p, f"{p} (old)") for p in policies])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("old", type=Path)
    ap.add_argument("new", type=Path)
    args = ap.parse_args()
    for path in (args.old, args.new):
        if not path.is_file():
            sys.exit(f"{path}: no such result file")
    old, new = per_task(args.old), per_task(args.new)
    tasks = len(set(old.task_id) & set(new.task_id))
    print(f"{tasks} common tasks; new = {args.new}, old = {args.old}\n")
    print(compare(old, new))


if __name__ == "__main__":
    main()
