"""Market data (pre-accident value evidence): models, the source interface and the PAV choice.

Pure Python: no network, no boto3. The HTTP client for an external valuation API lives in the
platform library (``mlops.inference.valuation_client``) and in the inference repo; both satisfy
``ValuationSource``.

PAV policy (UK, Financial Ombudsman practice): the pre-accident value is the retail price of a
comparable car from a reputable dealer just before the loss, checked against trade guides and
adverts. We therefore take the comparables when there are at least ``min_comparables`` of them (the
provider's value adjusted to this car's age and mileage when it gives one, else the median advert
price), else the trade-guide value (flagged FEW_COMPARABLES); the model's PAV (model 13) is used
only when market data is unavailable and the model is confident. Every source of evidence is
carried on the result so a handler (and the FCA) can see why the figure is what it is.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import statistics
from typing import TYPE_CHECKING, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from remedy_core.claims import Claim

VALUATION_SCHEMA_VERSION = "1"

PavSource = Literal["market_comparables", "market_guide", "model", "none"]
ValuationErrorCode = Literal[
    "TIMEOUT", "UPSTREAM_ERROR", "BAD_RESPONSE", "CIRCUIT_OPEN", "NOT_FOUND", "NOT_CONFIGURED"
]


class Comparable(BaseModel):
    """One comparable advert: a similar car for sale near the claimant just before the loss."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    price: float = Field(gt=0, description="Advertised retail price")
    age_years: float = Field(ge=0, le=120)
    mileage: float = Field(ge=0)
    distance_miles: float = Field(ge=0, description="Distance from the claimant's region")
    make: str | None = None
    model: str | None = None
    year: int | None = None
    source_id: str | None = Field(default=None, description="Advert reference (no PII)")


class MarketEvidence(BaseModel):
    """What the valuation service returned for one vehicle."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    source: str = Field(description="Name of the valuation provider")
    currency: str = "GBP"
    guide_value: float | None = Field(default=None, gt=0, description="Trade-guide retail value")
    comparables: list[Comparable] = Field(default_factory=list)
    comparables_adjusted_value: float | None = Field(
        default=None,
        gt=0,
        description="Provider's value from the comparables, adjusted to this car's age/mileage",
    )
    schema_version: str = VALUATION_SCHEMA_VERSION

    def comparables_median(self) -> float | None:
        if not self.comparables:
            return None
        return float(statistics.median([c.price for c in self.comparables]))


class ValuationRequest(BaseModel):
    """What a valuation provider needs to value a car (no PII: no plate, no VIN, no name)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    reference: str = Field(min_length=1, max_length=64, description="Opaque request reference")
    make: str = Field(min_length=1)
    model: str = Field(min_length=1)
    segment: str = Field(min_length=1)
    year: int = Field(ge=1900, le=2100)
    mileage: float = Field(ge=0)
    powertrain: str = Field(min_length=1)
    region: str = Field(min_length=1)
    classic: bool = False
    modified: bool = False
    as_of: dt.date = Field(description="Value just before this date (the incident date)")

    @classmethod
    def from_claim(cls, claim: Claim) -> ValuationRequest:
        v = claim.vehicle
        ref = hashlib.sha256(claim.claim_id.encode()).hexdigest()[:32]
        return cls(
            reference=ref,
            make=v.make,
            model=v.model,
            segment=v.segment,
            year=v.year,
            mileage=v.mileage,
            powertrain=v.powertrain,
            region=claim.region,
            classic=v.classic,
            modified=v.modified,
            as_of=claim.incident_date,
        )


class ValuationError(Exception):
    """A market-data dependency failed. ``code`` is stable and ends up in the decision's reasons."""

    def __init__(self, code: ValuationErrorCode, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code: ValuationErrorCode = code
        self.detail = detail


@runtime_checkable
class ValuationSource(Protocol):
    """Anything that can value a car: the HTTP client, the in-process synthetic market, a stub."""

    def lookup(self, request: ValuationRequest) -> MarketEvidence:
        """Return market evidence or raise ``ValuationError``."""
        ...


class PavEvidence(BaseModel):
    """The PAV used by the decision and every piece of evidence behind it."""

    model_config = ConfigDict(frozen=True)

    value: float | None = Field(description="PAV used by the rules (None: no usable PAV)")
    source: PavSource
    currency: str = "GBP"
    guide_value: float | None = None
    comparables_median: float | None = None
    comparables_adjusted_value: float | None = None
    comparables: list[Comparable] = Field(default_factory=list)
    model_p10: float | None = None
    model_p50: float | None = None
    model_p90: float | None = None
    market_error: str | None = Field(default=None, description="Why market data was unavailable")
    flags: list[str] = Field(default_factory=list, description="Data-quality flags")


def choose_pav(
    market: MarketEvidence | None,
    model_pav: tuple[float, float, float] | None,
    *,
    min_comparables: int,
    model_max_spread: float,
    disagreement_flag: float,
    market_error: str | None = None,
) -> PavEvidence:
    """Pick the PAV and keep its evidence.

    ``model_pav`` is (p10, p50, p90) from model 13. The model value counts as confident when its
    80% interval width is at most ``model_max_spread`` × p50. ``disagreement_flag`` is the relative
    gap between market and model PAV above which a data-quality flag is raised.
    """
    p10, p50, p90 = model_pav if model_pav is not None else (None, None, None)
    flags: list[str] = []
    guide = comps_median = None
    comparables: list[Comparable] = []
    value: float | None = None
    source: PavSource = "none"
    currency = "GBP"
    if market is not None:
        currency = market.currency
        guide = market.guide_value
        comparables = list(market.comparables)
        comps_median = market.comparables_median()
        if comps_median is not None and len(comparables) >= min_comparables:
            adjusted = market.comparables_adjusted_value
            value = adjusted if adjusted is not None else comps_median
            source = "market_comparables"
        elif guide is not None:
            value, source = guide, "market_guide"
            flags.append("FEW_COMPARABLES")
    if value is None and p50 is not None and p50 > 0:
        spread = (p90 - p10) / p50 if p10 is not None and p90 is not None else float("inf")
        if spread <= model_max_spread:
            value, source = p50, "model"
        else:
            flags.append("MODEL_PAV_NOT_CONFIDENT")
    disagree = value is not None and source != "model" and p50 is not None and p50 > 0
    if disagree and abs(value - p50) / value > disagreement_flag:  # type: ignore[operator]
        flags.append("MARKET_MODEL_PAV_DISAGREE")
    return PavEvidence.model_construct(
        value=value,
        source=source,
        currency=currency,
        guide_value=guide,
        comparables_median=comps_median,
        comparables_adjusted_value=market.comparables_adjusted_value if market else None,
        comparables=comparables,
        model_p10=p10,
        model_p50=p50,
        model_p90=p90,
        market_error=market_error,
        flags=flags,
    )
