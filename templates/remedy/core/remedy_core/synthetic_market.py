"""The synthetic market as a ``remedy_core.valuation.ValuationSource``: guide value and comparable
adverts from ``remedy_core.market`` (seeded by the claim), in process. Used by the inference
repo's local mode, tests and benchmark, and by the backtest in both repos (so the training
pipeline's Backtest step prices claims exactly as `mlops backtest` does).
"""

from __future__ import annotations

from remedy_core import market
from remedy_core.claims import Claim
from remedy_core.valuation import (
    Comparable,
    MarketEvidence,
    ValuationError,
    ValuationRequest,
)


def _claim_for(request: ValuationRequest) -> Claim:
    """The synthetic market prices a car from a claim; build the minimal one for the request."""
    return Claim.model_validate(
        {
            "claim_id": request.reference,
            "region": request.region,
            "vehicle": {
                "make": request.make,
                "model": request.model,
                "segment": request.segment,
                "body_type": "hatchback",  # not a price driver in the synthetic market
                "year": request.year,
                "mileage": request.mileage,
                "powertrain": request.powertrain,
                "classic": request.classic,
                "modified": request.modified,
            },
            "accident": {"impact_point": "front", "delta_v_kph": 0.0},
            "incident_date": request.as_of,
        }
    )


class SyntheticMarket:
    """Guide value + 3-10 comparable adverts from the seeded synthetic market."""

    source_name = "synthetic-market"

    def lookup(self, request: ValuationRequest) -> MarketEvidence:
        try:
            claim = _claim_for(request)
            adverts = market.comparable_adverts(claim)
            guide = market.guide_value(claim)
            adjusted = market.comparables_estimate(adverts, claim)
        except (ValueError, KeyError) as exc:  # unknown make/model/region
            raise ValuationError("NOT_FOUND", f"no market data: {exc}") from exc
        return MarketEvidence(
            source=self.source_name,
            guide_value=guide,
            comparables=[
                Comparable(
                    price=a.price,
                    age_years=a.age_years,
                    mileage=a.mileage,
                    distance_miles=a.distance_miles,
                    make=a.make,
                    model=a.model,
                    year=a.year,
                    source_id=f"ad-{i}",
                )
                for i, a in enumerate(adverts)
            ],
            comparables_adjusted_value=round(adjusted, 2) if adjusted else None,
        )
