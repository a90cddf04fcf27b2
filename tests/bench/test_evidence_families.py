"""The second-demand-family prototype measured by bench/evidence_families.py picks the right family."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.evidence_families import linear_optimum  # noqa: E402
from env.context import HistoryRow, PricingContext, Product  # noqa: E402


def _context(demand, prices, cost=4.0, noise=0.0, seed=0) -> PricingContext:
    rng = np.random.default_rng(seed)
    rows = tuple(HistoryRow(period=i, price=float(p), units=max(0.0, float(demand(p) * (1 + noise * rng.normal()))))
                 for i, p in enumerate(prices))
    return PricingContext(product=Product(sku="A", unit_cost=cost, current_price=float(prices[-1])), history=rows)


PRICES = [8.0, 9.0, 10.0, 11.0, 12.0, 9.5, 10.5, 11.5]


def test_linear_demand_gets_the_lines_optimum():
    ctx = _context(lambda p: 200 - 12 * p, PRICES, noise=0.02)  # optimum (4 + 200/12) / 2 = 10.33
    assert linear_optimum(ctx) == pytest.approx(10.33, abs=0.15)


def test_log_linear_demand_is_left_to_the_shipped_evidence():
    assert linear_optimum(_context(lambda p: 5000 * p ** -2.5, PRICES, noise=0.02)) is None


def test_too_little_or_flat_history_says_nothing():
    assert linear_optimum(_context(lambda p: 200 - 12 * p, PRICES[:4])) is None
    assert linear_optimum(_context(lambda p: 200 - 12 * p, [10.0] * 8)) is None
