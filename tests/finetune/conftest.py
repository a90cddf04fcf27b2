"""Quick configs on the tiny model, redirected into a temporary folder."""

from pathlib import Path

import pytest

from finetune.config import RLRunConfig, SFTRunConfig, load_config

CONFIGS = Path(__file__).resolve().parents[2] / "configs" / "finetune"


@pytest.fixture
def quick_sft(tmp_path) -> SFTRunConfig:
    cfg = load_config(CONFIGS / "cpu-quick" / "sft.yaml", SFTRunConfig)
    demos = cfg.demos.model_copy(update={"output": str(tmp_path / "demos")})
    return cfg.model_copy(update={"output_dir": str(tmp_path / "sft"), "demos": demos})


@pytest.fixture
def quick_rl(tmp_path):
    def make(algorithm: str, init_adapter: str | None, **update) -> RLRunConfig:
        cfg = load_config(CONFIGS / "cpu-quick" / f"{algorithm}.yaml", RLRunConfig)
        return cfg.model_copy(update={"output_dir": str(tmp_path / algorithm), "init_adapter": init_adapter, **update})

    return make
