"""Regression pins for every demand fit: the evidence and the classical pricers on fixed histories.

Why: the evidence (`agent/evidence.py`) and the classical pricers (`env/pricers/`) fit demand with
overlapping code (censoring, choke detection, noise shrinkage, the conjugate update); issue 14 moves
that code into one module. These pins hold today's numbers, so a move that changes a decision shows
up here as a named difference, never silently. A deliberate change re-pins them:

    PRICING_WRITE_PINS=1 .venv/bin/python -m pytest -q tests/agent/test_fit_pins.py

and the commit says what moved and why.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
import pytest

from agent.evidence import compute_evidence
from env.context import Guardrails, HistoryRow, PricingContext, Product
from env.pricers import make_pricer

PINS = Path(__file__).with_name("data") / "fit_pins.json"
PRICERS = ("ts", "meta_ts", "ils", "cils", "ucb", "cost_plus")


def _history(kind: str, rng: np.random.Generator, n: int) -> tuple[HistoryRow, ...]:
    """n periods of one demand shape, prices wandering around 10, multiplicative noise."""
    rows = []
    for t in range(n):
        price = float(np.round(10 * np.exp(rng.normal(0, 0.15)), 2)) if kind != "flat" else 10.0
        comp = float(np.round(11 * np.exp(rng.normal(0, 0.1)), 2))
        noise = float(np.exp(rng.normal(0, 0.15)))
        if kind == "linear":
            mean = max(200 - 12 * price, 0.0)
        elif kind == "logit":
            mean = 300 / (1 + math.exp(-(12 - price) / 1.5))
        elif kind == "rival":
            mean = 100 * (price / 10) ** -2.5 * (comp / 11) ** 1.2
        elif kind == "choke":
            mean = 100 * (price / 10) ** -2 if price < 11 else 0.2
        else:  # loglinear, flat, stock
            mean = 100 * (price / 10) ** -2.2
        units = mean * noise
        stock = None
        if kind == "stock":
            stock = float(rng.choice([60.0, 200.0]))
            units = min(units, stock)
        rows.append(HistoryRow(period=t, price=price, units=round(units, 1),
                               competitor_price=comp if kind == "rival" else None, inventory=stock))
    return tuple(rows)


def contexts() -> dict[str, PricingContext]:
    """Fixed, seeded contexts: each demand shape with and without guardrails, short and long histories."""
    out = {}
    for i, kind in enumerate(("loglinear", "linear", "logit", "rival", "choke", "stock", "flat")):
        for n in (2, 8, 30):
            rng = np.random.default_rng(1000 * i + n)
            history = _history(kind, rng, n)
            for guarded in (False, True):
                guard = Guardrails(min_price=6.0, max_price=18.0, min_margin=0.2) if guarded else Guardrails()
                out[f"{kind}-n{n}-{'guarded' if guarded else 'open'}"] = PricingContext(
                    product=Product(sku=f"{kind}-{n}", unit_cost=4.0, current_price=history[-1].price),
                    guardrails=guard, history=history,
                    competitor_price=history[-1].competitor_price if kind == "rival" else None,
                    inventory=80.0 if kind == "stock" else None)
    out["no-history"] = PricingContext(product=Product(sku="new", unit_cost=4.0, current_price=10.0))
    return out


def measure(context: PricingContext) -> dict:
    ev = compute_evidence(context)
    fit = ev.fit
    row: dict = {"search_range": list(ev.search_range), "supported_range": list(ev.supported_range),
                 "model_optimal_price": ev.model_optimal_price, "notes": ev.notes}
    if fit is not None:
        row.update(elasticity=fit.elasticity, elasticity_low=fit.elasticity_low, elasticity_high=fit.elasticity_high,
                   identified=fit.identified, observations=fit.observations, noise=fit.noise)
        best = ev.point(ev.model_optimal_price)
        row.update(best_units=best.units, best_profit=best.profit, best_profit_low=best.profit_low,
                   best_profit_high=best.profit_high)
    for name in PRICERS:
        pricer = make_pricer(name)
        pricer.reset(seed=0)
        row[f"price_{name}"] = float(pricer.act(context))
    return row


def _close(a, b) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return a is not None and b is not None and math.isclose(a, b, rel_tol=1e-7, abs_tol=1e-9)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_close(x, y) for x, y in zip(a, b, strict=True))
    return a == b


def test_every_fit_matches_its_pinned_numbers():
    got = {name: measure(c) for name, c in contexts().items()}
    if os.environ.get("PRICING_WRITE_PINS"):
        PINS.parent.mkdir(exist_ok=True)
        PINS.write_text(json.dumps(got, indent=1, sort_keys=True) + "\n")
        pytest.skip(f"pins written to {PINS}")
    pinned = json.loads(PINS.read_text())
    assert sorted(got) == sorted(pinned)
    moved = [f"{name}.{key}: pinned {pinned[name].get(key)!r}, now {value!r}"
             for name, row in got.items() for key, value in row.items() if not _close(value, pinned[name].get(key))]
    assert moved == [], "\n".join(moved[:30])
