"""Scoring contexts: recommendations for one batch of rows, reproducible and isolated per SKU.

Reproducible: before each SKU the policy is reset with a seed derived from the SKU (per batch, from
its first SKU, for batched LLM policies), so a SKU's price does not depend on what was scored before
it; the chat, the API and the CLI use the same `sku_seed`, so one product gets one price at every door.

Isolated: a context that makes the policy fail gets that failure as its row's error, and the rest of
the batch is still scored; only when every product fails alone too is the policy itself broken, and
that is raised.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import math
from collections.abc import Callable

import pandas as pd
import pyarrow as pa

from agent.catalog.rows import RowItem, prepare_frames
from agent.catalog.schema import OUTPUT_COLUMNS, OUTPUT_SCHEMA
from agent.catalog.values import lenient_number
from agent.recommend import Recommendation, recommend_batch, sku_seed
from env.context import Policy, PricingContext

_FATAL = (ImportError, MemoryError)  # never a row's fault: stop the run


class SeededPerSku:
    """Resets a per-product policy with a seed from the SKU before each decision (order independence)."""

    def __init__(self, policy: Policy):
        self.policy, self.name = policy, policy.name

    @property
    def model_id(self) -> str | None:
        return getattr(self.policy, "model_id", None)

    @property
    def adapter_id(self) -> str | None:
        return getattr(self.policy, "adapter_id", None)

    def reset(self, seed: int | None = None) -> None:
        """Each act resets the wrapped policy."""

    def act(self, context: PricingContext) -> float:
        self.policy.reset(sku_seed(context.product.sku))
        return self.policy.act(context)


def recommend_isolated(contexts: list[PricingContext], policy: Policy) -> list[Recommendation | str]:
    """Recommendations, isolating a context that makes scoring fail (its row gets the error)."""
    runner = policy if hasattr(policy, "propose_batch") else SeededPerSku(policy)
    try:
        if runner is policy:
            policy.reset(sku_seed(contexts[0].product.sku))
            return list(recommend_batch(contexts, runner, [sku_seed(c.product.sku) for c in contexts],
                                        with_curve=False))
        return list(recommend_batch(contexts, runner, with_curve=False))  # a catalog row never shows the curve
    except _FATAL:
        raise
    except Exception as err:
        if len(contexts) == 1:
            return [f"scoring failed: {type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}"]
        results = [r for c in contexts for r in recommend_isolated([c], policy)]
        if all(isinstance(r, str) for r in results):
            raise err  # every product fails alone too: the policy is broken, not the data
        return results


def _r(x: float | None, digits: int = 4) -> float | None:
    return None if x is None else round(float(x), digits)


def _price_cell(text: object) -> float | None:
    """An error row's current price, when its cell spells one (else empty)."""
    value = lenient_number(text if isinstance(text, str) else None, "current_price")
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def output_row(rec: dict, result: Recommendation | str | None, policy_name: str) -> dict:
    """One output row (OUTPUT_COLUMNS): the recommendation and its evidence, or the row's error."""
    if isinstance(result, Recommendation):
        fit = result.evidence.fit
        return {
            "sku": result.sku, "name": rec.get("name") or "", "current_price": _r(result.previous_price),
            "recommended_price": _r(result.price), "change_pct": _r(result.change_pct),
            "expected_units": _r(result.expected_units), "expected_profit": _r(result.expected_profit),
            "expected_profit_low": _r(result.expected_profit_low),
            "expected_profit_high": _r(result.expected_profit_high),
            "expected_profit_change": _r(result.expected_profit_change),
            "elasticity": _r(fit.elasticity if fit else None), "confidence": result.confidence,
            "binding_rules": ";".join(b.rule for b in result.binding_rules), "flags": "; ".join(result.flags),
            "rationale": result.rationale, "policy": result.policy, "model_id": result.model_id,
            "adapter_id": result.adapter_id, "error": "",
        }
    row = dict.fromkeys(OUTPUT_COLUMNS)
    row.update(sku=rec.get("sku") or "", name=rec.get("name") or "",
               current_price=_price_cell(rec.get("current_price")), confidence="", binding_rules="", flags="",
               rationale="", policy=policy_name, error=result)
    return row


def score_items(items: list[RowItem], policy: Policy, batch_size: int,
                advance: Callable[[int], None] = lambda n: None) -> list[dict]:
    """Output rows for `items` in order, scoring the valid ones in batches of `batch_size`."""
    results: list[Recommendation | str | None] = [err for _, _, err in items]
    advance(sum(1 for _, ctx, _ in items if ctx is None))
    valid = [i for i, (_, ctx, _) in enumerate(items) if ctx is not None]
    for start in range(0, len(valid), batch_size):
        idx = valid[start:start + batch_size]
        for i, res in zip(idx, recommend_isolated([items[i][1] for i in idx], policy), strict=True):  # type: ignore[misc]
            results[i] = res
        advance(len(idx))
    return [output_row(rec, res, policy.name) for (rec, _, _), res in zip(items, results, strict=True)]


def check_sizes(batch_size: int, chunk_size: int) -> None:
    """ValueError for sizes that cannot work (a programming or option error, not a file problem)."""
    if batch_size < 1:
        raise ValueError("batch_size: must be at least 1")
    if chunk_size < 1:
        raise ValueError("chunk_size: must be at least 1")


def score_frames(products: pd.DataFrame, history: pd.DataFrame | None, policy: Policy, batch_size: int = 16,
                 progress: bool = False, mapping: object = None) -> pd.DataFrame:
    """Scores an in-memory catalog: one output row per product row (see OUTPUT_COLUMNS); `mapping` is the
    merchant's explicit column mapping (`plans.ColumnMap` or its text)."""
    from tqdm import tqdm

    check_sizes(batch_size, 1)
    items = prepare_frames(products, history, mapping)  # type: ignore[arg-type]
    with tqdm(total=len(items), unit="SKU", desc="scoring", disable=not progress) as bar:
        rows = score_items(items, policy, batch_size, bar.update)
    return pa.Table.from_pylist(rows, schema=OUTPUT_SCHEMA).to_pandas()


def policy_identity(policy: Policy) -> str:
    """What distinguishes one policy configuration from another (class, name, simple settings).

    Part of a resumable run's key: parts scored by another policy must not be mixed into this output.
    """
    attrs = getattr(policy, "__dict__", {})
    simple = {k: repr(v) for k, v in sorted(attrs.items())
              if (not k.startswith("_") or k in ("_model", "_adapter"))
              and (isinstance(v, str | int | float | bool | type(None)) or dataclasses.is_dataclass(v))}
    return json.dumps({"class": f"{type(policy).__module__}.{type(policy).__qualname__}",
                       "name": getattr(policy, "name", ""), **simple}, sort_keys=True)


def load_policy(spec: str = "llm", model: str | None = None, adapter: str | None = None) -> Policy:
    """A policy by name (`agent.registry.product_policy`), or `package.module:factory` for a custom one
    (called with no args)."""
    if ":" not in spec:
        from agent.registry import product_policy

        return product_policy(spec, model=model, adapter=adapter)
    module, _, attr = spec.partition(":")
    try:
        factory = getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as err:
        raise ValueError(f"policy: cannot load '{spec}' ({err})") from None
    try:
        policy = factory()
    except TypeError as err:
        raise ValueError(f"policy: '{spec}' cannot be called without arguments ({err})") from None
    if not callable(getattr(policy, "act", None)) or not hasattr(policy, "name"):
        raise ValueError(f"policy: '{spec}' did not give a policy (an object with a name and act())")
    return policy
