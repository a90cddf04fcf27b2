"""Named scenario presets: the three classic retail cases plus the Calvano logit duopoly.

Each preset is a function returning a `TaskSpec`, so a preset is just a well-chosen task and
everything that runs on tasks (oracle, harness, gym envs, the agent) runs on it.
"""

from __future__ import annotations

from collections.abc import Callable

from env.task import (
    Competitor,
    ConstantElasticityDemand,
    Harmonic,
    Inventory,
    LinearDemand,
    LogitDemand,
    MemberSegment,
    Seasonality,
    Spike,
    TaskSpec,
)


def seasonal_perishable(horizon: int = 14, seed: int = 0) -> TaskSpec:
    """Flowers before a holiday: two weeks, a three-day spike, one delivery of stock that expires."""
    return TaskSpec(
        task_id="seasonal_perishable", seed=seed, horizon=horizon,
        unit_cost=8.0, initial_price=20.0, min_price=9.0, max_price=60.0,
        demand=ConstantElasticityDemand(scale=25.0, elasticity=-2.2, ref_price=20.0),
        noise=0.15,
        seasonality=Seasonality(harmonics=(Harmonic(period=7, amplitude=0.15),),
                                spikes=(Spike(start=max(0, horizon - 4), length=3, lift=2.5),)),
        inventory=Inventory(initial=450.0, holding_cost=0.1, perishable=True),
    )


def member_pricing(horizon: int = 50, seed: int = 0) -> TaskSpec:
    """A grocery item with a loyalty programme: members get 10% off and are less price-sensitive."""
    return TaskSpec(
        task_id="member_pricing", seed=seed, horizon=horizon,
        unit_cost=2.4, initial_price=3.99, min_price=2.5, max_price=9.99,
        demand=ConstantElasticityDemand(scale=300.0, elasticity=-2.8, ref_price=3.99, cross=0.6),
        noise=0.1,
        member=MemberSegment(share=0.35, discount=0.10, elasticity=-1.6),
        competitors=(Competitor(kind="fixed", initial_price=3.79, unit_cost=2.3),),
    )


def inventory_constrained(horizon: int = 50, seed: int = 0) -> TaskSpec:
    """Weekly deliveries below unconstrained demand: scarce stock should be priced up, not sold out."""
    return TaskSpec(
        task_id="inventory_constrained", seed=seed, horizon=horizon,
        unit_cost=15.0, initial_price=29.0, min_price=16.0, max_price=80.0,
        demand=LinearDemand(intercept=200.0, slope=4.0),
        noise=0.12,
        inventory=Inventory(initial=400.0, replenish_every=7, replenish_qty=420.0, holding_cost=0.2),
    )


def calvano_duopoly(horizon: int = 100, seed: int = 0, rival: str = "best_response",
                    currency_scale: float = 1.0) -> TaskSpec:
    """The Calvano et al. (2020) logit duopoly: a_i = 2, a_0 = 0, mu = 0.25, c = 1 (x currency_scale).

    Nash price ~1.473, joint-profit price ~1.925 (x scale). `rival` is `best_response`, `fixed`,
    or the name of a pricer for a policy rival (e.g. `q_learning`, or the agent itself).
    """
    s = currency_scale
    kind = rival if rival in ("best_response", "fixed", "undercut", "match") else "policy"
    return TaskSpec(
        task_id=f"calvano_duopoly_{rival}", seed=seed, horizon=horizon,
        unit_cost=1.0 * s, initial_price=1.7 * s, min_price=1.0 * s, max_price=2.5 * s,
        demand=LogitDemand(market_size=1.0, quality=2.0 * s, mu=0.25 * s, outside_quality=0.0),
        noise=0.0,
        competitors=(Competitor(kind=kind, initial_price=1.7 * s, unit_cost=1.0 * s, quality=2.0 * s,
                                policy=rival if kind == "policy" else None),),
    )


SCENARIOS: dict[str, Callable[..., TaskSpec]] = {
    "seasonal_perishable": seasonal_perishable,
    "member_pricing": member_pricing,
    "inventory_constrained": inventory_constrained,
    "calvano_duopoly": calvano_duopoly,
}


def make_scenario(name: str, **kwargs) -> TaskSpec:
    if name not in SCENARIOS:
        raise ValueError(f"scenario: unknown scenario '{name}' (choose from {', '.join(SCENARIOS)})")
    return SCENARIOS[name](**kwargs)
