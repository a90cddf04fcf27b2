"""The RL reward: the simulator's verdict on a sampled answer.

`SimulatorReward(state, answer)` parses the answer exactly as the agent does, applies the
guardrails of the state's context, and returns the oracle-relative value of the price that would
be posted (`OracleScorer.relative`, 1 at the oracle's price), minus a penalty when the guardrails
had to move it (and, with `collusion_penalty`, minus a charge for pricing above the static best
response on markets with logit rivals). An answer with no usable price gets `unparseable` (default -1, the floor of the
scale), so the policy cannot profit from the fallback the agent uses in production.

Two adapters plug it into TRL:

* `SimulatorRewardFunction`: GRPO's reward-function signature; the prompts' `state_key` column
  names the state of each completion.
* `SimulatorRewardModel`: PPO's reward *model*. TRL calls its backbone on prompt+answer token ids
  and reads `score(last hidden state)` at the last answer token; here the backbone decodes the
  ids, finds the registered prompt they start with, scores the rest as the answer, and returns
  the reward broadcast over the sequence as a one-channel "hidden state"; `score` is the identity.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from agent.guardrails import GuardrailConflict, apply_guardrails
from agent.parsing import parse_price
from env.oracle import myopic_price
from env.task import LogitDemand
from finetune.config import RewardSettings
from finetune.market_states import DecisionState, OracleScorer


@dataclass
class ScoredAnswer:
    reward: float
    price: float | None  # the posted price after guardrails, None when unparseable
    clamped: bool


class SimulatorReward:
    def __init__(self, settings: RewardSettings | None = None, scorer: OracleScorer | None = None):
        self.settings = settings or RewardSettings()
        self.scorer = scorer or OracleScorer()

    def score(self, state: DecisionState, answer: str) -> ScoredAnswer:
        price = parse_price(answer)
        if price is None or not math.isfinite(price) or price <= 0:
            return ScoredAnswer(self.settings.unparseable, None, False)
        try:
            guarded = apply_guardrails(price, state.context)
        except GuardrailConflict:  # inconsistent guardrails are the merchant's error, not the answer's
            return ScoredAnswer(self.settings.unparseable, None, False)
        reward = self.scorer.relative(state, guarded.price)
        if self.settings.collusion_penalty > 0:
            reward -= self.settings.collusion_penalty * self.above_best_response(state, guarded.price)
        clamped = bool(guarded.binding)
        if clamped:
            reward -= self.settings.clamp_penalty
        return ScoredAnswer(reward, guarded.price, clamped)

    @staticmethod
    def above_best_response(state: DecisionState, price: float) -> float:
        """max(0, price / best response - 1) on a logit market with rivals; 0 elsewhere.

        The static best response to the rivals' current prices is the competitive benchmark: a
        seller that prices above it gives up profit today, which only pays if rivals are expected
        to follow (the logic of tacit collusion).
        """
        task = state.task
        if not isinstance(task.demand, LogitDemand) or not task.competitors:
            return 0.0
        best, _ = myopic_price(task, state.t, np.array(state.comp_prices))
        return max(0.0, price / best - 1.0)

    def __call__(self, state: DecisionState, answer: str) -> float:
        return self.score(state, answer).reward


def completion_text(completion) -> str:
    """A TRL completion as text: plain string, or a conversational list of messages."""
    if isinstance(completion, str):
        return completion
    return "".join(m.get("content", "") for m in completion if isinstance(m, dict))


class SimulatorRewardFunction:
    """GRPO reward function: `f(prompts, completions, state_key=[...]) -> [float]`."""

    def __init__(self, reward: SimulatorReward, states: dict[str, DecisionState]):
        self.reward, self.states = reward, states
        self.__name__ = "simulator_reward"  # TRL logs reward functions by name

    def __call__(self, prompts: Sequence, completions: Sequence, state_key: Sequence[str], **_) -> list[float]:
        return [self.reward(self.states[k], completion_text(c)) for k, c in zip(state_key, completions, strict=True)]


class _DecodeAndReward(nn.Module):
    """The reward model's 'backbone': token ids in, the simulator's reward out."""

    def __init__(self, tokenizer, reward: SimulatorReward):
        super().__init__()
        self.tokenizer, self.reward = tokenizer, reward
        self.prompts: dict[tuple[int, ...], DecisionState] = {}
        self._lengths: list[int] = []
        self.last_scores: list[ScoredAnswer] = []

    def register(self, prompt_ids: Sequence[int], state: DecisionState) -> None:
        self.prompts[tuple(int(i) for i in prompt_ids)] = state
        self._lengths = sorted({len(k) for k in self.prompts}, reverse=True)

    def _split(self, ids: list[int]) -> tuple[DecisionState, list[int]]:
        for n in self._lengths:
            state = self.prompts.get(tuple(ids[:n]))
            if state is not None:
                return state, ids[n:]
        raise KeyError("the reward model was asked about a prompt it does not know; register every training prompt")

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None, **_):
        mask = torch.ones_like(input_ids, dtype=torch.bool) if attention_mask is None else attention_mask.bool()
        rewards, self.last_scores = [], []
        for row, keep in zip(input_ids.tolist(), mask.tolist(), strict=True):
            state, answer_ids = self._split([i for i, k in zip(row, keep, strict=True) if k])
            scored = self.reward.score(state, self.tokenizer.decode(answer_ids, skip_special_tokens=True))
            self.last_scores.append(scored)
            rewards.append(scored.reward)
        value = torch.tensor(rewards, dtype=torch.float32, device=input_ids.device)
        hidden = value[:, None, None].expand(input_ids.shape[0], input_ids.shape[1], 1)
        return _Output(hidden_states=(hidden,))


@dataclass
class _Output:
    hidden_states: tuple[torch.Tensor, ...]


class SimulatorRewardModel(nn.Module):
    """PPO's reward model around `SimulatorReward` (see the module docstring)."""

    base_model_prefix = "backbone"

    def __init__(self, tokenizer, reward: SimulatorReward | None = None):
        super().__init__()
        self.backbone = _DecodeAndReward(tokenizer, reward or SimulatorReward())
        self.score = nn.Identity()

    def register(self, prompt_ids: Sequence[int], state: DecisionState) -> None:
        """Tells the model which decision state a training prompt (its token ids, no padding) shows."""
        self.backbone.register(prompt_ids, state)
