"""The pricing service: the one place where a product is priced on the shared policy.

The chat, the HTTP API and the catalog tab all price through one `PricingService`. Why one: the LLM
policy is not reentrant and the classical pricers keep per-episode state, so every decision must hold
one lock; a product must get the same price from every door (the per-SKU seed); and guardrails that admit
no price must fail before the policy is asked, with the same message everywhere. Written once here,
the doors only translate: the API turns `PolicyBusy` into a 503, the UI into a chat message.

The policy is built on first use (a server starts at once) by `agent.registry.product_policy`, unless one is
given ready-made (tests, custom policies).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from agent.candidates import Toolbox, build_toolbox
from agent.guardrails import GuardedPrice, apply_guardrails, hard_range
from agent.recommend import Recommendation, recommend, sku_seed
from env.context import Policy, PricingContext

LOCK_WAIT_S = 300.0  # longest a caller waits for the policy before `PolicyBusy`


class PolicyBusy(RuntimeError):
    """Other requests kept the policy busy for longer than the service waits; retry later."""


@dataclass(frozen=True)
class ScoreSummary:
    """What one catalog scoring did, for the API's summary and the UI's status line."""

    skus: int
    scored: int
    errors: int
    policy: str
    model_id: str | None
    adapter_id: str | None
    elapsed_ms: float


class PricingService:
    """Recommend, score, what-if and guardrail checks on one shared policy, under one lock."""

    def __init__(self, policy: Policy | None = None, policy_name: str = "llm", model: str | None = None,
                 adapter: str | None = None, lock_wait_s: float = LOCK_WAIT_S):
        self._policy, self._model, self._adapter = policy, model, adapter
        self.name: str = getattr(policy, "name", policy_name) if policy is not None else policy_name
        self.lock = threading.Lock()
        self.wait_s = lock_wait_s

    # --- the policy and its lock -------------------------------------------------------------------

    @contextlib.contextmanager
    def exclusive(self) -> Iterator[None]:
        """The lock alone; `PolicyBusy` when others keep it for longer than `wait_s`."""
        if not self.lock.acquire(timeout=self.wait_s):
            raise PolicyBusy(f"the policy is busy with other requests (waited {self.wait_s:g} s); retry later")
        try:
            yield
        finally:
            self.lock.release()

    @contextlib.contextmanager
    def held(self) -> Iterator[Policy]:
        """The policy with the lock held (built on first use)."""
        with self.exclusive():
            yield self._get()

    def _get(self) -> Policy:
        if self._policy is None:
            from agent.registry import product_policy

            self._policy = product_policy(self.name, self._model, self._adapter)
        return self._policy

    def shared_policy(self) -> Policy:
        """The service's own policy (built on first use), for a caller that takes `lock` itself around each
        use: a scoring job holds it per chunk, not for the whole catalog. Waits for the lock as long as it
        takes (building the policy under it, so two first users never load the model twice)."""
        with self.lock:
            return self._get()

    def policy_by_name(self, name: str) -> Policy:
        """A fresh policy for one simulated episode, built as this service builds its own: `llm` is the
        model and adapter this service serves, not the defaults."""
        from agent.registry import product_policy

        return product_policy(name, self._model, self._adapter)

    def ids(self) -> tuple[str | None, str | None]:
        """(model_id, adapter_id) of a loaded model, without loading one."""
        policy = self._policy
        if policy is None:
            return None, None
        from agent.policy import LLMPolicy

        if isinstance(policy, LLMPolicy):
            lm = policy._lm  # the property would load the model: only report one that is loaded
            return (lm.model_id, lm.adapter_id) if lm is not None else (None, None)
        return getattr(policy, "model_id", None), getattr(policy, "adapter_id", None)

    # --- pricing -----------------------------------------------------------------------------------

    def recommend(self, context: PricingContext, seed: int | None = None) -> Recommendation:
        """One recommendation. Guardrails that admit no price raise `GuardrailConflict` before the policy is
        touched; the policy is reset with `seed` (default: the SKU's), so the same product gets the same price
        from the chat, the API and the catalog."""
        hard_range(context)
        with self.held() as policy:
            policy.reset(sku_seed(context.product.sku) if seed is None else seed)
            return recommend(context, policy)

    def score(self, products: Any, history: Any = None, batch_size: int = 16) -> tuple[Any, ScoreSummary]:
        """A catalog (products and optional history tables) scored under the lock: one row per SKU, rows that
        could not be priced carry `error`. A table that is unusable as a whole raises `CatalogError`."""
        from agent.catalog import score_frames

        start = time.perf_counter()
        with self.held() as policy:
            frame = score_frames(products, history, policy, batch_size)
        elapsed = 1000 * (time.perf_counter() - start)
        errors = int((frame["error"].fillna("").astype(str) != "").sum()) if "error" in frame.columns else 0
        model_id, adapter_id = self.ids()
        return frame, ScoreSummary(skus=len(frame), scored=len(frame) - errors, errors=errors, policy=self.name,
                                   model_id=model_id, adapter_id=adapter_id, elapsed_ms=round(elapsed, 3))

    # --- follow-ups: what the chat asks after a recommendation --------------------------------------

    @staticmethod
    def toolbox(context: PricingContext) -> Toolbox:
        """The candidates a recommendation was chosen from, seeded by the SKU as the policy is, so an
        exploration draw is the same price in the chart and in a what-if answer."""
        return build_toolbox(context, sku_seed(context.product.sku))

    @staticmethod
    def check_price(price: float, context: PricingContext) -> GuardedPrice:
        """What the guardrails make of `price` (which rules bind, and the price they allow); raises
        `GuardrailConflict` when they admit no price at all. For what-if and why-not answers: no policy."""
        return apply_guardrails(price, context)
