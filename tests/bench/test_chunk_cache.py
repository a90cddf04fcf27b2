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


def test_a_cache_made_by_other_code_is_recomputed(tmp_path, monkeypatch, capsys):
    """A prompt or market change must not be served stale decisions from an old cache."""
    import bench.chunk_cache as chunk_cache

    tasks = [sample_task("validation", i, 6) for i in range(2)]
    calls = []
    cached_rows("ts", tasks, 6, 0, 2, tmp_path, before_computing=lambda: calls.append(1))
    cached_rows("ts", tasks, 6, 0, 2, tmp_path, before_computing=lambda: calls.append(1))
    assert calls == [1]
    monkeypatch.setattr(chunk_cache, "code_fingerprint", lambda: "other-code")
    capsys.readouterr()
    rows = cached_rows("ts", tasks, 6, 0, 2, tmp_path, before_computing=lambda: calls.append(1))
    assert calls == [1, 1] and "1 cached chunks were made by other code" in capsys.readouterr().out
    assert (tmp_path / "code.txt").read_text().strip() == "other-code" and len(rows) == 2
