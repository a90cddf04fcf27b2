"""Run configurations for `pricing finetune {demos,sft,ppo,grpo}`, read from YAML.

One pydantic model per command, with defaults that suit this CPU machine; unknown keys are errors
(a typo in a config should stop the run, not be ignored). The YAML files under
`configs/finetune/<profile>/` set only what differs from these defaults: `cpu-quick` (minutes, used
by the tests), `cpu-compact` (what produced the shipped default adapter, `pricing-compact-sft`),
`cpu-default` (the long-prompt adapters `pricing-sft`, `-ppo`, `-grpo`) and `gpu` (more of everything).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from env.errors import describe_error


class ConfigError(ValueError):
    """A config file that cannot be used; the message names the file and the field."""


class _Config(BaseModel):
    model_config = ConfigDict(extra="forbid")


BEHAVIOURS = ("ts", "ils", "cost_plus", "evidence", "random", "noisy_oracle", "drift")


class DemoConfig(_Config):
    """How the demonstration dataset is generated (see `finetune.demonstrations`)."""

    split: Literal["train", "validation", "test"] = "train"
    n_tasks: int = Field(400, ge=1)
    first_task: int = Field(0, ge=0)
    horizon: int = Field(50, ge=1)
    steps_per_episode: int = Field(6, ge=1, description="decisions sampled from each behaviour episode")
    behaviours: list[str] = Field(default_factory=lambda: list(BEHAVIOURS))
    prompt: Literal["long", "compact"] = Field("long", description="prompt layout (agent.prompt.LAYOUTS): the "
                                               "long one with the evidence, or the compact one with the toolbox")
    label: Literal["oracle", "best_candidate"] = Field(
        "oracle", description="the answer's price: the oracle's (DPT), or the toolbox candidate worth most "
        "under the true task (a choice the compact prompt shows; finetune.demonstrations.best_candidate)")
    label_margin: float = Field(0.0, ge=0, le=1, description="best_candidate only: keep the toolbox rule's "
                                "candidate unless another is worth more by over this share of the oracle's "
                                "value per remaining period (ties carry no signal)")
    seed: int = 0
    output: str = "runs/demos"

    def model_post_init(self, __context) -> None:
        unknown = [b for b in self.behaviours if b not in BEHAVIOURS]
        if unknown or not self.behaviours:
            raise ValueError(f"behaviours: unknown {unknown} (choose from {', '.join(BEHAVIOURS)})")
        if self.label_margin and self.label != "best_candidate":
            raise ValueError("label_margin: only used with label: best_candidate")


class LoraSettings(_Config):
    r: int = Field(16, ge=1)
    alpha: int = Field(32, ge=1)
    dropout: float = Field(0.05, ge=0, lt=1)
    target_modules: list[str] = Field(default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj"])


class ValidationSettings(_Config):
    """Checkpoint evaluation with the env harness on the validation split (0 tasks: off)."""

    n_tasks: int = Field(8, ge=0)
    horizon: int = Field(20, ge=1)
    seed: int = 0
    batch_size: int = Field(16, ge=1)


class SFTRunConfig(_Config):
    model: str | None = None  # None: the embedded default model; "tiny-random" for tests
    dtype: str = "auto"  # bf16 on a bf16 GPU or an AMX CPU, else fp32 (agent.hardware.resolve_dtype)
    demos: DemoConfig = Field(default_factory=DemoConfig)
    output_dir: str = "runs/sft"
    lora: LoraSettings = Field(default_factory=LoraSettings)
    learning_rate: float = Field(2e-4, gt=0)
    epochs: float = Field(1.0, gt=0)
    max_steps: int = -1  # > 0 overrides epochs
    batch_size: int = Field(4, ge=1)
    gradient_accumulation_steps: int = Field(4, ge=1)
    max_length: int = Field(1024, ge=16)
    warmup_ratio: float = Field(0.03, ge=0, lt=1)
    save_steps: int = Field(50, ge=1)
    save_total_limit: int = Field(3, ge=1)
    logging_steps: int = Field(5, ge=1)
    seed: int = 0
    validation: ValidationSettings = Field(default_factory=ValidationSettings)


class RewardSettings(_Config):
    """The simulator reward (see `finetune.reward`)."""

    unparseable: float = Field(-1.0, description="reward of an answer with no usable price")
    clamp_penalty: float = Field(0.1, ge=0, description="subtracted when the guardrails had to move the price")
    collusion_penalty: float = Field(
        0.0, ge=0, description="on markets with logit rivals: subtracted per unit of relative price above the "
                               "static best response to the rivals' current prices (0: off). The per-period "
                               "reward already prefers the best response; this makes pricing above it, the "
                               "direction collusion takes, cost more than pricing below it")


class RolloutSettings(_Config):
    """Where RL prompts come from: episodes of the current policy on train tasks, every round.

    Which tasks a round plays is `finetune.rl.rollout_tasks(settings, round_index)`."""

    split: Literal["train", "validation", "test"] = "train"
    tasks_per_round: int = Field(8, ge=1)
    horizon: int = Field(50, ge=1)
    states_per_round: int = Field(32, ge=1, description="prompts drawn from the visited states per round")
    temperature: float = Field(0.7, ge=0, description="sampling temperature of the rollout policy")
    first_task: int = Field(10_000, ge=0, description="offset into the split, away from the SFT tasks")
    scenario: str | None = Field(
        None, description="roll out on this scenario preset (env.scenarios) instead of split tasks, one seed "
                          "per task, e.g. calvano_duopoly to train and audit duopoly behaviour")
    rival: str = Field("best_response", description="calvano_duopoly only: the rival's kind or pricer name")

    @field_validator("scenario")
    @classmethod
    def _known_scenario(cls, name: str | None) -> str | None:
        from env.scenarios import SCENARIOS

        if name is not None and name not in SCENARIOS:
            raise ValueError(f"unknown scenario '{name}' (choose from {', '.join(SCENARIOS)})")
        return name


class PPOSettings(_Config):
    """PPO only (TRL's PPOTrainer; `finetune.rl.ppo_round`)."""

    epochs: int = Field(2, ge=1, description="passes over each round's rollout batch (TRL num_ppo_epochs)")
    mini_batches: int = Field(1, ge=1, description="mini-batches per batch (TRL num_mini_batches); must divide "
                                                   "batch_size x gradient_accumulation_steps")


class GRPOSettings(_Config):
    """GRPO only (TRL's GRPOTrainer; `finetune.rl.grpo_round`)."""

    num_generations: int = Field(4, ge=2, description="answers per prompt: the group its advantages compare")
    groups: Literal["sampled", "candidates"] = Field(
        "sampled", description="the answers per prompt: `sampled` from the model at `temperature`; "
                               "`candidates` (compact prompt only): the toolbox's candidate answers themselves, "
                               "cycled to fill `num_generations`, so every group holds every action the "
                               "policy can take and its advantages are never all zero")
    scale_rewards: Literal["group", "batch", "none"] = Field(
        "group", description="advantage scaling: `group` divides by each group's std (a group whose answers "
                             "differ by 0.001 of the oracle value then pushes as hard as one that differs by "
                             "0.3), `batch` by the whole batch's std (keeps how much is at stake), `none` not")


# keys of the flat RL configs before issue 15, and where they live now
_MOVED = {"ppo_epochs": "ppo.epochs", "mini_batches": "ppo.mini_batches", "num_generations": "grpo.num_generations",
          "groups": "grpo.groups", "scale_rewards": "grpo.scale_rewards"}


class RLRunConfig(_Config):
    """Shared by PPO and GRPO: rounds of (roll out, train on the visited states, validate); each
    algorithm's own settings in `ppo` and `grpo` (the other's are ignored)."""

    model: str | None = None
    dtype: str = "auto"
    init_adapter: str | None = None  # the SFT adapter to start from (and, for PPO, the KL reference)
    output_dir: str = "runs/rl"
    lora: LoraSettings = Field(default_factory=LoraSettings)
    rounds: int = Field(4, ge=1)
    rollout: RolloutSettings = Field(default_factory=RolloutSettings)
    reward: RewardSettings = Field(default_factory=RewardSettings)
    learning_rate: float = Field(1e-5, gt=0)
    batch_size: int = Field(4, ge=1)
    gradient_accumulation_steps: int = Field(1, ge=1)
    response_length: int = Field(32, ge=4, description="new tokens per sampled answer")
    temperature: float = Field(0.7, gt=0, description="sampling temperature while training")
    kl_coef: float = Field(0.05, ge=0, description="weight of the KL penalty to the reference (PPO kl_coef, GRPO beta)")
    epochs_per_round: float = Field(1.0, gt=0)
    ppo: PPOSettings = Field(default_factory=PPOSettings)
    grpo: GRPOSettings = Field(default_factory=GRPOSettings)
    seed: int = 0
    validation: ValidationSettings = Field(default_factory=ValidationSettings)

    @model_validator(mode="before")
    @classmethod
    def _moved_keys(cls, raw):
        moved = [k for k in _MOVED if isinstance(raw, dict) and k in raw]
        if moved:
            where = ", ".join(f"{k} -> {_MOVED[k]}" for k in moved)
            raise ValueError(f"{', '.join(moved)}: moved into the algorithm's section ({where}), e.g. "
                             "`ppo: {epochs: 2, mini_batches: 1}` or `grpo: {num_generations: 4}`")
        return raw

    @model_validator(mode="after")
    def _mini_batches_divide_the_batch(self) -> RLRunConfig:
        if (self.batch_size * self.gradient_accumulation_steps) % self.ppo.mini_batches:
            raise ValueError(f"ppo.mini_batches: {self.ppo.mini_batches} does not divide batch_size x "
                             f"gradient_accumulation_steps = {self.batch_size * self.gradient_accumulation_steps}")
        return self


def load_config(path: str | Path, kind: type[_Config]) -> _Config:
    """Reads and validates a YAML config; relative paths in it stay relative to the working directory."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config {path}: no such file")
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as err:
        raise ConfigError(f"config {path}: not valid YAML ({err})") from err
    if not isinstance(raw, dict):
        raise ConfigError(f"config {path}: expected a mapping of settings at the top level")
    try:
        return kind.model_validate(raw)
    except ValidationError as err:
        raise ConfigError(f"config {path}: {describe_error(err, 'config')}") from err
