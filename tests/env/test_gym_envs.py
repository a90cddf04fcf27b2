"""Every registered gymnasium env passes the env checker, is seeded, and reports the oracle."""

import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import env  # noqa: F401  (registers the ids)
from env.gym_envs import ENV_IDS, PricingEnv


@pytest.mark.parametrize("env_id", sorted(ENV_IDS))
def test_check_env(env_id):
    e = gym.make(env_id)
    with warnings.catch_warnings():
        # gymnasium *recommends* normalised boxes; PricingEnv takes prices in currency on purpose
        warnings.filterwarnings("ignore", message=".*recommend using a symmetric and normalized space.*")
        warnings.filterwarnings("ignore", message=".*Box observation space maximum value is infinity.*")
        check_env(e.unwrapped, skip_render_check=True)


@pytest.mark.parametrize("env_id", sorted(ENV_IDS))
def test_episode_runs_to_the_horizon_with_oracle_info(env_id):
    e = gym.make(env_id)
    obs, _ = e.reset(seed=3)
    assert e.observation_space.contains(obs)
    e.action_space.seed(3)
    steps, done = 0, False
    while not done:
        obs, reward, done, truncated, info = e.step(e.action_space.sample())
        steps += 1
        assert not truncated and np.isfinite(reward)
        if not e.unwrapped.task.stateful:  # the per-period oracle beats any price in its own period
            assert info["oracle_expected_profit"] >= info["expected_profit"] - 1e-6
        assert e.unwrapped.task.min_price <= info["oracle_price"] <= e.unwrapped.task.max_price
    assert steps == e.unwrapped.task.horizon


def test_same_seed_same_rewards():
    def rollout(seed):
        e = gym.make("pricing/MetaMarket-v0")
        e.reset(seed=seed)
        return [e.step(np.array([0.3], dtype=np.float32))[1] for _ in range(10)]

    assert rollout(4) == rollout(4)
    assert rollout(4) != rollout(5)


def test_reward_is_profit_and_context_matches():
    e = PricingEnv("member_pricing")
    e.reset(seed=0)
    _, reward, _, _, info = e.step(np.array([4.5], dtype=np.float32))
    ctx = e.context()
    row = ctx.history[-1]
    assert row.price == pytest.approx(4.5, rel=1e-6) and row.units == pytest.approx(info["units"])
    assert ctx.product.current_price == pytest.approx(4.5, rel=1e-6)
    assert ctx.periods_left == e.task.horizon - 1
    assert np.isfinite(reward) and reward > 0


def test_task_spec_as_json_or_scenario_name():
    from env.distribution import sample_task

    spec = sample_task("test", 1)
    assert PricingEnv(spec.model_dump_json()).task == spec
    assert PricingEnv(spec.model_dump()).task == spec
    with pytest.raises(ValueError, match="unknown scenario"):
        PricingEnv("no_such_market")
