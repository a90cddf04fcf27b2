"""The LLM pricing agent: model loading, prompt, parsing, evidence, guardrails, recommendations.

Importing `agent` registers the LLM policy with the evaluation harness as `llm` (the model is
loaded lazily, on its first decision), the evidence-following baseline as `evidence`, and the
toolbox's fixed rule and each of its candidates alone as `toolbox` and `toolbox_<candidate>`.
"""

import os

# MKL's conditional numerical reproducibility (before torch loads MKL). Why: without it, on an AMD EPYC
# the same prompt's logits differed in the last bits between a batch of copies and a mixed batch of the
# same shapes (MKL picks kernels by the data's memory layout), which flips near-tied greedy digits; with
# it the batch-invariance tests pass bit for bit. A value the user set is kept.
os.environ.setdefault("MKL_CBWR", "AUTO")

from env.evaluation import register_policy  # noqa: E402


def register_llm(model: str | None = None, adapter: str | None = None, name: str = "llm",
                 dtype: str = "auto") -> None:
    """Makes `name` evaluate the LLM policy with this model, adapter and dtype."""
    from agent.policy import LLMPolicy

    register_policy(name, lambda task: LLMPolicy(model=model, adapter=adapter, dtype=dtype))


def _evidence_policy(task):
    from agent.policy import EvidencePolicy

    return EvidencePolicy()


def _toolbox_policy(candidate: str | None):
    def build(task):
        from agent.policy import ToolboxPolicy

        return ToolboxPolicy(candidate)
    return build


register_llm()
register_policy("evidence", _evidence_policy)
register_policy("toolbox", _toolbox_policy(None))
for _name in ("loglinear", "linear", "logit", "stock_plan", "explore"):
    register_policy(f"toolbox_{_name}", _toolbox_policy(_name))
