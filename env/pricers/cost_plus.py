"""Cost-plus pricing: the rule of thumb most catalogs start from."""

from __future__ import annotations

from env.context import PricingContext
from env.demand_fit import clip


class CostPlus:
    """Price = unit cost * (1 + markup), clipped to the guardrail range.

    Assumptions: none about demand at all — it ignores sales, competitors and stock, which is
    exactly why it is the floor every learning pricer must beat. Reference: the full-cost /
    mark-up pricing rule documented by Hall & Hitch (1939), "Price theory and business
    behaviour", Oxford Economic Papers 2.
    """

    name = "cost_plus"

    def __init__(self, markup: float = 0.5):
        if markup < 0:
            raise ValueError("markup: must be >= 0")
        self.markup = markup

    def reset(self, seed: int | None = None) -> None:
        """Stateless: nothing to reset."""

    def act(self, context: PricingContext) -> float:
        low, high = context.price_bounds()
        return clip(context.product.unit_cost * (1 + self.markup), low, high)
