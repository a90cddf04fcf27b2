"""`pricing finetune ...`: demonstrations, SFT, PPO and GRPO, each driven by one YAML config.

Configs live in `configs/finetune/<profile>/{sft,ppo,grpo}.yaml` (profiles: cpu-quick, cpu-compact, cpu-default,
gpu). Every command resumes where a killed run stopped when pointed at the same output folder.
Multi-GPU: `accelerate launch -m finetune.cli sft --config configs/finetune/gpu/sft.yaml`.
"""

from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer(help="Fine-tune the pricing meta-policy (LoRA SFT, then PPO or GRPO in the simulated market).",
                  no_args_is_help=True, pretty_exceptions_enable=False, add_completion=False)

CONFIG = typer.Option(..., "--config", "-c", help="YAML run config, e.g. configs/finetune/cpu-default/sft.yaml.")


def _guard():
    from agent.cli_support import user_errors

    return user_errors()


def register(root: typer.Typer) -> None:
    """Adds this group to the `pricing` app as `pricing finetune` (entry point `pricing.commands`)."""
    root.add_typer(app, name="finetune")


@app.command()
def demos(config: Path = CONFIG,
          output: Path | None = typer.Option(None, help="Where to save the dataset (default: the config's).")) -> None:
    """Generate the demonstration dataset of an SFT config (or a bare demos config)."""
    from finetune.config import DemoConfig, SFTRunConfig, load_config
    from finetune.demonstrations import generate_demonstrations, save_demonstrations

    with _guard():
        # the schema is chosen by the file's shape, so a typo is reported against the schema it was meant for
        if _top_level_keys(config) & (set(SFTRunConfig.model_fields) - set(DemoConfig.model_fields)):
            cfg = load_config(config, SFTRunConfig).demos
        else:
            cfg = load_config(config, DemoConfig)
        dataset = generate_demonstrations(cfg)
        out = save_demonstrations(dataset, cfg, output)
    typer.echo(f"{len(dataset)} demonstrations from {cfg.n_tasks} {cfg.split} tasks (seed {cfg.seed}) -> {out}")


def _top_level_keys(path: Path) -> set[str]:
    """The YAML file's top-level keys (empty when unreadable: `load_config` then reports the problem)."""
    import yaml

    try:
        raw = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError):
        return set()
    return set(raw) if isinstance(raw, dict) else set()


@app.command()
def sft(config: Path = CONFIG) -> None:
    """Supervised fine-tuning of a LoRA adapter on expert demonstrations (TRL SFTTrainer)."""
    from finetune.config import SFTRunConfig, load_config
    from finetune.sft import run_sft

    with _guard():
        cfg = load_config(config, SFTRunConfig)
        adapter = run_sft(cfg)
    typer.echo(f"SFT adapter -> {adapter}")


@app.command()
def reader(config: Path = CONFIG) -> None:
    """Train the chat's message reader: a LoRA that copies a merchant's message into facts (issue 16)."""
    from finetune.config import load_config
    from finetune.message_reader import ReaderRunConfig, run_reader_sft

    with _guard():
        cfg = load_config(config, ReaderRunConfig)
        adapter = run_reader_sft(cfg)
    typer.echo(f"message reader adapter -> {adapter}")


def _rl(config: Path, algorithm: str) -> None:
    from finetune.config import RLRunConfig, load_config
    from finetune.rl import run_rl

    with _guard():
        cfg = load_config(config, RLRunConfig)
        adapter = run_rl(cfg, algorithm)
    typer.echo(f"{algorithm.upper()} adapter (combined with its starting adapter) -> {adapter}")


@app.command()
def ppo(config: Path = CONFIG) -> None:
    """PPO in the simulated market (TRL's PPOTrainer; reward model = the simulator)."""
    _rl(config, "ppo")


@app.command()
def grpo(config: Path = CONFIG) -> None:
    """GRPO in the simulated market (TRL's GRPOTrainer; reward function = the simulator)."""
    _rl(config, "grpo")


@app.command()
def ship(adapter: Path = typer.Option(..., help="The trained adapter folder (e.g. runs/cpu-default/ppo/adapter)."),
         name: str = typer.Option(..., help="Folder name under agent/adapters/."),
         stage: list[str] = typer.Option(..., help="RUN_DIR=CONFIG for each training stage, in order."),
         summary: str = typer.Option("", help="One paragraph for the top of the adapter card.")) -> None:
    """Copy a trained adapter into agent/adapters/NAME with an adapter card built from its runs."""
    from finetune.ship import ship_adapter

    with _guard():
        stages = []
        for item in stage:
            run_dir, _, config = item.partition("=")
            if not Path(run_dir).is_dir():
                raise ValueError(f"stage: {run_dir} is not a run folder")
            stages.append((Path(run_dir), Path(config) if config else None))
        if not (adapter / "adapter_model.safetensors").is_file():
            raise ValueError(f"adapter: {adapter} has no adapter_model.safetensors")
        dest = ship_adapter(adapter, name, stages, summary)
    typer.echo(f"shipped -> {dest}")


if __name__ == "__main__":
    app()
