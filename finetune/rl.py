"""RL in the simulated market: PPO (TRL's experimental PPOTrainer) or GRPO (TRL's GRPOTrainer).

Read top to bottom. A run is a sequence of rounds; each round
1. rolls out the *current* policy (sampling at `rollout.temperature`) on fresh train-split tasks,
   recording every decision state it visits, so the policy trains on the states it reaches;
2. draws `rollout.states_per_round` of those states and renders them with the agent's prompt, in the
   layout the starting adapter was trained on (the compact one lists the toolbox's candidates; its
   rollouts choose among them, and every round's adapter keeps the layout);
3. trains on them: PPO with the simulator as reward *model* and a value model, KL-penalised
   towards the starting (SFT) policy; or GRPO with the simulator as reward *function*
   (`grpo.num_generations` answers per prompt, group-relative advantages; with `grpo.groups: candidates` the
   answers are the toolbox's candidates themselves, `CandidateRollout`), with the same KL anchor;
4. saves the round's LoRA, evaluates it on the validation split with the env harness, and logs
   reward and validation numbers side by side (TensorBoard `<output_dir>/tb`, `rounds.jsonl`).

The starting adapter (SFT) is merged into the base weights and RL trains a fresh LoRA on top, so
"adapter disabled" is exactly the SFT policy: the KL reference of both algorithms. The final
adapter (`<output_dir>/adapter`) folds both LoRAs into one exact adapter (`combine_adapters`).

Resuming: progress is committed after every round (adapter, value model, `progress.json`); a
killed run restarts at the first unfinished round. The unfinished round is redone from its start.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from datasets import Dataset
from tqdm import tqdm

from agent.generation import LoadedModel
from agent.model import adapter_layout
from agent.policy import LLMPolicy
from env.episode import play_episodes, start_market
from env.task import TaskSpec
from finetune.config import RLRunConfig, RolloutSettings
from finetune.market_states import DecisionState, OracleScorer, snapshot
from finetune.reward import SimulatorReward, SimulatorRewardFunction, SimulatorRewardModel
from finetune.training import (
    base_with_adapter_merged,
    combine_adapters,
    hardware_flags,
    lora_config,
    save_adapter,
    save_json_atomic,
    validate,
)

Algorithm = Literal["ppo", "grpo"]


# --------------------------------------------------------------------------- rollouts


def rollout_tasks(settings: RolloutSettings, round_index: int) -> list[TaskSpec]:
    """A round's tasks: fresh ones every round, never the SFT tasks (split tasks, or seeds of a scenario)."""
    from env.distribution import sample_task
    from env.scenarios import make_scenario

    first = settings.first_task + round_index * settings.tasks_per_round
    indices = range(first, first + settings.tasks_per_round)
    if settings.scenario is None:
        return [sample_task(settings.split, i, settings.horizon) for i in indices]
    extra = {"rival": settings.rival} if settings.scenario == "calvano_duopoly" else {}
    return [make_scenario(settings.scenario, horizon=settings.horizon, seed=i, **extra) for i in indices]


def collect_states(policy: LLMPolicy, cfg: RLRunConfig, round_index: int,
                   scorer: OracleScorer) -> tuple[list[DecisionState], float]:
    """Plays the policy on this round's tasks in lock-step (the harness's episode loop); every visited
    state, and the mean oracle-relative value of the prices it chose (1 = the oracle's choices)."""
    tasks = rollout_tasks(cfg.rollout, round_index)
    seeds = np.random.SeedSequence([cfg.seed, round_index, 0x7A5]).generate_state(len(tasks)).tolist()
    markets = [start_market(t, int(s)) for t, s in zip(tasks, seeds, strict=True)]
    policy.reset(int(seeds[0]))
    states, values = [], []

    def record(i, market, context, price) -> None:  # before the market moves: the state the price met
        state = snapshot(market, context)
        states.append(state)
        values.append(scorer.relative(state, price))

    bar = tqdm(total=sum(t.horizon for t in tasks), desc=f"rollout round {round_index + 1}", unit="decision",
               disable=not os.environ.get("PRICING_PROGRESS", "1") == "1")
    play_episodes(policy, markets, batched=True, on_step=record, progress=bar)
    bar.close()
    return states, float(np.mean(values))


def draw_states(states: list[DecisionState], n: int, seed: int) -> list[DecisionState]:
    rng = np.random.default_rng(seed)
    picks = rng.choice(len(states), size=min(n, len(states)), replace=False)
    return [states[i] for i in sorted(picks)]


def prompt_messages(state: DecisionState, layout: str = "long") -> list[dict]:
    """The state in the prompt layout the starting adapter was trained on (`agent.prompt.LAYOUTS`)."""
    if layout == "compact":
        return compact_prompt_and_answers(state)[0]
    from agent.evidence import compute_evidence
    from agent.prompt import render_messages

    return render_messages(state.context, compute_evidence(state.context))


def prompt_ids(tokenizer, messages: list[dict]) -> list[int]:
    text = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    return tokenizer(text, add_special_tokens=False)["input_ids"]


# --------------------------------------------------------------------------- one round of each algorithm


def _common_args(cfg: RLRunConfig, out: Path) -> dict:
    return dict(output_dir=str(out), learning_rate=cfg.learning_rate, seed=cfg.seed, logging_steps=1,
                report_to=["tensorboard"], save_strategy="no", gradient_checkpointing=False,
                disable_tqdm=True, **hardware_flags(cfg.dtype))


def value_model_for(policy_base) -> torch.nn.Module:
    """PPO's critic: the (merged) base model's backbone with a scalar head, trained in full."""
    from transformers import AutoModelForSequenceClassification

    config = policy_base.config.__class__.from_dict(policy_base.config.to_dict())
    config.num_labels = 1
    critic = AutoModelForSequenceClassification.from_config(config)
    getattr(critic, critic.base_model_prefix).load_state_dict(
        getattr(policy_base, policy_base.base_model_prefix).state_dict())
    return critic.to(policy_base.dtype)


def ppo_round(policy, tokenizer, value_model, states: list[DecisionState], cfg: RLRunConfig, reward: SimulatorReward,
              out: Path, layout: str = "long") -> list[dict]:
    from trl.experimental.ppo import PPOConfig, PPOTrainer

    reward_model = SimulatorRewardModel(tokenizer, reward)
    rows = []
    for state in states:
        ids = prompt_ids(tokenizer, prompt_messages(state, layout))
        reward_model.register(ids, state)
        rows.append({"input_ids": ids})
    dataset = Dataset.from_list(rows)
    args = PPOConfig(
        **_common_args(cfg, out), per_device_train_batch_size=cfg.batch_size,
        gradient_accumulation_steps=cfg.gradient_accumulation_steps, num_mini_batches=cfg.ppo.mini_batches,
        num_ppo_epochs=cfg.ppo.epochs, total_episodes=int(round(len(dataset) * cfg.epochs_per_round)),
        response_length=cfg.response_length, temperature=cfg.temperature, kl_coef=cfg.kl_coef,
        stop_token="eos", num_sample_generations=0, local_rollout_forward_batch_size=cfg.batch_size,
    )
    trainer = PPOTrainer(args=args, processing_class=tokenizer, model=policy, ref_model=None,
                         reward_model=reward_model, train_dataset=dataset, value_model=value_model)
    trainer.train()
    return [h for h in trainer.state.log_history if "objective/scores" in h]


def compact_prompt_and_answers(state: DecisionState) -> tuple[list[dict], list[str]]:
    """The compact prompt of a state and the answers the policy can give there (`PRICE: x` for each of
    the toolbox's candidates, the strings `LLMPolicy` holds its decoding to), from one toolbox."""
    from agent.candidates import build_toolbox
    from agent.prompt import compact_answer, render_compact

    box = build_toolbox(state.context)
    return render_compact(state.context, box), [compact_answer(c.price) for c in box.candidates]


class CandidateRollout:
    """TRL `rollout_func` for `grpo.groups: candidates`: the group of a prompt is its candidate answers.

    Why: the compact SFT policy picks the toolbox's rule in nearly every state, so answers sampled
    from it agree and GRPO's group-relative advantages are zero: nothing to learn from. Enumerating
    the candidates instead gives every group the full action set, each answer rewarded with its
    oracle-relative value, so the update raises the candidates worth more than the group's mean and
    lowers the others, while the KL term holds the policy near SFT. TRL hands over each prompt
    `grpo.num_generations` times in a row; the k-th copy gets candidate k (cycled when there are fewer).
    The sampling log-probabilities TRL asks for are only read for vLLM's importance correction,
    which is off here: zeros stand in for them.
    """

    def __init__(self, tokenizer, answers: dict[str, list[str]]):
        self.tokenizer, self.answers = tokenizer, answers
        self.end = tokenizer.eos_token_id

    def __call__(self, prompts: list, trainer=None) -> dict:
        seen: dict[str, int] = {}
        prompt_rows, completion_rows = [], []
        for messages in prompts:
            key = messages[-1]["content"]
            options = self.answers[key]
            k = seen.get(key, 0)
            seen[key] = k + 1
            prompt_rows.append(prompt_ids(self.tokenizer, messages))
            answer = options[k % len(options)]
            completion_rows.append(self.tokenizer(answer, add_special_tokens=False)["input_ids"] + [self.end])
        return {"prompt_ids": prompt_rows, "completion_ids": completion_rows,
                "logprobs": [[0.0] * len(row) for row in completion_rows]}


def grpo_round(policy, tokenizer, states: list[DecisionState], cfg: RLRunConfig, reward: SimulatorReward,
               out: Path, layout: str = "long") -> list[dict]:
    from trl import GRPOConfig, GRPOTrainer

    rollout_func = None
    if cfg.grpo.groups == "candidates":
        if layout != "compact":
            raise ValueError("grpo.groups: candidates needs a compact-prompt starting adapter (its answers are the "
                             "toolbox's candidates); this run's layout is " + layout)
        rendered = {s.key: compact_prompt_and_answers(s) for s in states}
        states = [s for s in states if len(set(rendered[s.key][1])) > 1]  # one possible answer: nothing to compare
        messages = {s.key: rendered[s.key][0] for s in states}
        rollout_func = CandidateRollout(tokenizer, {messages[s.key][-1]["content"]: rendered[s.key][1]
                                                    for s in states})
    else:
        messages = {s.key: prompt_messages(s, layout) for s in states}
    registry = {s.key: s for s in states}
    dataset = Dataset.from_list([{"prompt": messages[s.key], "state_key": s.key} for s in states])
    args = GRPOConfig(
        **_common_args(cfg, out), per_device_train_batch_size=cfg.grpo.num_generations,
        gradient_accumulation_steps=cfg.batch_size, num_generations=cfg.grpo.num_generations,
        max_completion_length=cfg.response_length, temperature=cfg.temperature, beta=cfg.kl_coef,
        num_train_epochs=cfg.epochs_per_round, log_completions=False, top_k=0, top_p=1.0,
        scale_rewards=cfg.grpo.scale_rewards,
    )
    trainer = GRPOTrainer(model=policy, reward_funcs=[SimulatorRewardFunction(reward, registry)], args=args,
                          train_dataset=dataset, processing_class=tokenizer, rollout_func=rollout_func)
    # TRL copies the current LoRA into a "ref" adapter as the KL reference. Zeroing its B factors
    # makes the reference the merged SFT model itself, the same anchor in every round (as in PPO).
    with torch.no_grad():
        for name, param in policy.named_parameters():
            if ".ref." in name and "lora_B" in name:
                param.zero_()
    trainer.train()
    return [h for h in trainer.state.log_history if "reward" in h]


# --------------------------------------------------------------------------- the run


def _mean_reward(logs: list[dict], algorithm: Algorithm) -> float:
    key = "objective/scores" if algorithm == "ppo" else "reward"
    values = [h[key] for h in logs if key in h]
    return float(np.mean(values)) if values else float("nan")


def run_rl(cfg: RLRunConfig, algorithm: Algorithm) -> Path:
    """Trains (or resumes) an RL run; returns the final combined adapter folder."""
    from peft import PeftModel, get_peft_model
    from torch.utils.tensorboard import SummaryWriter

    out = Path(cfg.output_dir)
    rounds_dir = out / "rounds"
    rounds_dir.mkdir(parents=True, exist_ok=True)
    progress_file = out / "progress.json"
    progress = json.loads(progress_file.read_text()) if progress_file.is_file() else {"rounds_done": 0}
    same_run = (progress.get("algorithm", algorithm) == algorithm
                and progress.get("config", cfg.model_dump()) == cfg.model_dump())
    if not same_run:
        raise ValueError(f"output_dir {out}: holds a different run; use a new output_dir or delete it")
    done = int(progress["rounds_done"])

    lm = base_with_adapter_merged(cfg.model, cfg.init_adapter, cfg.dtype)
    layout = adapter_layout(Path(cfg.init_adapter)) if cfg.init_adapter else "long"  # RL keeps the SFT's prompt
    tokenizer = lm.tokenizer
    tokenizer.padding_side = "left"
    value_model = None
    if algorithm == "ppo":
        value_model = value_model_for(lm.model)
        saved = out / "value-model" / "model.safetensors"
        if done and saved.is_file():
            from safetensors.torch import load_file

            value_model.load_state_dict(load_file(str(saved)))
    torch.manual_seed(cfg.seed)  # LoRA initialisation (LoRA wraps the base in place: after the critic copy)
    if done:
        policy = PeftModel.from_pretrained(lm.model, str(rounds_dir / f"round-{done:03d}"), is_trainable=True)
    else:
        policy = get_peft_model(lm.model, lora_config(cfg.lora))
    scorer = OracleScorer()
    reward = SimulatorReward(cfg.reward, scorer)
    os.environ["TENSORBOARD_LOGGING_DIR"] = str(out / "tb" / "trainer")
    writer = SummaryWriter(str(out / "tb" / "rounds"))
    playing = LoadedModel(model=policy, tokenizer=tokenizer, model_id="rl", adapter_id="training", dtype=lm.dtype,
                          prompt_layout=layout)
    for k in range(done, cfg.rounds):
        policy.eval()
        rollout_policy = LLMPolicy(lm=playing, temperature=cfg.rollout.temperature,
                                   max_new_tokens=cfg.response_length)
        visited, rollout_value = collect_states(rollout_policy, cfg, k, scorer)
        states = draw_states(visited, cfg.rollout.states_per_round, seed=cfg.seed * 1000 + k)
        policy.train()
        trainer_out = out / "trainer" / f"round-{k + 1:03d}"
        if algorithm == "ppo":
            logs = ppo_round(policy, tokenizer, value_model, states, cfg, reward, trainer_out, layout)
        else:
            logs = grpo_round(policy, tokenizer, states, cfg, reward, trainer_out, layout)
        if "ref" in policy.peft_config:  # GRPO's reference copy: dropped so the next round's trainer adds a fresh one
            policy.delete_adapter("ref")
        save_adapter(policy, rounds_dir / f"round-{k + 1:03d}", layout)
        if value_model is not None:
            value_model.save_pretrained(str(out / "value-model"), safe_serialization=True)
        metrics = validate(policy, tokenizer, cfg.validation, name=f"{algorithm}-round{k + 1}", prompt_layout=layout)
        record = {"round": k + 1, "train_reward": _mean_reward(logs, algorithm),
                  "rollout_relative_value": rollout_value, "states": len(states),
                  **{f"validation_{key}": v for key, v in metrics.items()}}
        for key, value in record.items():
            if key != "round":
                writer.add_scalar(key, value, k + 1)
        writer.flush()
        with open(out / "rounds.jsonl", "a") as f:
            f.write(json.dumps(record) + "\n")
        progress = {"algorithm": algorithm, "config": cfg.model_dump(), "rounds_done": k + 1}
        save_json_atomic(progress_file, progress)
    writer.close()

    final = rounds_dir / f"round-{cfg.rounds:03d}"
    adapter = out / "adapter"
    if cfg.init_adapter:
        combine_adapters(cfg.init_adapter, final, adapter)
    else:
        shutil.rmtree(adapter, ignore_errors=True)
        shutil.copytree(final, adapter)
    return adapter
