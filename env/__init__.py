"""The simulated market: tasks, demand, competitors, inventory, oracle, gymnasium envs, baselines, evaluation.

Importing `env` registers the gymnasium ids listed in `env.gym_envs.ENV_IDS`.
"""

from env.context import Guardrails, HistoryRow, Policy, PricingContext, Product
from env.gym_envs import register_envs
from env.task import TaskSpec

register_envs()

__all__ = ["Guardrails", "HistoryRow", "Policy", "PricingContext", "Product", "TaskSpec"]
