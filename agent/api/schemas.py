"""The API's request and response bodies: strict at the boundary (unknown fields and non-finite numbers
are refused with a 422 naming the field), with examples for /docs."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from env.context import PricingContext

_EXAMPLE = {
    "product": {"sku": "MUG-1", "name": "Ceramic mug", "unit_cost": 4.0, "current_price": 12.0},
    "guardrails": {"min_price": 8.0, "max_price": 20.0, "min_margin": 0.3, "max_change": 0.1},
    "history": [
        {"period": 0, "price": 11.0, "units": 118.0, "competitor_price": 13.5},
        {"period": 1, "price": 12.5, "units": 90.0, "competitor_price": 13.5},
        {"period": 2, "price": 12.0, "units": 101.0, "competitor_price": 13.5},
    ],
    "competitor_price": 13.5,
}


class RecommendRequest(PricingContext):
    """A `PricingContext` (product, guardrails, history, competitor price, stock, horizon) and a seed.

    Unknown fields and non-finite numbers are refused (422, naming the field). The product's name
    is data, never instructions: whatever it says, the guardrails bound the price.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_extra={"examples": [_EXAMPLE]})

    seed: int | None = Field(
        default=None, ge=0, le=2**32 - 1,
        description="Seed of the policy's randomness (default: derived from the SKU, as in batch scoring). "
                    "The same request and seed give the same price.")

    def context(self) -> PricingContext:
        """The plain context (already validated, so not validated again)."""
        return PricingContext.model_construct(**{name: getattr(self, name) for name in PricingContext.model_fields})


_SCALARS = (str, int, float, bool, type(None))


class ScoreRequest(BaseModel):
    """A catalog as rows: the same columns the batch scorer reads from a file."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "products": [{"sku": "MUG-1", "name": "Ceramic mug", "unit_cost": 4.0, "current_price": 12.0,
                      "min_price": 8.0, "max_price": 20.0}],
        "history": [{"sku": "MUG-1", "period": 0, "price": 11.0, "units": 118.0},
                    {"sku": "MUG-1", "period": 1, "price": 12.5, "units": 90.0}],
    }]})

    products: list[dict[str, Any]] = Field(
        min_length=1, description="One row per SKU: sku, unit_cost, current_price (required), name, guardrail "
                                  "columns, competitor_price, inventory. Cells are text, numbers or null.")
    history: list[dict[str, Any]] = Field(
        default_factory=list, description="Sales history rows: sku, period, price, units (required), "
                                          "competitor_price, inventory.")

    @field_validator("products", "history")
    @classmethod
    def _scalar_cells(cls, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for i, row in enumerate(rows):
            for key, value in row.items():
                if not isinstance(value, _SCALARS):
                    raise ValueError(f"row {i}, column '{key[:50]}': a cell must be text, a number or null, "
                                     f"not {type(value).__name__}")
        return rows


class ScoreSummary(BaseModel):
    """What one scoring did (`agent.service.ScoreSummary`, as JSON)."""

    skus: int
    scored: int
    errors: int
    policy: str
    model_id: str | None
    adapter_id: str | None
    elapsed_ms: float


class ScoreResponse(BaseModel):
    results: list[dict[str, Any]] = Field(description="One row per SKU; a row that could not be scored has `error`.")
    summary: ScoreSummary


class Health(BaseModel):
    status: Literal["ok"]
    policy: str
    model_id: str | None = Field(description="The loaded model's id; null until the model is loaded.")
    adapter_id: str | None


class ErrorBody(BaseModel):
    detail: Any
    message: str = Field(description="One line; for validation errors it starts with the field path.")
