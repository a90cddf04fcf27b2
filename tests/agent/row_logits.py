"""A recorder of the logits a model computes for each prompt, to test batch invariance bit for bit."""

from __future__ import annotations

import torch


class RowLogits:
    """Hooks a causal LM and records, per prompt (its unpadded token ids), the last-position logits of
    every forward pass generate makes for it: the prefill, then one per decoded token.

    Why logits, not texts: a greedy text flips only where two tokens are near-tied, so a test on
    texts can pass by luck; logits that are equal to the bit cannot flip anything.
    """

    def __init__(self, lm) -> None:
        model = lm.model.get_base_model() if hasattr(lm.model, "get_base_model") else lm.model
        self.rows: dict[tuple[int, ...], list[torch.Tensor]] = {}
        self._keys: list[tuple[int, ...]] = []
        self._handle = model.register_forward_hook(self._record, with_kwargs=True)

    def _record(self, module, args, kwargs, output) -> None:
        ids, mask = kwargs["input_ids"], kwargs.get("attention_mask")
        if ids.shape[1] > 1:  # a prefill: learn which prompt each row is
            mask = torch.ones_like(ids) if mask is None else mask[:, -ids.shape[1]:]
            self._keys = [tuple(row[keep.bool()].tolist()) for row, keep in zip(ids, mask, strict=True)]
        seen: set[tuple[int, ...]] = set()
        for key, logits in zip(self._keys, output.logits[:, -1, :], strict=True):
            if key not in seen:  # a copy filling up a batch records nothing twice
                seen.add(key)
                self.rows.setdefault(key, []).append(logits.detach().clone())

    def take(self) -> dict[tuple[int, ...], list[torch.Tensor]]:
        """What was recorded since the last call, and start afresh."""
        rows, self.rows = self.rows, {}
        return rows

    def close(self) -> None:
        self._handle.remove()


def mismatches(alone: dict, together: dict) -> list[str]:
    """Prompts whose logits in `together` differ from `alone` at any step (a row may run on past its
    own end while its batch finishes; only the steps it had alone are compared)."""
    bad = []
    for key, steps in alone.items():
        got = together.get(key, [])
        if len(got) < len(steps) or not all(torch.equal(a, b) for a, b in zip(steps, got, strict=False)):
            bad.append(f"prompt of {len(key)} tokens")
    return bad
