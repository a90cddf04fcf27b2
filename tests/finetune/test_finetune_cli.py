import json

import pydantic
import pytest
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


def test_demos_reports_a_typo_against_the_schema_the_file_was_written_for(tmp_path):
    sft_typo = _quick(tmp_path, "sft.yaml", learning_rat=0.1)
    result = runner.invoke(app, ["finetune", "demos", "--config", sft_typo])
    assert result.exit_code == 2 and "learning_rat" in result.output
    bare = tmp_path / "demos.yaml"
    bare.write_text("n_taks: 3\n")
    result = runner.invoke(app, ["finetune", "demos", "--config", str(bare)])
    assert result.exit_code == 2 and "n_taks" in result.output


def test_every_shipped_config_is_valid():
    from finetune.config import RLRunConfig, SFTRunConfig, load_config

    files = sorted(CONFIGS.glob("*/*.yaml"))
    assert {f.parent.name for f in files} == {"cpu-quick", "cpu-default", "cpu-compact", "gpu", "collusion"}
    for f in files:
        load_config(f, SFTRunConfig if f.stem == "sft" else RLRunConfig)


def test_ship_copies_the_adapter_with_a_card(tmp_path, monkeypatch):
    from finetune import ship

    run = tmp_path / "sft"
    (run / "adapter").mkdir(parents=True)
    (run / "adapter" / "adapter_model.safetensors").write_bytes(b"weights")
    (run / "adapter" / "adapter_config.json").write_text(json.dumps(
        {"r": 4, "lora_alpha": 8, "target_modules": ["q_proj", "v_proj"]}))
    (run / "adapter" / "pricing.json").write_text('{"prompt": "compact"}\n')
    (run / "run.json").write_text(json.dumps({"command": "sft", "examples": 12, "global_step": 3,
                                              "config": {"seed": 7, "demos": {"n_tasks": 6, "split": "train"}}}))
    (run / "validation.jsonl").write_text(json.dumps({"step": 3, "pct_oracle": 71.25, "pct_oracle_median": 80.0,
                                                      "regret_pct": 28.75}) + "\n")
    monkeypatch.setattr(ship, "ADAPTERS", tmp_path / "adapters")
    monkeypatch.setattr(ship.ship_adapter, "__defaults__", (tmp_path / "adapters",))
    result = runner.invoke(app, ["finetune", "ship", "--adapter", str(run / "adapter"), "--name", "mine",
                                 "--stage", f"{run}=configs/finetune/cpu-default/sft.yaml", "--summary", "Hello."])
    assert result.exit_code == 0, result.output
    dest = tmp_path / "adapters" / "mine"
    assert (dest / "adapter_model.safetensors").read_bytes() == b"weights"
    from agent.model import adapter_layout
    assert adapter_layout(dest) == "compact"  # the prompt layout travels with the weights
    card = (dest / "README.md").read_text()
    assert "Hello." in card and "12 examples from 6" in card and "| 3 | 71.2 | 80.0 | 28.8 |" in card
    assert "labels are the true task's optimal price" in card  # the config's default label: the oracle's
    assert "pricing finetune sft --config configs/finetune/cpu-default/sft.yaml` (seed 7)" in card
    bad = runner.invoke(app, ["finetune", "ship", "--adapter", str(tmp_path), "--name", "x", "--stage", str(run)])
    assert bad.exit_code == 2 and "no adapter_model.safetensors" in bad.output


def test_the_card_names_the_label_the_demonstrations_used():
    from finetune.ship import _label_words

    assert _label_words({"label": "oracle"}) == "the true task's optimal price"
    assert "candidate worth most" in _label_words({"label": "best_candidate"})
    assert "rule" not in _label_words({"label": "best_candidate", "label_margin": 0.0})
    assert "over 0.2 x the oracle's value" in _label_words({"label": "best_candidate", "label_margin": 0.2})


def test_rollouts_can_come_from_a_scenario_preset():
    from finetune.config import RolloutSettings
    from finetune.rl import rollout_tasks

    duopoly = RolloutSettings(scenario="calvano_duopoly", rival="q_learning", tasks_per_round=2, horizon=30)
    first, second = rollout_tasks(duopoly, 0), rollout_tasks(duopoly, 1)
    assert [t.competitors[0].policy for t in first] == ["q_learning", "q_learning"]
    assert {t.seed for t in first}.isdisjoint({t.seed for t in second})  # fresh markets every round
    assert all(t.horizon == 30 for t in first + second)
    plain = rollout_tasks(RolloutSettings(tasks_per_round=2), 0)
    assert [t.task_id for t in plain] != [t.task_id for t in first]
    with pytest.raises(pydantic.ValidationError, match="unknown scenario"):
        RolloutSettings(scenario="moon_market")


def test_rl_configs_keep_each_algorithm_apart_and_name_moved_keys(tmp_path):
    from finetune.config import ConfigError, RLRunConfig, load_config

    cfg = load_config(CONFIGS / "cpu-compact" / "grpo.yaml", RLRunConfig)
    assert (cfg.grpo.num_generations, cfg.grpo.groups, cfg.grpo.scale_rewards) == (5, "candidates", "batch")
    assert cfg.ppo.epochs == 2  # the default: a GRPO run ignores it
    old = tmp_path / "old.yaml"
    old.write_text("rounds: 1\nppo_epochs: 3\nnum_generations: 4\n")
    with pytest.raises(ConfigError, match=r"ppo_epochs -> ppo.epochs.*num_generations -> grpo.num_generations"):
        load_config(old, RLRunConfig)
    uneven = tmp_path / "uneven.yaml"
    uneven.write_text("batch_size: 3\nppo: {mini_batches: 2}\n")
    with pytest.raises(ConfigError, match="ppo.mini_batches: 2 does not divide"):
        load_config(uneven, RLRunConfig)
