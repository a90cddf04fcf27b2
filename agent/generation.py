"""Batched generation on a loaded model: free text (`generate_batch`) and a choice among given answers
(`choose_batch`).

Split from `agent.model` (loading) so that code which only generates, and the tiny test model, do not
pull in the loader. Both functions compute every prompt with shapes fixed by its own length, so an
answer never depends on what else is in the batch (see `generate_batch`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from transformers import StoppingCriteria, StoppingCriteriaList


@dataclass
class LoadedModel:
    """A model ready for generation (an adapter, when loaded, is merged into its weights: `agent.model`)."""

    model: Any
    tokenizer: Any
    model_id: str
    adapter_id: str | None
    dtype: torch.dtype
    prompt_layout: str = "long"  # the prompt the adapter was trained on (`agent.prompt.LAYOUTS`)


# Every prompt is left-padded to a multiple of this many tokens, and generated in a batch of exactly
# this many rows (filled up with copies), whatever else was asked for with it: see generate_batch.
PAD_BUCKET = 64
ROWS_PER_GENERATE = 4


def _token_ids(lm: LoadedModel, prompts: list[list[dict]] | list[str], max_length: int) -> list[list[int]]:
    """Chat-template message lists and tokenise each prompt.

    Templated prompts already hold their special tokens, so only raw strings get the tokenizer's own.
    Overlong prompts lose their beginning (the question is at the end).
    """
    tok = lm.tokenizer
    rows = []
    for prompt in prompts:
        if isinstance(prompt, str):
            ids = tok(prompt, add_special_tokens=True)["input_ids"]
        else:
            text = tok.apply_chat_template(list(prompt), add_generation_prompt=True, tokenize=False)
            ids = tok(text, add_special_tokens=False)["input_ids"]
        rows.append(ids[-max_length:])
    return rows


def _prompt_room(lm: LoadedModel, new_tokens: int) -> int:
    """How many prompt tokens fit in the model's context beside `new_tokens` to be generated (at least 1)."""
    limit = getattr(lm.model.config, "max_position_embeddings", None) or 2048
    return max(1, limit - new_tokens)


def padded_length(n_tokens: int, max_length: int) -> int:
    """The length a prompt of `n_tokens` is left-padded to: the next multiple of PAD_BUCKET."""
    return min(max_length, -(-n_tokens // PAD_BUCKET) * PAD_BUCKET)


def length_groups(lengths: list[int], max_length: int) -> dict[int, list[int]]:
    """Indices of the prompts, grouped by the length each is padded to (first-seen order)."""
    groups: dict[int, list[int]] = {}
    for i, n in enumerate(lengths):
        groups.setdefault(padded_length(n, max_length), []).append(i)
    return groups


def generate_batch(lm: LoadedModel, prompts: list[list[dict]] | list[str], max_new_tokens: int = 24,
                   temperature: float = 0.0, seed: int = 0) -> list[str]:
    """Generate a continuation for every prompt; returns only the new text per prompt.

    Message lists get the chat template with the assistant turn opened; plain strings are used as is.
    temperature == 0 is greedy; otherwise plain sampling (no top-k/top-p) seeded by `seed`, so the same
    call gives the same texts. Sampling runs on a forked RNG, so the caller's global RNG is untouched.

    Why the grouping: a greedy answer must not depend on what else is in the batch (issue 13: one
    task earned 93.2% of oracle alone and 87.9% in a batch of ten). Measured on the real model, a
    row's logits move by ~3e-5 with the amount of left padding in front of it, and again when it is
    decoded alone (a matrix-vector product) instead of with others, and (on the tiny model) with
    the number of rows; any of these flips near-tied digits. So each prompt is padded to a length
    fixed by its own length (`padded_length`), and prompts of equal padded length are generated
    ROWS_PER_GENERATE at a time, the last batch filled up with copies: every row is computed with
    the same shapes whatever its neighbours (tests compare each step's logits bit for bit, on the
    tiny and the real model). The price: up to 63 pad tokens a prompt, some duplicate rows and
    smaller batches; 16 prompts of 305-574 tokens took 34 s this way against 24 s as one batch
    (fp32, 2 cores), where four rows a generate was the fastest fixed size tried (2, 3, 4, 8, 16).
    Equal shapes are not enough on every CPU: on an AMD EPYC, MKL's default dispatch still gave a
    row other last bits in a mixed batch than among copies of itself; `agent/__init__.py` turns on
    MKL's conditional numerical reproducibility (MKL_CBWR=AUTO, no measurable cost on a matmul).
    """
    if not prompts:
        return []
    if temperature < 0:
        raise ValueError(f"temperature must be >= 0, got {temperature}")
    max_length = _prompt_room(lm, max_new_tokens)
    ids = _token_ids(lm, prompts, max_length)
    pad_id = lm.tokenizer.pad_token_id
    options: dict[str, Any] = {"max_new_tokens": max_new_tokens, "pad_token_id": pad_id}
    if temperature == 0:
        options.update(do_sample=False, temperature=None, top_k=None, top_p=None)
    else:
        options.update(do_sample=True, temperature=float(temperature), top_k=0, top_p=1.0)
    texts: list[str] = [""] * len(prompts)
    for chunk, new_tokens in _fixed_shape_generate(lm, ids, max_length, seed, lambda rows: options):
        for i, text in zip(chunk, lm.tokenizer.batch_decode(new_tokens, skip_special_tokens=True), strict=False):
            texts[i] = text
    return texts


def copy_generate(lm: LoadedModel, prompt: list[dict], max_new_tokens: int, lookup: int = 10) -> str:
    """One greedy answer for one prompt, alone (no padding, no fill-up rows), decoded with prompt lookup.

    For answers that mostly copy their prompt, like the message reader's ("unit_cost: $6.50" copies the
    message's "$6.50"): transformers' prompt lookup decoding (`prompt_lookup_num_tokens`) proposes the next
    `lookup` tokens from where the last tokens occur in the prompt and the model checks them all in one
    forward pass, keeping those greedy decoding agrees with. Why not `generate_batch`: the chat reads one
    message at a time, and that function computes four rows of a padded length to make a row's answer
    independent of its batch, four times the work for one message. This path's answer is the same whatever
    else is asked, because it is always computed alone.
    """
    ids = _token_ids(lm, [prompt], _prompt_room(lm, max_new_tokens))[0]
    inputs = torch.tensor([ids], device=lm.model.device)
    with torch.inference_mode():
        out = lm.model.generate(input_ids=inputs, attention_mask=torch.ones_like(inputs),
                                max_new_tokens=max_new_tokens, do_sample=False, temperature=None, top_k=None,
                                top_p=None, pad_token_id=lm.tokenizer.pad_token_id,
                                prompt_lookup_num_tokens=lookup or None)
    return lm.tokenizer.decode(out[0, len(ids):], skip_special_tokens=True)


def _fixed_shape_generate(lm: LoadedModel, ids: list[list[int]], max_length: int, seed: int,
                          options_for: Callable[[list[int]], dict[str, Any]]) -> Iterator[tuple[list[int], Any]]:
    """Generates for every prompt with the batch-invariant shapes of `generate_batch`'s docstring.

    Yields (indices of the prompts in the chunk, their new tokens: one row each, copies dropped);
    `options_for(rows)` gives `generate`'s options for a chunk, whose rows are prompt indices with the
    fill-up copies included (`rows[j]` is the prompt of batch row j).
    """
    with torch.inference_mode(), torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for length, members in length_groups([len(r) for r in ids], max_length).items():
            for start in range(0, len(members), ROWS_PER_GENERATE):
                chunk = members[start:start + ROWS_PER_GENERATE]
                rows = chunk + [chunk[-1]] * (ROWS_PER_GENERATE - len(chunk))
                batch = lm.tokenizer.pad([{"input_ids": ids[i]} for i in rows], padding="max_length",
                                         max_length=length, return_tensors="pt")
                batch = {k: v.to(lm.model.device) for k, v in batch.items()}
                out = lm.model.generate(**batch, **options_for(rows))
                yield chunk, out[: len(chunk), length:]


# --------------------------------------------------------------------------- a choice among given answers


def _common_prefix(seqs: list[list[int]]) -> int:
    n = min(len(s) for s in seqs)
    for k in range(n):
        if any(s[k] != seqs[0][k] for s in seqs[1:]):
            return k
    return n


def _matching(rests: list[list[int]], generated: list[int]) -> list[int]:
    return [j for j, r in enumerate(rests) if r[: len(generated)] == generated]


class _Decided(StoppingCriteria):
    """Stops a row as soon as its tokens so far fit one answer only (the rest of it is forced)."""

    def __init__(self, rests: list[list[list[int]]], start: int):
        self.rests, self.start = rests, start

    def __call__(self, input_ids: torch.LongTensor, scores, **kwargs) -> torch.BoolTensor:
        done = [len(_matching(self.rests[j], input_ids[j, self.start:].tolist())) <= 1
                for j in range(input_ids.shape[0])]
        return torch.tensor(done, dtype=torch.bool, device=input_ids.device)


def choose_batch(lm: LoadedModel, prompts: Sequence[list[dict] | str], answers: Sequence[Sequence[str]],
                 temperature: float = 0.0, seed: int = 0) -> list[int]:
    """For every prompt, the index of the answer (among its own `answers`) the model writes.

    Decoding is constrained to the answers' tokens (each followed by the end-of-turn token): greedy,
    the answer is the one greedy decoding reaches when only these continuations are allowed; with a
    temperature, each step samples among the allowed tokens (seeded like `generate_batch`). Why: the
    compact prompt lists the toolbox's candidates and the model is trained to answer one of them, so
    it can never invent a price, and the tokens all answers share (`PRICE: `, the leading digits) are
    appended to the prompt rather than decoded, and decoding stops as soon as one answer is left:
    only the digits that tell the candidates apart are decoded (60 compact decisions took 16 s this
    way against 42 s decoded freely, worth 0.9642 against 0.9644 of the oracle value; bf16, 2 cores).
    """
    if len(prompts) != len(answers) or any(not a for a in answers):
        raise ValueError("choose_batch: every prompt needs at least one answer")
    if temperature < 0:
        raise ValueError(f"temperature must be >= 0, got {temperature}")
    tok = lm.tokenizer
    end = tok.eos_token_id
    seqs = [[tok(a, add_special_tokens=False)["input_ids"] + [end] for a in options] for options in answers]
    longest = max(len(s) for options in seqs for s in options)
    max_length = _prompt_room(lm, longest)
    ids = _token_ids(lm, list(prompts), max_length)
    chosen: list[int] = [0] * len(prompts)
    rests: list[list[list[int]]] = [[] for _ in prompts]
    todo = []
    for i, options in enumerate(seqs):
        shared = _common_prefix(options)
        ids[i] = (ids[i] + options[0][:shared])[-max_length:]  # what every answer starts with is not decoded
        rests[i] = [s[shared:] for s in options]
        if len({tuple(r) for r in rests[i]}) > 1:
            todo.append(i)  # otherwise every answer is the same text: the first one
    if not todo:
        return chosen

    def options_for(rows: list[int]) -> dict[str, Any]:
        row_rests = [rests[todo[r]] for r in rows]
        padded = padded_length(len(ids[todo[rows[0]]]), max_length)  # the same for every row of a chunk

        def allowed(batch_id: int, input_ids: torch.Tensor) -> list[int]:
            generated = input_ids[padded:].tolist()
            nxt = {row_rests[batch_id][j][len(generated)] for j in _matching(row_rests[batch_id], generated)
                   if len(row_rests[batch_id][j]) > len(generated)}
            return sorted(nxt) or [end]

        options: dict[str, Any] = {"max_new_tokens": max(len(r) for rr in row_rests for r in rr),
                                   "pad_token_id": tok.pad_token_id, "prefix_allowed_tokens_fn": allowed,
                                   "stopping_criteria": StoppingCriteriaList([_Decided(row_rests, padded)])}
        if temperature == 0:
            options.update(do_sample=False, temperature=None, top_k=None, top_p=None)
        else:
            options.update(do_sample=True, temperature=float(temperature), top_k=0, top_p=1.0)
        return options

    for chunk, new_tokens in _fixed_shape_generate(lm, [ids[i] for i in todo], max_length, seed, options_for):
        for k, row in zip(chunk, new_tokens.tolist(), strict=True):
            i = todo[k]
            for n in range(1, len(row) + 1):
                match = _matching(rests[i], row[:n])
                if len(match) <= 1:
                    break
            chosen[i] = match[0] if match else 0
    return chosen
