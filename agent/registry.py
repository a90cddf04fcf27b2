"""The agent's policies by name: one table for the evaluation harness, the audit, the simulator and the
doors that price real products (CLI, catalog, API, chat).

Nothing is registered anywhere: a caller asks for the table and hands it to the harness
(`env.evaluation.evaluate(..., factories=in_process_policies(model, adapter))`). The names:

* `llm`: the LLM policy with this model, adapter and dtype (the model loads lazily, on the
  first decision, and is cached per process, so every task's policy shares it);
* `evidence`: the evidence-following baseline (`agent.policy.EvidencePolicy`);
* `toolbox`: the toolbox's fixed rule; `toolbox_<candidate>`: each of its candidates alone.

These policies play in the harness's own process (the LLM's batched forward pass uses the
cores); the oracle and the classical pricers are built by name (`env.episode.build_policy`),
also in worker processes. Callers add their own entries to the table (a benchmark's pickers, a
test's fixed pricer): it is a plain dict.
"""

from __future__ import annotations

from env.episode import Factories, PolicyFactory, build_policy
from env.task import TaskSpec

TOOLBOX_CANDIDATES = ("loglinear", "linear", "logit", "stock_plan", "explore")  # agent.candidates.CANDIDATE_NAMES


def llm_factory(model: str | None = None, adapter: str | None = None, dtype: str = "auto") -> PolicyFactory:
    """A fresh `LLMPolicy` per task, on this model, adapter and dtype (None: the embedded defaults)."""

    def build(task: TaskSpec):
        from agent.policy import LLMPolicy

        return LLMPolicy(model=model, adapter=adapter, dtype=dtype)
    return build


def _evidence(task: TaskSpec):
    from agent.policy import EvidencePolicy

    return EvidencePolicy()


def _toolbox(candidate: str | None) -> PolicyFactory:
    def build(task: TaskSpec):
        from agent.policy import ToolboxPolicy

        return ToolboxPolicy(candidate)
    return build


def in_process_policies(model: str | None = None, adapter: str | None = None,
                        dtype: str = "auto") -> dict[str, PolicyFactory]:
    """name -> factory (task -> policy) of every agent policy; `llm` on this model, adapter and dtype."""
    table: dict[str, PolicyFactory] = {"llm": llm_factory(model, adapter, dtype), "evidence": _evidence,
                                       "toolbox": _toolbox(None)}
    table.update({f"toolbox_{name}": _toolbox(name) for name in TOOLBOX_CANDIDATES})
    return table


def make_policy(name: str, task: TaskSpec, model: str | None = None, adapter: str | None = None,
                dtype: str = "auto", factories: Factories | None = None):
    """A fresh policy for one simulated task by any name: an agent policy, an entry of `factories` (these
    win), the oracle or a classical pricer. (`product_policy` is the one for real products.)"""
    return build_policy(name, task, {**in_process_policies(model, adapter, dtype), **(factories or {})})


def product_policy(name: str = "llm", model: str | None = None, adapter: str | None = None):
    """A policy for real products by name: an agent policy of the table above or a classical pricer.

    The oracle is not offered: it needs the true market, which a real product does not have. The agent's
    factories ignore the task, so they are called without one.
    """
    table = in_process_policies(model, adapter)
    if name in table:
        return table[name](None)
    from env.pricers import PRICER_NAMES, make_pricer

    if name not in PRICER_NAMES:
        raise ValueError(f"policy: unknown policy '{name}' (choose from {', '.join(table)}, "
                         f"{', '.join(PRICER_NAMES)})")
    return make_pricer(name)
