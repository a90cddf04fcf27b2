"""A task is one simulated market for one product, fully described by a small JSON spec.

Everything a simulation needs (demand model, noise, seasonality, reference-price effect,
inventory, a member segment, competitors, price range, horizon, seed) is in `TaskSpec`, so any
result can be replayed from its spec alone: `TaskSpec.model_validate_json(text)`.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from env.context import _Strict

PositiveFloat = Annotated[float, Field(gt=0)]


class LinearDemand(_Strict):
    """q = intercept - slope * p + cross * (competitor_price - p), floored at 0."""

    kind: Literal["linear"] = "linear"
    intercept: PositiveFloat
    slope: PositiveFloat
    cross: float = Field(default=0.0, ge=0)


class ConstantElasticityDemand(_Strict):
    """q = scale * (p / ref_price) ** elasticity * (competitor_price / ref_price) ** cross (log-log)."""

    kind: Literal["constant_elasticity"] = "constant_elasticity"
    scale: PositiveFloat
    elasticity: float = Field(lt=0, ge=-20)
    ref_price: PositiveFloat
    cross: float = Field(default=0.0, ge=0)


class LogitDemand(_Strict):
    """Multinomial logit with an outside option, in the parameterisation of Calvano et al. (2020).

    q_i = market_size * exp((a_i - p_i)/mu) / (sum_j exp((a_j - p_j)/mu) + exp(a_0/mu)),
    where this seller's a_i is `quality`, the outside option's a_0 is `outside_quality` and each
    competitor brings its own `quality`.
    """

    kind: Literal["logit"] = "logit"
    market_size: PositiveFloat
    quality: float
    mu: PositiveFloat
    outside_quality: float = 0.0


DemandSpec = Annotated[LinearDemand | ConstantElasticityDemand | LogitDemand, Field(discriminator="kind")]


class Harmonic(_Strict):
    """A periodic demand pattern: multiplier 1 + amplitude * sin(2 pi t / period + phase)."""

    period: PositiveFloat
    amplitude: float = Field(ge=0, lt=1)
    phase: float = 0.0


class Spike(_Strict):
    """A demand spike (a holiday): demand is multiplied by 1 + lift for `length` periods from `start`."""

    start: int = Field(ge=0)
    length: int = Field(default=1, ge=1)
    lift: float = Field(gt=-1)


class Seasonality(_Strict):
    harmonics: tuple[Harmonic, ...] = ()
    spikes: tuple[Spike, ...] = ()


class ReferencePrice(_Strict):
    """Customers anchor on a reference price r that follows past prices: r' = memory*r + (1-memory)*p.

    Demand is multiplied by exp(-loss * (p - r) / r) when p > r and exp(gain * (r - p) / r) when p < r.
    Loss aversion (loss > gain) makes a rise above the reference hurt more than a cut helps.
    """

    memory: float = Field(ge=0, lt=1)
    loss: float = Field(ge=0)
    gain: float = Field(ge=0)
    initial: PositiveFloat | None = Field(default=None, description="Defaults to the initial price.")

    @model_validator(mode="after")
    def _loss_averse(self) -> ReferencePrice:
        if self.gain > self.loss:
            raise ValueError("gain must not exceed loss (customers are loss averse)")
        return self


class Inventory(_Strict):
    """Stock with periodic replenishment; demand above stock is lost.

    `holding_cost` is charged per unit left at the end of each period. Perishable stock still on
    hand after the last period is written off at unit cost.
    """

    initial: float = Field(ge=0)
    replenish_every: int | None = Field(default=None, ge=1)
    replenish_qty: float = Field(default=0.0, ge=0)
    capacity: PositiveFloat | None = None
    holding_cost: float = Field(default=0.0, ge=0)
    perishable: bool = False


class MemberSegment(_Strict):
    """A loyalty segment that pays price * (1 - discount) and has its own elasticity.

    The regular price is the decision; members always get the programme's fixed discount off it
    (how most retailers run member prices). A `share` of the demand scale belongs to members.
    Supported with constant-elasticity demand.
    """

    share: float = Field(gt=0, lt=1)
    discount: float = Field(ge=0, lt=1)
    elasticity: float = Field(lt=0, ge=-20)


class Competitor(_Strict):
    """Another seller of a substitute.

    kinds: `fixed` keeps its initial price; `undercut` posts our price from `lag` periods ago
    times (1 - undercut), never below its cost; `match` copies our price from `lag` periods ago;
    `best_response` (logit only) maximises its own expected profit against our last price;
    `policy` lets any registered pricer (by name) price for it (logit only, so two agents can play).
    """

    kind: Literal["fixed", "undercut", "match", "best_response", "policy"]
    initial_price: PositiveFloat
    unit_cost: float = Field(default=0.0, ge=0)
    undercut: float = Field(default=0.05, ge=0, lt=1)
    lag: int = Field(default=1, ge=1, le=10)
    quality: float | None = Field(default=None, description="Logit quality a_j (logit demand only).")
    policy: str | None = Field(default=None, description="Pricer name for kind='policy'.")

    @property
    def reactive(self) -> bool:
        """Whether its price depends on ours (then a per-period oracle is only a best response)."""
        return self.kind != "fixed"


class TaskSpec(_Strict):
    """One product's market over a horizon. Prices are in the task's currency units."""

    task_id: str = Field(min_length=1, max_length=100)
    seed: int = Field(ge=0, description="Seed of the demand noise; episodes add their repeat index.")
    horizon: int = Field(ge=1, le=100_000)
    unit_cost: float = Field(ge=0)
    initial_price: PositiveFloat
    min_price: PositiveFloat
    max_price: PositiveFloat
    demand: DemandSpec
    noise: float = Field(default=0.1, ge=0, le=2, description="Std of the log of the mean-one demand noise.")
    seasonality: Seasonality = Seasonality()
    reference: ReferencePrice | None = None
    inventory: Inventory | None = None
    member: MemberSegment | None = None
    competitors: tuple[Competitor, ...] = Field(default=(), max_length=3)

    @model_validator(mode="after")
    def _consistent(self) -> TaskSpec:
        if self.min_price > self.max_price:
            raise ValueError(f"min_price ({self.min_price}) is above max_price ({self.max_price})")
        if not self.min_price <= self.initial_price <= self.max_price:
            raise ValueError("initial_price must lie within [min_price, max_price]")
        logit = self.demand.kind == "logit"
        if self.member is not None and self.demand.kind != "constant_elasticity":
            raise ValueError("member: a member segment needs constant_elasticity demand")
        for i, comp in enumerate(self.competitors):
            if comp.kind in ("best_response", "policy") and not logit:
                raise ValueError(f"competitors.{i}.kind: '{comp.kind}' needs logit demand")
            if comp.kind == "policy" and not comp.policy:
                raise ValueError(f"competitors.{i}.policy: a policy competitor needs a pricer name")
            if logit and comp.quality is None:
                raise ValueError(f"competitors.{i}.quality: logit demand needs each competitor's quality")
        return self

    @property
    def stateful(self) -> bool:
        """Whether today's price changes tomorrow's market (stock, reference price).

        Then a per-period optimum is not the best plan and the oracle plans over the horizon.
        """
        return self.inventory is not None or self.reference is not None
