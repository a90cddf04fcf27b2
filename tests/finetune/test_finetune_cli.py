import json

import yaml
from typer.testing import CliRunner

from agent.cli import app
from tests.finetune.conftest import CONFIGS

runner = CliRunner()


def _quick(tmp_path, name: str, **update) -> str:
    cfg = yaml.safe_load((CONFIGS / "cpu-quick" / name).read_text())
    cfg.update(update)
    path = tmp_path / name
    path.write_text(yaml.safe_dump(cfg))
    return str(path)


def test_demos_command_writes_a_dataset(tmp_path):
    cfg = _quick(tmp_path, "sft.yaml", demos={"n_tasks": 3, "steps_per_episode": 2, "horizon": 8,
                                              "output": str(tmp_path / "demos")})
    result = runner.invoke(app, ["finetune", "demos", "--config", cfg])
    assert result.exit_code == 0, result.output
    assert "6 demonstrations from 3 train tasks (seed 0)" in result.output
    assert json.loads((tmp_path / "demos" / "generator.json").read_text())["rows"] == 6


def test_bad_configs_are_one_line_errors(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("rounds: -1\n")
    for command in ("sft", "ppo", "grpo"):
        result = runner.invoke(app, ["finetune", command, "--config", str(bad)])
        assert result.exit_code == 2
        assert result.output.startswith("error: config") and "Traceback" not in result.output
    result = runner.invoke(app, ["finetune", "sft", "--config", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 2 and "no such file" in result.output


def test_every_shipped_config_is_valid():
    from finetune.config import RLRunConfig, SFTRunConfig, load_config

    files = sorted(CONFIGS.glob("*/*.yaml"))
    assert {f.parent.name for f in files} == {"cpu-quick", "cpu-default", "gpu"}
    for f in files:
        load_config(f, SFTRunConfig if f.stem == "sft" else RLRunConfig)
