"""Remedy's claim vocabularies (regions, zones, impact points, segments, ...) and the vehicle
age rule: plain constants and functions, no pydantic.

``remedy_core.claims`` builds the request models over these; the feature encoding, the bundle's
heads and the endpoint's inference script read them from here, so loading them costs nothing at
cold start (the endpoint never builds a pydantic model unless claims are posted to it).
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

Powertrain = Literal["petrol", "diesel", "hybrid", "ev"]
POWERTRAINS: tuple[str, ...] = ("petrol", "diesel", "hybrid", "ev")

#: Damage zones of a car body. Reported zones come from first notification of loss (photos,
#: driver account); true damage may include hidden zones (model 1 predicts those).
ZONES: tuple[str, ...] = ("front", "rear", "left", "right", "roof", "underbody")

ImpactPoint = Literal[
    "front", "front_left", "front_right", "left", "right", "rear_left", "rear_right", "rear",
    "rollover",
]  # fmt: skip
IMPACT_POINTS: tuple[str, ...] = (
    "front", "front_left", "front_right", "left", "right", "rear_left", "rear_right", "rear",
    "rollover",
)  # fmt: skip

#: UK regions (ONS-style). Labour rates, hire rates and used-car prices differ by region.
REGIONS: tuple[str, ...] = (
    "london", "south_east", "south_west", "east", "west_midlands", "east_midlands",
    "north_west", "north_east", "yorkshire", "wales", "scotland", "northern_ireland",
)  # fmt: skip

SEGMENTS: tuple[str, ...] = (
    "city", "supermini", "family", "suv", "executive", "luxury", "sports",
)  # fmt: skip
BODY_TYPES: tuple[str, ...] = ("hatchback", "saloon", "estate", "suv", "coupe", "mpv")


def vehicle_age_years(year: int, incident_date: dt.date) -> float:
    """Age in years at the incident, taking mid-year (1 July) as first registration."""
    return max(0.0, (incident_date - dt.date(year, 7, 1)).days / 365.25)
