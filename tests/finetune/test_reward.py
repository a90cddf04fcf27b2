import numpy as np
import pytest
import torch
from trl.experimental.utils import get_reward

from agent.tiny import tiny_model
from env.distribution import sample_task
from env.episode import start_market
from env.market import expected_profit
from finetune.config import RewardSettings
from finetune.market_states import OracleScorer, snapshot
from finetune.reward import SimulatorReward, SimulatorRewardFunction, SimulatorRewardModel
from finetune.rl import prompt_ids, prompt_messages


def _state(stateful: bool, t: int = 3):
    i = next(i for i in range(200) if sample_task("train", i).stateful == stateful)
    task = sample_task("train", i)
    market = start_market(task, 11)
    for _ in range(t):
        market.step(task.initial_price)
    return snapshot(market)


def test_reward_is_the_simulators_relative_expected_profit():
    state = _state(stateful=False)
    task = state.task
    reward = SimulatorReward(RewardSettings(unparseable=-1.0, clamp_penalty=0.1))
    best_price, best_value = OracleScorer().best(state)
    price = round(0.5 * (best_price + task.min_price), 2)
    value = float(expected_profit(task, price, state.t, np.array(state.comp_prices), None, None))
    assert reward(state, f"PRICE: {price}\nREASON: test") == pytest.approx(1 - (best_value - value) / best_value)
    assert reward(state, f"PRICE: {best_price:.4f}") == pytest.approx(1.0, abs=1e-6)
    assert reward(state, "I would not change anything.") == -1.0
    assert reward(state, "PRICE: nan") == -1.0
    # above the guardrail ceiling: scored at the clamped price, minus the clamp penalty
    at_max = reward(state, f"PRICE: {task.max_price:.2f}")
    assert reward(state, f"PRICE: {task.max_price * 3:.2f}") == pytest.approx(at_max - 0.1)


def test_stateful_reward_charges_the_future():
    """With stock, the myopic price sells out too early: the Q-value reward says so."""
    from env.oracle import myopic_price

    scorer = OracleScorer()
    checked = 0
    for i in range(60):
        task = sample_task("train", i)
        if task.inventory is None:
            continue
        state = snapshot(start_market(task, 5))
        myopic, _ = myopic_price(task, 0, np.array(state.comp_prices), state.ref, state.stock)
        plan_price, _ = scorer.best(state)
        assert scorer.relative(state, plan_price) == pytest.approx(1.0)
        if abs(myopic - plan_price) > 0.05 * plan_price:
            assert scorer.relative(state, myopic) < 1.0 - 1e-3
            checked += 1
    assert checked >= 3


def test_reward_function_for_grpo_reads_state_keys():
    state = _state(stateful=False)
    fn = SimulatorRewardFunction(SimulatorReward(), {state.key: state})
    best, _ = OracleScorer().best(state)
    out = fn(prompts=[[], []], completions=[[{"role": "assistant", "content": f"PRICE: {best:.4f}"}], "no idea"],
             state_key=[state.key, state.key])
    assert out[0] == pytest.approx(1.0, abs=1e-6) and out[1] == -1.0


def test_reward_model_returns_the_simulators_value_through_trls_reader():
    lm = tiny_model(0)
    tok = lm.tokenizer
    states = [_state(stateful=False), _state(stateful=True, t=2)]
    rm = SimulatorRewardModel(tok, SimulatorReward())
    prompts = [prompt_ids(tok, prompt_messages(s)) for s in states]
    for ids, s in zip(prompts, states, strict=True):
        rm.register(ids, s)
    answers = ["PRICE: 3.10\nREASON: x", "PRICE: banana"]
    answer_ids = [tok(a, add_special_tokens=False)["input_ids"] + [tok.eos_token_id] for a in answers]
    context, longest = max(map(len, prompts)), max(map(len, answer_ids))
    # prompts left-padded to one context length, answers right-padded: the layout PPOTrainer scores
    pad = tok.pad_token_id
    batch = [[pad] * (context - len(p)) + p + a + [pad] * (longest - len(a))
             for p, a in zip(prompts, answer_ids, strict=True)]
    ids = torch.tensor(batch)
    _, scores, _ = get_reward(rm, ids, tok.pad_token_id, context)
    expected = [SimulatorReward()(s, a) for s, a in zip(states, answers, strict=True)]
    assert scores.tolist() == pytest.approx(expected)
    assert expected[1] == -1.0


def test_collusion_penalty_charges_prices_above_the_best_response_only():
    from env.oracle import myopic_price
    from env.scenarios import calvano_duopoly

    task = calvano_duopoly(horizon=20, rival="best_response")
    market = start_market(task, 0)
    for _ in range(3):
        market.step(1.8)
    state = snapshot(market)
    best, _ = myopic_price(task, state.t, np.array(state.comp_prices))
    plain, penalised = SimulatorReward(RewardSettings()), SimulatorReward(RewardSettings(collusion_penalty=0.5))
    high, low = round(best * 1.2, 2), round(best * 0.9, 2)  # the parser keeps cents
    assert penalised(state, f"PRICE: {high}") == pytest.approx(plain(state, f"PRICE: {high}") - 0.5 * (high / best - 1))
    assert penalised(state, f"PRICE: {low}") == pytest.approx(plain(state, f"PRICE: {low}"))
    other = _state(stateful=False)  # no logit rivals: the switch changes nothing
    if not other.task.competitors:
        answer = f"PRICE: {other.task.max_price:.2f}"
        assert penalised(other, answer) == pytest.approx(plain(other, answer))
