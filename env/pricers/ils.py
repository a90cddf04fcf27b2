"""Greedy iterated least squares (certainty-equivalent pricing with a linear demand fit)."""

from __future__ import annotations

from env.context import PricingContext
from env.demand_fit import argmax_profit, clip, fit_linear_demand, price_grid, uncensored


class GreedyILS:
    """Refit q = a - b p by OLS on the whole history each period, then charge argmax (p - c)(a - b p).

    Assumptions: demand is linear in the own price with additive noise and stationary (no
    seasonality, competitor or reference effects are modelled); stock-out rows are dropped as
    censored. With fewer than two distinct prices (or an upward-sloping fit, b <= 0) it cannot
    optimise, so it plays the current price, then the current price * 1.1, and afterwards
    alternates +/-10% around the current price until the fit is usable.

    Known weakness: *incomplete learning*. Because it never explores on purpose, its prices can
    settle where the data no longer distinguish the true curve from a wrong one, and it stays
    there (den Boer & Zwart 2014, "Simultaneously learning and optimizing using controlled
    variance pricing", Management Science 60(3); Keskin & Zeevi 2014, Operations Research 62(5)).
    """

    name = "ils"

    def __init__(self, perturbation: float = 0.1, grid_size: int = 256):
        self.perturbation = perturbation
        self.grid_size = grid_size

    def reset(self, seed: int | None = None) -> None:
        """Deterministic given the history: nothing to reset."""

    def fit(self, context: PricingContext) -> tuple[float, float] | None:
        """(a, b) of the linear demand fit, or None when not identifiable or not downward sloping."""
        est = fit_linear_demand(uncensored(context.history))
        if est is None or est[1] <= 0:
            return None
        return est

    def greedy_price(self, context: PricingContext) -> float:
        """The certainty-equivalent price, or the deterministic fallback while the fit is unusable."""
        low, high = context.price_bounds()
        current = context.product.current_price
        est = self.fit(context) if len(context.history) >= 2 else None
        if est is None:
            n = len(context.history)
            if n == 0:
                return clip(current, low, high)
            step = 1 + self.perturbation if n % 2 == 1 else 1 - self.perturbation
            up = current * step
            if not low <= up <= high:  # at a bound: go the other way
                up = current / step
            return clip(up, low, high)
        a, b = est
        grid = price_grid(low, high, self.grid_size)
        return argmax_profit(grid, context.product.unit_cost, demand=a - b * grid)

    def act(self, context: PricingContext) -> float:
        low, high = context.price_bounds()
        return clip(self.greedy_price(context), low, high)
