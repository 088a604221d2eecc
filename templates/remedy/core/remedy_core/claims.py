"""The Remedy decision request: one motor claim after an accident.

`Claim` is what a handler system sends to the decision service and what the synthetic
generator produces (the generator adds ground truth separately, never on the claim).
Pure pydantic: no I/O, no AWS. Field constraints give 422-style errors naming the field.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from remedy_core.vocab import (  # noqa: F401 - the vocabularies are part of this module's API
    BODY_TYPES,
    IMPACT_POINTS,
    POWERTRAINS,
    REGIONS,
    SEGMENTS,
    ZONES,
    ImpactPoint,
    Powertrain,
    vehicle_age_years,
)

SCHEMA_VERSION = "1.0"
MAX_MILEAGE = 1_000_000  # odometer bound of a request, miles


class _Strict(BaseModel):
    # strict: no silent string-to-number, number-to-bool or number-to-date coercion (lax pydantic
    # reads "2019" as 2019, 1 as true and 0 as 1970-01-01)
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True, strict=True)


def _whole_number(value: Any) -> Any:
    """JSON Schema counts 2019.0 as an integer; accept it as 2019 (strings and bools stay out)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _calendar_date(value: Any) -> Any:
    """A date, or a 'YYYY-MM-DD' string (JSON); never a number, a timestamp or a datetime."""
    if isinstance(value, dt.datetime):
        raise ValueError("must be a calendar date 'YYYY-MM-DD', not a date and time")
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and _ISO_DATE.fullmatch(value):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            raise ValueError(f"{value!r} is not a calendar date") from None
    raise ValueError(f"must be a calendar date 'YYYY-MM-DD', got {type(value).__name__} {value!r}")


WholeNumber = Annotated[int, BeforeValidator(_whole_number)]
CalendarDate = Annotated[dt.date, BeforeValidator(_calendar_date)]


class Vehicle(_Strict):
    make: str = Field(min_length=1, max_length=40)
    model: str = Field(min_length=1, max_length=60)
    segment: Literal["city", "supermini", "family", "suv", "executive", "luxury", "sports"]
    body_type: Literal["hatchback", "saloon", "estate", "suv", "coupe", "mpv"]
    year: WholeNumber = Field(ge=1950, le=2100, description="model year (first registration)")
    mileage: float = Field(ge=0, le=MAX_MILEAGE, description="odometer in miles")
    powertrain: Powertrain
    adas_fitted: bool = False
    classic: bool = False
    modified: bool = False


class Accident(_Strict):
    impact_point: ImpactPoint
    delta_v_kph: float = Field(ge=0, le=250, description="change of velocity in the impact")
    zones_hit: list[str] = Field(default_factory=list, description=f"subset of {ZONES}")
    zone_severity: dict[str, float] = Field(
        default_factory=dict, description="zone -> severity in [0, 1] (1 = destroyed)"
    )
    airbags_deployed: bool = False
    drivable: bool = True
    leaks: bool = False
    engine_runs: bool = True
    fire: bool = False
    flood: bool = False

    @field_validator("zones_hit")
    @classmethod
    def _known_zones(cls, v: list[str]) -> list[str]:
        unknown = sorted(set(v) - set(ZONES))
        if unknown:
            raise ValueError(f"unknown zone(s) {unknown}; use any of {list(ZONES)}")
        return sorted(set(v), key=ZONES.index)

    @field_validator("zone_severity")
    @classmethod
    def _severities(cls, v: dict[str, float]) -> dict[str, float]:
        for zone, sev in v.items():
            if zone not in ZONES:
                raise ValueError(f"unknown zone {zone!r} in zone_severity; use {list(ZONES)}")
            if not 0.0 <= float(sev) <= 1.0:
                raise ValueError(f"zone_severity[{zone!r}]={sev} must be within [0, 1]")
        return {z: float(s) for z, s in v.items()}

    @model_validator(mode="after")
    def _severity_only_for_hit_zones(self) -> Accident:
        extra = sorted(set(self.zone_severity) - set(self.zones_hit))
        if extra:
            raise ValueError(
                f"zone_severity has zones not in zones_hit: {extra}; add them to zones_hit"
            )
        return self


class Claim(_Strict):
    """One claim to decide: repair, write off or investigate."""

    claim_id: str = Field(min_length=1, max_length=64)
    region: Literal[
        "london", "south_east", "south_west", "east", "west_midlands", "east_midlands",
        "north_west", "north_east", "yorkshire", "wales", "scotland", "northern_ireland",
    ]  # fmt: skip
    vehicle: Vehicle
    accident: Accident
    incident_date: CalendarDate

    @field_validator("incident_date")
    @classmethod
    def _plausible_incident_date(cls, v: dt.date) -> dt.date:
        # Same span as vehicle.year: a date outside it is a typo, and the vehicle age derived
        # from it would be meaningless (and beyond the audit event's bounds).
        if not dt.date(1950, 1, 1) <= v <= dt.date(2100, 12, 31):
            raise ValueError(f"incident_date {v} must be between 1950-01-01 and 2100-12-31")
        return v

    @model_validator(mode="after")
    def _year_not_after_incident(self) -> Claim:
        if self.vehicle.year > self.incident_date.year + 1:
            raise ValueError(
                f"vehicle.year {self.vehicle.year} is after incident_date {self.incident_date}; "
                "check the model year"
            )
        return self

    @property
    def vehicle_age_years(self) -> float:
        return vehicle_age_years(self.vehicle.year, self.incident_date)
