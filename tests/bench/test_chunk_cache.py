"""Chunk-cached benchmark rows: a resumed run equals one uninterrupted run and computes only what is missing."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.chunk_cache import cached_rows  # noqa: E402
from env.distribution import sample_task  # noqa: E402


def test_cached_rows_resume_to_the_rows_of_one_run(tmp_path, capsys):
    tasks = [sample_task("validation", i, 8) for i in range(5)]
    whole = cached_rows("ts", tasks, 8, 0, 5, tmp_path / "whole")
    calls = []
    first = cached_rows("ts", tasks[:2], 8, 0, 2, tmp_path / "parts", before_computing=lambda: calls.append(1))
    assert len(first) == 2 and calls == [1]
    capsys.readouterr()
    resumed = cached_rows("ts", tasks, 8, 0, 2, tmp_path / "parts", before_computing=lambda: calls.append(1))
    assert "tasks 2/5" not in capsys.readouterr().out  # the cached chunk was read, not recomputed
    assert calls == [1, 1] and sorted(p.name for p in (tmp_path / "parts").glob("*.json")) == [
        "validation-00000-validation-00001.json", "validation-00002-validation-00003.json",
        "validation-00004-validation-00004.json"]
    cols = ["task_id", "pct_oracle", "prices"]
    pd.testing.assert_frame_equal(resumed[cols], whole[cols])
    again = cached_rows("ts", tasks, 8, 0, 2, tmp_path / "parts", before_computing=lambda: calls.append(1))
    assert calls == [1, 1]  # nothing left to compute: no preparation either
    pd.testing.assert_frame_equal(again[cols], whole[cols])
