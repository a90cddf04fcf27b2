"""The LLM meta-policy: reads a product's context in its prompt and answers with a price.

`LLMPolicy` implements the env's `Policy` protocol, so the evaluation harness, the batch scorer
and the UI run it exactly like the classical pricers. `propose_batch` generates for many
products at once (one batched `generate`). An answer that cannot be parsed, or a price that is
not finite and positive, falls back to the model-optimal price of the evidence (else the
current price), and the proposal says so. On the compact prompt the model chooses one of the toolbox's
candidates and cannot answer anything else.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel

from agent.evidence import Evidence, compute_evidence, no_fit_price
from agent.parsing import parse_price, parse_reason
from agent.prompt import K_RECENT, LAYOUTS, compact_answer, render_compact, render_messages
from env.context import PricingContext

CONFOUNDED = ("our price has only ever moved together with the competitor's, so what it alone does to sales is "
              "unmeasured; the toolbox's rule tries an exploration price instead of asking the model")


class Proposal(BaseModel):
    """A policy's raw answer, before guardrails."""

    price: float
    text: str | None = None  # the model's raw answer
    reason: str | None = None
    fallback: str | None = None  # why the proposal is not the model's own price, if it is not
    candidate: str | None = None  # the toolbox candidate chosen (compact prompt), e.g. "logit"
    candidate_words: str | None = None  # what that candidate is and expects, from the toolbox (for the rationale)


def fallback_price(context: PricingContext, evidence: Evidence) -> float:
    return evidence.model_optimal_price or no_fit_price(context)[0]


def proposal_from_answer(text: str, context: PricingContext, evidence: Evidence | None,
                         fallback: float | None = None, fallback_name: str = "the model-optimal price") -> Proposal:
    """The model's price, or `fallback` (default: the evidence's model-optimal price) when it gave none."""
    price = parse_price(text)
    if price is None:
        return Proposal(price=fallback or fallback_price(context, evidence), text=text, reason=parse_reason(text),
                        fallback=f"the model's answer had no usable price; used {fallback_name}")
    return Proposal(price=price, text=text, reason=parse_reason(text))


class LLMPolicy:
    """A causal LM (optionally with a LoRA adapter) as a pricing policy.

    `lm` is a `agent.generation.LoadedModel`; by default the embedded model is loaded on first use.
    Greedy decoding by default (temperature 0) so a recommendation is reproducible; with a
    temperature, sampling is seeded from `reset(seed)` and the decision count. The prompt is the
    layout the adapter was trained on (`lm.prompt_layout`): the long one with the evidence, or the
    compact one with the toolbox's candidates, whose fallback is the toolbox's rule.
    """

    name = "llm"

    def __init__(self, lm=None, *, model: str | None = None, adapter: str | None = None,
                 k_recent: int = K_RECENT, max_new_tokens: int = 32, temperature: float = 0.0,
                 dtype: str = "auto"):
        self._lm, self._model, self._adapter, self._dtype = lm, model, adapter, dtype
        self.k_recent, self.max_new_tokens, self.temperature = k_recent, max_new_tokens, temperature
        self._seed, self._calls = 0, 0

    @property
    def lm(self):
        if self._lm is None:
            from agent.model import ModelNotAvailable, load_model

            lm = load_model(self._model, adapter=self._adapter, dtype=self._dtype)
            if lm.prompt_layout not in LAYOUTS:
                raise ModelNotAvailable(f"adapter {self._adapter}: it was trained to read chat messages (prompt "
                                        f"layout {lm.prompt_layout!r}), not to price; use a pricing adapter")
            self._lm = lm
        return self._lm

    @property
    def model_id(self) -> str:
        return self.lm.model_id

    @property
    def adapter_id(self) -> str | None:
        return self.lm.adapter_id

    def reset(self, seed: int | None = None) -> None:
        self._seed, self._calls = seed or 0, 0

    def propose_batch(self, contexts: Sequence[PricingContext], evidences: Sequence[Evidence] | None = None,
                      seeds: Sequence[int] | None = None) -> list[Proposal]:
        """Proposals for many products in one generate. `seeds` are the products' own seeds (the catalog's
        per-SKU seeds, so a product's probe does not depend on the batch it lands in); default: `reset`'s."""
        if not contexts:
            return []
        seed = self._seed * 100_003 + self._calls
        self._calls += 1
        if self.lm.prompt_layout == "compact":  # the adapter reads the toolbox and answers only PRICE: x
            return self._propose_compact(contexts, seed, seeds or [self._seed] * len(contexts))
        from agent.generation import generate_batch

        evidences = evidences or [compute_evidence(c) for c in contexts]
        prompts = [render_messages(c, e, self.k_recent) for c, e in zip(contexts, evidences, strict=True)]
        texts = generate_batch(self.lm, prompts, max_new_tokens=self.max_new_tokens,
                               temperature=self.temperature, seed=seed)
        return [proposal_from_answer(t, c, e) for t, c, e in zip(texts, contexts, evidences, strict=True)]

    def _propose_compact(self, contexts: Sequence[PricingContext], seed: int,
                         box_seeds: Sequence[int]) -> list[Proposal]:
        """One of the toolbox's candidates, chosen by the model with its decoding held to their answers
        (`agent.generation.choose_batch`): the model cannot invent a price. Two states are not the model's
        to decide. While our price has only moved with the competitor's (`Toolbox.confounded`) it charges
        the exploration probe, seeded by the product's seed, as the toolbox's rule does: without it two copies of the
        agent facing each other moved in lockstep and both settled near the monopoly price (collusion index
        0.93 in `bench/audit.py`, 2026-12-04), and the adapter, trained on states where the probe rarely
        pays, would not pick it. Without any candidate (no period sold yet) the model is not asked either.
        Why: a free answer there is a guess from the cost and the price alone, and a bad one locks itself
        in (the shipped adapter once answered 1,212.00 for a 21.75 product at period 0; nothing sold at the
        price cap, so no candidate ever appeared: 4.8% of oracle profit on that task, the rule 99.3%). Where
        nothing sold although there was stock, the price steps down in code (`agent.evidence.no_fit_price`)."""
        from agent.candidates import build_toolbox, confounded_probe, describe_choice
        from agent.generation import choose_batch

        boxes = [build_toolbox(c, s) for c, s in zip(contexts, box_seeds, strict=True)]
        prompts = [render_compact(c, b) for c, b in zip(contexts, boxes, strict=True)]
        out: list[Proposal | None] = [None] * len(contexts)
        for i, box in enumerate(boxes):
            if (probe := confounded_probe(box)) is not None:
                out[i] = Proposal(price=round(probe.price, 2), text=compact_answer(probe.price), candidate=probe.name,
                                  candidate_words=describe_choice(box, probe, chooser="The toolbox's rule"),
                                  fallback=CONFOUNDED)
        listed = [i for i, b in enumerate(boxes) if b.candidates and out[i] is None]
        if listed:
            answers = [[compact_answer(c.price) for c in boxes[i].candidates] for i in listed]
            picks = choose_batch(self.lm, [prompts[i] for i in listed], answers, temperature=self.temperature,
                                 seed=seed)
            for i, options, j in zip(listed, answers, picks, strict=True):
                chosen = boxes[i].candidates[j]
                out[i] = Proposal(price=round(chosen.price, 2), text=options[j], candidate=chosen.name,
                                  candidate_words=describe_choice(boxes[i], chosen))
        for i, p in enumerate(out):
            if p is None:
                price, why = no_fit_price(contexts[i])
                out[i] = Proposal(price=round(price, 2), fallback=why)
        return out

    def propose(self, context: PricingContext, evidence: Evidence | None = None) -> Proposal:
        return self.propose_batch([context], None if evidence is None else [evidence])[0]

    def act(self, context: PricingContext) -> float:
        return self.propose(context).price

    def act_batch(self, contexts: Sequence[PricingContext]) -> list[float]:
        """Lets the evaluation harness play many tasks in lock-step with one generate per period."""
        return [p.price for p in self.propose_batch(contexts)]


class EvidencePolicy:
    """Charges the evidence's model-optimal price (the current price when there is no fit).

    The deterministic baseline under the LLM: the zero-shot model mostly copies this number, so
    the LLM adds value exactly where it beats this policy.
    """

    name = "evidence"

    def reset(self, seed: int | None = None) -> None:
        pass

    def act(self, context: PricingContext) -> float:
        return fallback_price(context, compute_evidence(context, with_curve=False))  # the optimum needs no point list


class ToolboxPolicy:
    """Prices by one fixed rule over the toolbox's candidates (`agent.candidates`), or one candidate.

    `candidate=None` is the rule (stock plan where there is one, else the best-fitting family's
    optimum); a name ("loglinear", "linear", "logit", "stock_plan", "explore") charges that candidate
    alone where it exists and the rule's price otherwise. These are the deterministic baselines a
    learned picker must beat.
    """

    def __init__(self, candidate: str | None = None):
        self.candidate = candidate
        self.name = "toolbox" if candidate is None else f"toolbox_{candidate}"
        self._seed = 0

    def reset(self, seed: int | None = None) -> None:
        self._seed = seed or 0

    def act(self, context: PricingContext) -> float:
        from agent.candidates import build_toolbox, rule_price

        box = build_toolbox(context, self._seed)
        chosen = box.candidate(self.candidate) if self.candidate else None
        price = chosen.price if chosen is not None else rule_price(box, context)
        return price if price is not None else no_fit_price(context)[0]
