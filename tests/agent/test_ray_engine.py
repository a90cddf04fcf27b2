"""The Ray engine writes the local engine's file, byte for byte, on a local two-worker Ray cluster, and a run
cut after some chunks resumes from its parts."""

from __future__ import annotations

import pytest

ray = pytest.importorskip("ray", reason="the ray engine's test needs Ray (make install installs it)")

from agent.catalog import load_policy, score_files  # noqa: E402
from agent.catalog.ray_engine import RayEngine  # noqa: E402
from agent.demo_catalog import demo_catalog_paths  # noqa: E402

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def engine():
    runner = RayEngine("evidence", workers=2)  # starts a local Ray instance with 2 CPUs
    yield runner
    runner.close()
    ray.shutdown()


def test_ray_and_local_engines_write_the_same_file(engine, tmp_path):
    products, history = demo_catalog_paths()
    local = score_files(products, history, tmp_path / "local.csv", load_policy("evidence"), chunk_size=8,
                        progress=False)
    remote = score_files(products, history, tmp_path / "ray.csv", load_policy("evidence"), chunk_size=8,
                         progress=False, engine=engine)
    assert remote.rows == local.rows == 50 and remote.scored == local.scored
    assert (tmp_path / "ray.csv").read_bytes() == (tmp_path / "local.csv").read_bytes()


def test_a_cut_ray_run_resumes_from_its_parts(engine, tmp_path):
    products, history = demo_catalog_paths()
    out = tmp_path / "ray.csv"

    def cut_after_two(chunks):
        for n, scored in enumerate(engine(chunks)):
            if n == 2:
                raise KeyboardInterrupt  # Ctrl-C while the third chunk comes back
            yield scored

    with pytest.raises(KeyboardInterrupt):
        score_files(products, history, out, load_policy("evidence"), chunk_size=8, progress=False,
                    engine=cut_after_two)
    resumed = score_files(products, history, out, load_policy("evidence"), chunk_size=8, progress=False,
                          engine=engine)
    assert resumed.resumed_chunks == 2 and resumed.rows == 50
    score_files(products, history, tmp_path / "local.csv", load_policy("evidence"), chunk_size=8, progress=False)
    assert out.read_bytes() == (tmp_path / "local.csv").read_bytes()
