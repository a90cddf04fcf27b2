"""Expert demonstrations for supervised fine-tuning, from rollouts on the train split.

Recipe (after Lee et al. 2023, "Supervised Pretraining Can Learn In-Context Reinforcement
Learning", the Decision-Pretrained Transformer): histories are produced by a *mixture* of
behaviour policies, good and bad, so the model sees the states a learner meets, including ones
no good pricer would reach; each sampled state is rendered with the agent's own prompt and
labelled with the **optimal action of the true task** (the oracle's price: the per-period optimum,
or the dynamic-programming plan's price when stock or a reference price makes the task stateful).
A model that predicts the optimal action from history alone must infer the task from the
history, which is what makes it an in-context learner; sampling its answer at a temperature then
acts like posterior sampling.

Each label is the agent's answer format: `PRICE: x` and a one-sentence `REASON:` built from the
evidence in the prompt (never from hidden task parameters, so the reason only quotes what the
model could see). With `prompt: compact` the prompt is the compact one with the toolbox's
candidates (`agent.prompt.render_compact`) and the answer is `PRICE: x` alone: the rationale shown
to a merchant is composed in code, so the model need not learn to write one.

`label: best_candidate` replaces the oracle's price with the price of the listed candidate that is
worth most under the true task (profit now plus the optimal future where state carries over). Why:
the oracle's price is not a function of what the history shows (it knows the true demand), and a
small learner that regresses it chases noise (a gradient-boosted regressor on the oracle's price
reached 81% of oracle profit on 16 validation tasks, the candidates' fixed rule 95%), while the
best candidate is a choice the prompt offers; its ceiling is `toolbox_hindsight` in
bench/results/toolbox.md.

The result is a Hugging Face `datasets.Dataset` (prompt/completion in conversational form, plus
task, period, behaviour and label columns), saved with the generator's config and seed beside it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from datasets import Dataset
from tqdm import tqdm

from agent.candidates import Candidate, Toolbox, build_toolbox, rule_candidate
from agent.evidence import Evidence, compute_evidence
from agent.prompt import compact_answer, render_compact, render_messages
from agent.provenance import code_fingerprint
from agent.registry import make_policy
from env.context import PricingContext
from env.distribution import sample_task
from env.episode import start_market
from env.oracle import OraclePolicy
from env.task import TaskSpec
from finetune.config import DemoConfig
from finetune.market_states import DecisionState, OracleScorer, snapshot

# --------------------------------------------------------------------------- behaviour policies


class _SeededPricer:
    """A behaviour policy with its own random stream (the episode's seed fixes its choices)."""

    name = "seeded"

    def __init__(self, seed: int):
        self.rng = np.random.default_rng(seed)

    def reset(self, seed: int | None = None) -> None:
        pass


class RandomPricer(_SeededPricer):
    """Uniform over the allowed range every period: maximal exploration, no exploitation."""

    name = "random"

    def act(self, context: PricingContext) -> float:
        lo, hi = context.price_bounds()
        return float(self.rng.uniform(lo, hi))


class DriftPricer(_SeededPricer):
    """A random walk from the current price (±8% a period): the slow, unsystematic merchant."""

    name = "drift"

    def act(self, context: PricingContext) -> float:
        lo, hi = context.price_bounds()
        return float(np.clip(context.product.current_price * math.exp(0.08 * self.rng.standard_normal()), lo, hi))


class NoisyOracle:
    """The oracle's price times a log-normal error (15%): near-optimal histories, never flat ones."""

    name = "noisy_oracle"

    def __init__(self, task: TaskSpec, seed: int):
        self.oracle, self.rng = OraclePolicy(task), np.random.default_rng(seed)

    def reset(self, seed: int | None = None) -> None:
        self.oracle.reset(seed)

    def act(self, context: PricingContext) -> float:
        lo, hi = context.price_bounds()
        return float(np.clip(self.oracle.act(context) * math.exp(0.15 * self.rng.standard_normal()), lo, hi))


def behaviour_policy(name: str, task: TaskSpec, seed: int):
    if name == "random":
        return RandomPricer(seed)
    if name == "drift":
        return DriftPricer(seed)
    if name == "noisy_oracle":
        return NoisyOracle(task, seed)
    return make_policy(name, task)  # ts, ils, cost_plus, evidence


# --------------------------------------------------------------------------- labels


def label_reason(context: PricingContext, evidence: Evidence, price: float) -> str:
    """One sentence that justifies `price` with the evidence the prompt shows."""
    fit, best = evidence.fit, evidence.model_optimal_price
    if fit is None or best is None:
        return f"No usable sales yet, so {price:.2f} starts learning demand."
    gap = price / best - 1
    stock_tight = (context.inventory is not None and context.periods_left
                   and evidence.point(price) is not None
                   and context.inventory < evidence.point(best).units * context.periods_left)
    if abs(gap) <= 0.03:
        return f"Elasticity {fit.elasticity:.2f} puts the profit peak near {best:.2f}."
    if gap > 0 and stock_tight:
        return f"Stock {context.inventory:.0f} must last {context.periods_left} periods, so I price above {best:.2f}."
    if not fit.identified:
        return f"Demand is not identified yet, so {price:.2f} tests a new price."
    direction = "higher" if gap > 0 else "lower"
    return (f"Elasticity {fit.elasticity:.2f} is uncertain ({fit.elasticity_low:.2f} to {fit.elasticity_high:.2f}), "
            f"so I test a {direction} price than {best:.2f}.")


def answer_text(price: float, reason: str) -> str:
    return f"PRICE: {price:.2f}\nREASON: {reason}"


# --------------------------------------------------------------------------- generation


def _episode_states(task: TaskSpec, behaviour: str, cfg: DemoConfig, rng: np.random.Generator,
                    scorer: OracleScorer) -> Iterator[tuple[DecisionState, float]]:
    """The sampled decision states of one behaviour episode, each with the oracle's price (to the cent)."""
    seed = int(rng.integers(2**31))
    market = start_market(task, seed)
    policy = behaviour_policy(behaviour, task, seed + 1)
    policy.reset(seed + 2)
    picks = set(rng.choice(task.horizon, size=min(cfg.steps_per_episode, task.horizon), replace=False).tolist())
    while not market.done:
        state = snapshot(market)
        if state.t in picks:
            yield state, round(scorer.best(state)[0], 2)
        market.step(policy.act(state.context))


def best_candidate(state: DecisionState, box: Toolbox, scorer: OracleScorer, margin: float = 0.0) -> Candidate:
    """The candidate worth most in this state under the true task (profit now plus, where state carries
    over, the optimal future): the label `best_candidate`, and what a perfect picker would charge.

    With `margin` > 0 the rule's candidate (`agent.candidates.rule_candidate`) is kept unless another is
    worth more by over `margin` times the oracle's value per remaining period
    (`OracleScorer.scale`). Why: in most states the candidates are worth nearly the same, and which one
    wins by a hair depends on the hidden task, not on anything the prompt shows; a label that flips on
    such ties teaches a picker noise (state-level, the LLM trained on margin-0 labels left the rule in
    42% of validation states and earned slightly less than the rule there).
    """
    values = scorer.values(state, np.array([c.price for c in box.candidates]))
    best = int(np.argmax(values))
    rule = rule_candidate(box)
    if margin > 0 and rule is not None:
        if values[best] - values[box.candidates.index(rule)] <= margin * scorer.scale(state):
            return rule
    return box.candidates[best]


@dataclass(frozen=True)
class Demonstration:
    """One labelled decision: the state, who made its history, the answer's price, and (compact prompt
    or candidate labels) the toolbox it was read from and the candidate chosen."""

    state: DecisionState
    behaviour: str
    price: float
    box: Toolbox | None = None
    pick: str | None = None  # the chosen candidate's name, for `label: best_candidate`


def _labelled(state: DecisionState, behaviour: str, oracle_price: float, cfg: DemoConfig,
              scorer: OracleScorer) -> Demonstration:
    """The demonstration for `cfg.label`; without any candidate (no history) the oracle's price."""
    box = build_toolbox(state.context) if cfg.prompt == "compact" or cfg.label == "best_candidate" else None
    if cfg.label == "best_candidate" and box.candidates:
        pick = best_candidate(state, box, scorer, cfg.label_margin)
        return Demonstration(state, behaviour, round(pick.price, 2), box, pick.name)
    return Demonstration(state, behaviour, oracle_price, box)


def labelled_states(cfg: DemoConfig, progress: bool = True) -> Iterator[Demonstration]:
    """Every demonstration of `cfg`, in order; seeded by `cfg.seed`.

    The one source of demonstration states: the LLM's dataset and the non-LLM picker baseline
    (`finetune.picker`) are built from the same states and labels.
    """
    rng = np.random.default_rng(np.random.SeedSequence([cfg.seed, 0x5F7]))
    scorer = OracleScorer()
    indices = range(cfg.first_task, cfg.first_task + cfg.n_tasks)
    for i in tqdm(indices, desc="demonstrations", unit="task", disable=not progress):
        task = sample_task(cfg.split, i, cfg.horizon)
        behaviour = cfg.behaviours[int(rng.integers(len(cfg.behaviours)))]
        for state, label in _episode_states(task, behaviour, cfg, rng, scorer):
            yield _labelled(state, behaviour, label, cfg, scorer)


def _row(demo: Demonstration, cfg: DemoConfig) -> dict:
    state, label = demo.state, demo.price
    evidence = compute_evidence(state.context)
    if cfg.prompt == "compact":  # the toolbox in the prompt, the price alone as the answer
        prompt, answer = render_compact(state.context, demo.box), compact_answer(label)
    else:
        prompt = render_messages(state.context, evidence)
        answer = answer_text(label, label_reason(state.context, evidence, label))
    return {
        "prompt": prompt,
        "completion": [{"role": "assistant", "content": answer}],
        "task_id": state.task.task_id, "period": state.t, "behaviour": demo.behaviour, "label_price": label,
        "evidence_price": evidence.model_optimal_price,  # None without a fit
        "stateful": state.task.stateful,
    }


def generate_demonstrations(cfg: DemoConfig, progress: bool = True) -> Dataset:
    """The demonstration dataset for `cfg`; the same config and seed give the same rows."""
    return Dataset.from_list([_row(demo, cfg) for demo in labelled_states(cfg, progress)])


def save_demonstrations(dataset: Dataset, cfg: DemoConfig, output: str | Path | None = None) -> Path:
    """Saves the dataset and, beside it, `generator.json`: the config (seed included) that made it."""
    out = Path(output or cfg.output)
    dataset.save_to_disk(str(out))
    (out / "generator.json").write_text(json.dumps(
        {"generator": "finetune.demonstrations", "config": cfg.model_dump(), "code": code_fingerprint(),
         "rows": len(dataset)}, indent=2))
    return out


def load_or_generate(cfg: DemoConfig, progress: bool = True) -> Dataset:
    """Reuses a saved dataset made by the same config and the same code, else generates and saves it.

    The code matters as much as the config: a dataset saved before a prompt change holds old prompts.
    """
    from datasets import load_from_disk

    out = Path(cfg.output)
    meta = out / "generator.json"
    if meta.is_file():
        saved = json.loads(meta.read_text())
        if saved.get("config") == cfg.model_dump() and saved.get("code") == code_fingerprint():
            return load_from_disk(str(out))
    dataset = generate_demonstrations(cfg, progress)
    save_demonstrations(dataset, cfg)
    return dataset
