"""Data the estimator produces: line items and the estimate of one stack."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from mlops.cost.prices import PriceTable
from mlops.cost.usage import Usage
from mlops.testing.mocks import RecordedResource


@dataclass(frozen=True)
class LineItem:
    """One priced line: `count` resources of `resource_type`, `quantity` `unit`s a month."""

    resource_type: str
    what: str
    count: int
    unit: str
    quantity: float
    monthly: float
    assumption: str
    endpoint: bool = False
    """Part of the model-serving (endpoint) cost, shown separately when comparing modes."""

    def to_json(self) -> dict[str, Any]:
        return {
            "resource_type": self.resource_type,
            "what": self.what,
            "count": self.count,
            "unit": self.unit,
            "quantity": round(self.quantity, 6),
            "monthly": round(self.monthly, 2),
            "assumption": self.assumption,
            "endpoint": self.endpoint,
        }


@dataclass
class Context:
    """What a pricer may look at: prices, usage, and every resource of the stack."""

    prices: PriceTable
    usage: Usage
    resources: Sequence[RecordedResource]
    az_count: int = 2
    unpriced: dict[str, str] = field(default_factory=dict)

    @property
    def hours(self) -> float:
        return self.prices.hours_per_month

    def of_type(self, typ: str) -> list[RecordedResource]:
        return [r for r in self.resources if r.type == typ]

    def flag(self, typ: str, reason: str) -> None:
        """Record that (part of) a type could not be priced; shown as NOT PRICED."""
        previous = self.unpriced.get(typ)
        self.unpriced[typ] = f"{previous}; {reason}" if previous else reason


@dataclass
class Estimate:
    stack: str
    prices: PriceTable
    usage: Usage
    items: list[LineItem]
    free: dict[str, tuple[int, str]]
    """type -> (count, reason it costs nothing)"""
    external: dict[str, tuple[int, str]]
    unpriced: dict[str, tuple[int, str]]
    """type -> (count, why it is not priced): unknown types and unknown sizes"""
    resource_count: int = 0

    @property
    def total(self) -> float:
        return sum(i.monthly for i in self.items)

    @property
    def endpoint_total(self) -> float:
        return sum(i.monthly for i in self.items if i.endpoint)

    def to_json(self) -> dict[str, Any]:
        return {
            "stack": self.stack,
            "region": self.prices.region,
            "currency": self.prices.currency,
            "prices_as_of": self.prices.as_of.isoformat(),
            "price_table": self.prices.source,
            "resource_count": self.resource_count,
            "monthly_total": round(self.total, 2),
            "monthly_endpoints": round(self.endpoint_total, 2),
            "assumptions": self.usage.model_dump(mode="json"),
            "items": [i.to_json() for i in self.items],
            "free": {t: {"count": n, "reason": why} for t, (n, why) in sorted(self.free.items())},
            "external": {
                t: {"count": n, "reason": why} for t, (n, why) in sorted(self.external.items())
            },
            "not_priced": {
                t: {"count": n, "reason": why} for t, (n, why) in sorted(self.unpriced.items())
            },
        }
