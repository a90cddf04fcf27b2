"""Scoring a catalog past one process: the chunks of `score_files` priced by Ray workers.

`pricing score ... --engine ray [--address ADDR] [--workers N]`. This process still reads and partitions
the catalog, keeps the resumable parts and writes the output; each worker (a Ray actor) loads the policy
once and prices whole chunks with the same `score_items` the local engine runs, so the output file is
the local engine's, row for row and byte for byte (`tests/agent/test_ray_engine.py`), and a killed run
resumes from its parts like a local one.

Why an actor pool and not Ray Data's `map_batches`: Ray Data wants its source in memory or in files it
reads itself, while the catalog reader here already streams and partitions the catalog by SKU (a
10-million-row history never sits in memory); `ray.util.ActorPool` takes that stream lazily, keeps every
worker busy and hands back chunks as they finish. Only the row items travel (a few KB per chunk), so the
workers need no shared disk.

With `address=None` a local Ray instance is started with `workers` CPUs; `address="auto"` or
`"ray://host:10001"` joins an existing cluster (start one with `ray start --head` on a machine, then
`ray start --address=HEAD:6379` on the others; every node needs this project installed). Each worker
asks Ray for `cpus_per_worker` CPUs (and `gpus_per_worker` GPUs, where a cluster has them: the LLM policy
then loads on the worker's GPU as it would locally).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

from agent.catalog.scoring import load_policy, score_items


class _ChunkWorker:
    """One Ray actor: the policy loaded once, then chunk after chunk."""

    def __init__(self, policy: str, model: str | None, adapter: str | None, batch_size: int, threads: int):
        try:
            import torch

            torch.set_num_threads(threads)  # workers sharing a machine must not each take every core
        except ImportError:  # pragma: no cover - torch is a dependency
            pass
        self.policy = load_policy(policy, model, adapter)
        self.batch_size = batch_size

    def score(self, k: int, items: list) -> tuple[int, list[dict]]:
        return k, score_items(items, self.policy, self.batch_size)


class RayEngine:
    """A `agent.catalog.stream.ChunkEngine` on Ray: call it with the chunks, iterate the scored ones."""

    def __init__(self, policy: str = "llm", model: str | None = None, adapter: str | None = None,
                 batch_size: int = 16, workers: int = 2, address: str | None = None,
                 cpus_per_worker: float = 1.0, gpus_per_worker: float = 0.0):
        try:
            import ray
        except ImportError as err:
            raise RuntimeError("the ray engine needs Ray: pip install 'ray>=2.50' (make install does)") from err
        if workers < 1:
            raise ValueError("workers: must be at least 1")
        self.ray = ray
        if not ray.is_initialized():
            if address is None:
                ray.init(num_cpus=max(workers * cpus_per_worker, 1), include_dashboard=False,
                         log_to_driver=False, configure_logging=False)
            else:
                ray.init(address=address, log_to_driver=False, configure_logging=False)
        threads = max(1, int(cpus_per_worker)) if address else max(1, (os.cpu_count() or 1) // workers)
        actor = ray.remote(num_cpus=cpus_per_worker, num_gpus=gpus_per_worker)(_ChunkWorker)
        self.actors = [actor.remote(policy, model, adapter, batch_size, threads) for _ in range(workers)]

    def __call__(self, chunks: Iterator[tuple[int, list]]) -> Iterator[tuple[int, list[dict]]]:
        from ray.util import ActorPool

        pool = ActorPool(self.actors)
        yield from pool.map_unordered(lambda actor, chunk: actor.score.remote(*chunk), chunks)

    def close(self) -> None:
        for actor in self.actors:
            self.ray.kill(actor)
        self.actors = []
