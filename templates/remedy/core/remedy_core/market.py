"""Used-car market: the one definition of market value (PAV), guide values and comparable adverts.

The synthetic generator draws each claim's true pre-accident value (PAV) from `market_value`
(plus a per-car condition term), and the local valuation service shows the evidence a handler
sees: a trade-guide value and 3-10 comparable adverts near the claimant. Deterministic for a
claim id. Depreciation defaults (domain reference): first-year drop 20%, then 9.5% a year
(EV 13%), and 3% per 10k miles; regional price factors; classics hold value.
Pure numpy: no I/O.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from remedy_core.vehicles import reference_values
from remedy_core.vocab import REGIONS, vehicle_age_years

if TYPE_CHECKING:
    import numpy as np  # noqa: F401

    from remedy_core.claims import Claim

FIRST_YEAR_DROP = 0.20
YEARLY_DEPRECIATION = 0.095
YEARLY_DEPRECIATION_EV = 0.13
PER_10K_MILES = 0.03
GUIDE_BIAS = -0.04  # trade guides lag dealer retail (the FCA's 2024 under-valuation finding)
ADVERT_MARKUP = 0.02  # asking price over the transaction price
SCRAP_FLOOR_GBP = 400.0

REGION_PRICE_FACTOR: dict[str, float] = {
    "london": 1.05, "south_east": 1.03, "south_west": 1.01, "east": 1.01,
    "west_midlands": 0.99, "east_midlands": 0.98, "north_west": 0.98, "north_east": 0.96,
    "yorkshire": 0.97, "wales": 0.97, "scotland": 0.98, "northern_ireland": 0.95,
}  # fmt: skip


def __getattr__(name: str):
    # numpy is imported on first use only: the serving path (features) needs the constants above
    if name == "_REGION_FACTOR_ARRAY":
        import numpy as np

        return np.array([REGION_PRICE_FACTOR[r] for r in REGIONS])
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def depreciation_factor(age_years, mileage, is_ev=False):
    """Share of the new price a car keeps (vectorised over numpy arrays or scalars)."""
    import numpy as np

    age = np.maximum(np.asarray(age_years, dtype=float), 0.0)
    miles = np.maximum(np.asarray(mileage, dtype=float), 0.0)
    rate = np.where(np.asarray(is_ev, dtype=bool), YEARLY_DEPRECIATION_EV, YEARLY_DEPRECIATION)
    first = 1.0 - FIRST_YEAR_DROP * np.minimum(age, 1.0)
    later = (1.0 - rate) ** np.maximum(age - 1.0, 0.0)
    return first * later * (1.0 - PER_10K_MILES) ** (miles / 10_000.0)


def market_value(
    new_price, age_years, mileage, is_ev, region_factor, classic=False, modified=False
):
    """Retail market value (GBP) of a comparable car from a dealer (vectorised)."""
    import numpy as np

    new_price = np.asarray(new_price, dtype=float)
    value = new_price * depreciation_factor(age_years, mileage, is_ev)
    classic_floor = new_price * 0.30 * np.where(np.asarray(classic, dtype=bool), 1.0, 0.0)
    value = np.maximum(value, classic_floor)
    value = value * np.where(np.asarray(modified, dtype=bool), 0.93, 1.0)
    return np.maximum(value * np.asarray(region_factor, dtype=float), SCRAP_FLOOR_GBP)


def region_factor(region: str) -> float:
    if region not in REGION_PRICE_FACTOR:
        raise ValueError(f"unknown region {region!r}; use one of {list(REGIONS)}")
    return REGION_PRICE_FACTOR[region]


def claim_market_value(claim: Claim) -> float:
    """Market value for the claim's car (no per-car condition term)."""
    v = claim.vehicle
    new_price, _, _ = reference_values(v.make, v.model, v.segment)
    return float(
        market_value(
            new_price,
            claim.vehicle_age_years,
            v.mileage,
            v.powertrain == "ev",
            region_factor(claim.region),
            v.classic,
            v.modified,
        )
    )


def guide_value(claim: Claim) -> float:
    """Trade-guide value: national (no regional factor) and systematically a little low."""
    v = claim.vehicle
    new_price, _, _ = reference_values(v.make, v.model, v.segment)
    base = market_value(new_price, claim.vehicle_age_years, v.mileage, v.powertrain == "ev",
                        1.0, v.classic, v.modified)  # fmt: skip
    return round(float(base) * (1.0 + GUIDE_BIAS), 2)


@dataclass(frozen=True)
class Advert:
    """One comparable car advertised for sale."""

    make: str
    model: str
    year: int
    age_years: float
    mileage: float
    price: float
    distance_miles: float
    dealer: bool = True


def _seed_for(claim_id: str) -> int:
    return int.from_bytes(hashlib.sha256(claim_id.encode()).digest()[:8], "little")


def comparable_adverts(claim: Claim, n: int | None = None) -> list[Advert]:
    """3-10 comparable adverts near the claimant (same make/model, similar age and mileage).

    Deterministic for the claim id. Prices follow `market_value` at each advert's own age,
    mileage and region, with dealer mark-up and advert-level noise.
    """
    import numpy as np

    rng = np.random.default_rng(_seed_for(claim.claim_id))
    v = claim.vehicle
    n = int(rng.integers(3, 11)) if n is None else n
    if n < 0:
        raise ValueError("n must be >= 0")
    new_price, _, _ = reference_values(v.make, v.model, v.segment)
    age = claim.vehicle_age_years
    ages = np.clip(age + rng.uniform(-1.5, 1.5, n), 0.1, None)
    miles = np.maximum(v.mileage * rng.lognormal(0.0, 0.25, n) + (ages - age) * 7_000, 100.0)
    distance = np.round(rng.exponential(25.0, n) + 1.0, 1)
    near_factor = region_factor(claim.region) * rng.lognormal(0.0, 0.01, n)
    prices = market_value(new_price, ages, miles, v.powertrain == "ev", near_factor,
                          v.classic, v.modified)  # fmt: skip
    prices = prices * (1.0 + ADVERT_MARKUP) * rng.lognormal(0.0, 0.05, n)
    incident_year = claim.incident_date.year + (claim.incident_date.timetuple().tm_yday - 182) / 365
    return [
        Advert(
            make=v.make,
            model=v.model,
            year=round(incident_year - ages[i]),
            age_years=round(float(ages[i]), 2),
            mileage=round(float(miles[i]), -2),
            price=round(float(prices[i]), -1),
            distance_miles=float(distance[i]),
        )
        for i in range(n)
    ]


def comparables_estimate(adverts: list[Advert], claim: Claim) -> float | None:
    """Market reference from adverts: each price adjusted to the claim's age and mileage."""
    import numpy as np

    if not adverts:
        return None
    v = claim.vehicle
    is_ev = v.powertrain == "ev"
    own = depreciation_factor(claim.vehicle_age_years, v.mileage, is_ev)
    adj = [
        a.price / (1.0 + ADVERT_MARKUP) * own / depreciation_factor(a.age_years, a.mileage, is_ev)
        for a in adverts
    ]
    return float(np.median(adj))


def incident_age(year: int, incident_date: dt.date) -> float:
    return vehicle_age_years(year, incident_date)
