"""The LLM pricing agent: model loading, prompt, parsing, evidence, guardrails, recommendations.

Importing `agent` changes no registry: the harness (`env.evaluation.evaluate`) is handed the
agent's policies by the caller, `agent.registry.in_process_policies(model, adapter, dtype)`.
"""

import os

# MKL's conditional numerical reproducibility (before torch loads MKL). Why: without it, on an AMD EPYC
# the same prompt's logits differed in the last bits between a batch of copies and a mixed batch of the
# same shapes (MKL picks kernels by the data's memory layout), which flips near-tied greedy digits; with
# it the batch-invariance tests pass bit for bit. A value the user set is kept.
os.environ.setdefault("MKL_CBWR", "AUTO")
