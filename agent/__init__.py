"""The LLM pricing agent: model loading, prompt, parsing, evidence, guardrails, recommendations.

Importing `agent` registers the LLM policy with the evaluation harness as `llm` (the model is
loaded lazily, on its first decision) and the evidence-following baseline as `evidence`.
"""

from env.evaluation import register_policy


def register_llm(model: str | None = None, adapter: str | None = None, name: str = "llm",
                 dtype: str = "auto") -> None:
    """Makes `name` evaluate the LLM policy with this model, adapter and dtype."""
    from agent.policy import LLMPolicy

    register_policy(name, lambda task: LLMPolicy(model=model, adapter=adapter, dtype=dtype))


def _evidence_policy(task):
    from agent.policy import EvidencePolicy

    return EvidencePolicy()


register_llm()
register_policy("evidence", _evidence_policy)
