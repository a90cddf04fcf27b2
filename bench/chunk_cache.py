"""Per-task rows of one policy over many tasks, computed chunk by chunk and cached on disk.

Why: an LLM policy costs about a second a decision here, so a 200-task benchmark takes hours; each
chunk (one lock-step batch) is written atomically as it finishes, so a run cut short resumes where
it stopped and still gives the numbers of one uninterrupted run. A cache remembers the code that
filled it (`agent.provenance.code_fingerprint`): after any change to `env/` or `agent/` (the prompt, generation, the
market) its chunks are recomputed, never served as if the new code had made them.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd

from agent.provenance import code_fingerprint
from env.evaluation import Factories, evaluate


def cached_rows(name: str, tasks: list, horizon: int, seed: int, chunk_size: int, cache: Path,
                before_computing: Callable[[], None] | None = None,
                factories: Factories | None = None) -> pd.DataFrame:
    """Rows of the policy `name` (an entry of `factories`, or a classical pricer) on `tasks`, one cached
    JSON file per chunk under `cache`.

    `before_computing` runs once, before the first chunk that is not cached yet (e.g. to place the
    model on a GPU), and not at all when every chunk is.
    """
    cache.mkdir(parents=True, exist_ok=True)
    stamp, code = cache / "code.txt", code_fingerprint()
    if stamp.is_file() and stamp.read_text().strip() != code:
        stale = sorted(cache.glob("*.json"))
        print(f"{name}: {len(stale)} cached chunks were made by other code; recomputing", flush=True)
        for path in stale:
            path.unlink()
    stamp.write_text(code + "\n")
    frames, prepared = [], False
    for start in range(0, len(tasks), chunk_size):
        chunk = tasks[start:start + chunk_size]
        path = cache / f"{chunk[0].task_id}-{chunk[-1].task_id}.json"
        if not path.is_file():
            if before_computing is not None and not prepared:
                before_computing()
                prepared = True
            result = evaluate([name], tasks=chunk, horizon=horizon, seed=seed, workers=1, batch_size=len(chunk),
                              factories=factories)
            rows = result.per_task[result.per_task.policy == name]
            tmp = path.with_suffix(".tmp")
            tmp.write_text(rows.to_json(orient="records"))
            tmp.replace(path)
            print(f"{name}: tasks {start + len(chunk)}/{len(tasks)} done", flush=True)
        frames.append(pd.read_json(path, orient="records"))
    return pd.concat(frames, ignore_index=True)
