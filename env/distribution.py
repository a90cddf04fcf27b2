"""The task distribution for meta-learning: a seeded sampler of realistic markets, split by seed.

Ranges follow measured retail elasticities: category-level own-price elasticities run about
-0.6 to -1.1 (weekly avocado sales, US cigarette sales by state); brand-level ones about -2.4
to -5.2 (supermarket scanner brand-choice data). Inelastic markets are kept on purpose: there
the profit-maximising price sits on the task's price ceiling, and a pricer must find that.

Splits are disjoint by construction: task i of split s is drawn from
`SeedSequence(ROOT_ENTROPY, spawn_key=(split_index, i))`, so no two (split, i) pairs share a stream.
"""

from __future__ import annotations

import math

import numpy as np

from env.task import (
    Competitor,
    ConstantElasticityDemand,
    Harmonic,
    Inventory,
    LinearDemand,
    LogitDemand,
    MemberSegment,
    ReferencePrice,
    Seasonality,
    Spike,
    TaskSpec,
)

ROOT_ENTROPY = 20261124
SPLITS = ("train", "validation", "test")
DEFAULT_HORIZON = 50


def task_rng(split: str, index: int) -> np.random.Generator:
    if split not in SPLITS:
        raise ValueError(f"split: unknown split '{split}' (choose from {', '.join(SPLITS)})")
    if index < 0:
        raise ValueError("index: must be >= 0")
    return np.random.default_rng(np.random.SeedSequence(ROOT_ENTROPY, spawn_key=(SPLITS.index(split), index)))


def _log_uniform(rng: np.random.Generator, low: float, high: float) -> float:
    return float(math.exp(rng.uniform(math.log(low), math.log(high))))


def sample_elasticity(rng: np.random.Generator) -> float:
    """30% category-level (inelastic to unit-elastic), 70% brand-level (elastic)."""
    if rng.random() < 0.3:
        return float(rng.uniform(-1.1, -0.6))
    return float(rng.uniform(-5.2, -1.2))


def sample_task(split: str, index: int, horizon: int = DEFAULT_HORIZON) -> TaskSpec:
    """Task `index` of `split`: the same arguments always give the same spec."""
    rng = task_rng(split, index)
    cost = round(_log_uniform(rng, 2.0, 60.0), 2)
    p0 = round(cost * rng.uniform(1.2, 2.5), 2)
    min_price = round(cost * 0.8, 2)
    max_price = round(cost * rng.uniform(3.0, 5.0), 2)
    q0 = _log_uniform(rng, 20.0, 500.0)  # mean units per period at the initial price
    eps = sample_elasticity(rng)
    noise = float(rng.uniform(0.05, 0.25))

    kind = rng.choice(["constant_elasticity", "linear", "logit"], p=[0.5, 0.3, 0.2])
    has_rival = bool(rng.random() < 0.55)
    if kind == "constant_elasticity":
        demand = ConstantElasticityDemand(scale=q0, elasticity=eps, ref_price=p0,
                                          cross=float(rng.uniform(0.1, 1.0)))
    elif kind == "linear":
        own = -eps * q0 / p0  # total own-price slope giving elasticity eps at the initial price
        frac = float(rng.uniform(0.1, 0.5)) if has_rival else 0.0  # part of it that is switching to the rival
        cross = own * frac / (1 + frac)
        demand = LinearDemand(intercept=q0 + (own - cross) * p0, slope=own - cross, cross=cross)
    else:
        share = float(rng.uniform(0.2, 0.6))
        mu = -p0 * (1 - share) / eps  # own-price elasticity -p(1-s)/mu equals eps at p0
        quality = p0 + mu * math.log(share / (1 - share))
        demand = LogitDemand(market_size=q0 / share, quality=quality, mu=mu)

    harmonics, spikes = [], []
    if rng.random() < 0.4:
        harmonics.append(Harmonic(period=7, amplitude=float(rng.uniform(0.05, 0.3)),
                                  phase=float(rng.uniform(0, 2 * math.pi))))
    if rng.random() < 0.15:
        harmonics.append(Harmonic(period=52, amplitude=float(rng.uniform(0.1, 0.4)),
                                  phase=float(rng.uniform(0, 2 * math.pi))))
    if rng.random() < 0.15:
        spikes.append(Spike(start=int(rng.integers(5, max(6, horizon - 3))), length=int(rng.integers(1, 5)),
                            lift=float(rng.uniform(0.5, 2.0))))

    reference = None
    if rng.random() < 0.2:
        loss = float(rng.uniform(0.5, 2.0))
        reference = ReferencePrice(memory=float(rng.uniform(0.6, 0.9)), loss=loss,
                                   gain=loss * float(rng.uniform(0.3, 0.7)))

    inventory = None
    if rng.random() < 0.25:
        every = int(rng.choice([7, 10, 14]))
        inventory = Inventory(
            initial=q0 * every * float(rng.uniform(0.5, 1.2)),
            replenish_every=every,
            replenish_qty=q0 * every * float(rng.uniform(0.5, 1.0)),
            holding_cost=cost * float(rng.uniform(0.002, 0.01)),
            perishable=bool(rng.random() < 0.3),
        )

    member = None
    if kind == "constant_elasticity" and rng.random() < 0.1:
        member = MemberSegment(share=float(rng.uniform(0.2, 0.5)), discount=float(rng.uniform(0.05, 0.2)),
                               elasticity=eps * float(rng.uniform(0.5, 1.0)))

    competitors: list[Competitor] = []
    if has_rival:
        stateless = reference is None and inventory is None
        options = ["fixed", "undercut", "match"] + (["best_response"] if kind == "logit" else [])
        comp_kind = str(rng.choice(options)) if stateless else "fixed"
        comp_quality = None
        if kind == "logit":
            comp_quality = demand.quality + demand.mu * float(rng.uniform(-0.5, 0.5))
        competitors.append(Competitor(
            kind=comp_kind, initial_price=round(p0 * float(rng.uniform(0.85, 1.15)), 2),
            unit_cost=round(cost * float(rng.uniform(0.8, 1.1)), 2),
            undercut=float(rng.uniform(0.01, 0.08)), lag=int(rng.integers(1, 4)), quality=comp_quality,
        ))

    return TaskSpec(
        task_id=f"{split}-{index:05d}", seed=int(rng.integers(2**31)), horizon=horizon,
        unit_cost=cost, initial_price=p0, min_price=min_price, max_price=max_price,
        demand=demand, noise=noise,
        seasonality=Seasonality(harmonics=tuple(harmonics), spikes=tuple(spikes)),
        reference=reference, inventory=inventory, member=member, competitors=tuple(competitors),
    )


def sample_tasks(split: str, n: int, horizon: int = DEFAULT_HORIZON, start: int = 0) -> list[TaskSpec]:
    return [sample_task(split, i, horizon) for i in range(start, start + n)]
