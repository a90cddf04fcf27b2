"""A choice among given answers (`choose_batch`) on the tiny model: held to the answers, greedy where it
decides, the same alone and in a batch, seeded when it samples."""

from __future__ import annotations

import pytest
import torch

from agent.generation import _token_ids, choose_batch
from agent.tiny import tiny_model

pytestmark = pytest.mark.dtype_sensitive  # the tiny model loads with dtype "auto": run under both (Makefile)

PROMPTS = [[{"role": "user", "content": "Unit cost 1.20, price 3.50. What price next?"}],
           [{"role": "user", "content": "stock 40 left 9"}],
           "price cost units demand week sold",
           [{"role": "user", "content": " ".join(["demand"] * 90)}]]
ANSWERS = [["PRICE: 12.30", "PRICE: 47.10", "PRICE: 12.95"], ["PRICE: 3.10", "PRICE: 3.15"],
           ["PRICE: 9.99", "PRICE: 19.99", "PRICE: 29.99", "PRICE: 39.99"], ["PRICE: 5.00", "PRICE: 8.00"]]


def _next_token_logits(lm, prompt, forced: list[int]) -> torch.Tensor:
    """The logits after the prompt and `forced` (the tokens all answers share), unpadded, one row."""
    ids = _token_ids(lm, [prompt], 2000)[0] + forced
    with torch.inference_mode():
        return lm.model(torch.tensor([ids])).logits[0, -1].float()


def test_greedy_choice_follows_the_models_logits_where_the_answers_part():
    lm = tiny_model(0)
    tok = lm.tokenizer
    a, b = "PRICE: 12.30", "PRICE: 47.10"
    ids_a, ids_b = (tok(x, add_special_tokens=False)["input_ids"] for x in (a, b))
    shared = next(k for k in range(len(ids_a)) if ids_a[k] != ids_b[k])  # where the answers part
    for prompt in PROMPTS:
        logits = _next_token_logits(lm, prompt, ids_a[:shared])
        expected = 0 if logits[ids_a[shared]] > logits[ids_b[shared]] else 1
        assert choose_batch(lm, [prompt], [[a, b]]) == [expected]


def test_choices_are_indices_of_each_prompts_own_answers_and_do_not_depend_on_the_batch():
    lm = tiny_model(0)
    together = choose_batch(lm, PROMPTS, ANSWERS)
    assert [0 <= j < len(a) for j, a in zip(together, ANSWERS, strict=True)] == [True] * len(PROMPTS)
    assert together == [choose_batch(lm, [p], [a])[0] for p, a in zip(PROMPTS, ANSWERS, strict=True)]
    assert choose_batch(lm, PROMPTS[:1], [["PRICE: 2.00"]]) == [0]  # one answer: nothing to choose
    assert choose_batch(lm, PROMPTS[:1], [["PRICE: 2.00", "PRICE: 2.00"]]) == [0]


def test_sampled_choices_are_seeded_and_vary_with_the_seed():
    lm = tiny_model(0)
    many = [["PRICE: 1", "PRICE: 2", "PRICE: 3", "PRICE: 4", "PRICE: 5"]] * 8
    prompts = [PROMPTS[0]] * 8
    first = choose_batch(lm, prompts, many, temperature=2.0, seed=3)
    assert choose_batch(lm, prompts, many, temperature=2.0, seed=3) == first
    seen = set(first)
    for seed in range(4, 10):
        seen |= set(choose_batch(lm, prompts, many, temperature=2.0, seed=seed))
    assert len(seen) >= 3  # near-uniform logits on the random model: several answers get drawn


def test_bad_calls_are_refused():
    lm = tiny_model(0)
    with pytest.raises(ValueError, match="at least one answer"):
        choose_batch(lm, PROMPTS[:2], [["PRICE: 1"]])
    with pytest.raises(ValueError, match="at least one answer"):
        choose_batch(lm, PROMPTS[:1], [[]])
    with pytest.raises(ValueError, match="temperature"):
        choose_batch(lm, PROMPTS[:1], [["PRICE: 1", "PRICE: 2"]], temperature=-1)
