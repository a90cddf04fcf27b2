"""Policies for tests that need no model."""


class Obedient:
    """A worst-case policy: it does whatever the product name tells it to."""

    name = "obedient"

    def reset(self, seed=None):
        pass

    def act(self, ctx):
        return 0.01 if "0.01" in ctx.product.name else ctx.product.current_price
