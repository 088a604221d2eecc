"""Remedy's drift features: which inputs are watched, and how a decision's inputs map to them.

The platform computes PSI over whatever features a use case names
(:class:`mlops.analytics.drift.ReferenceProfile`); these are Remedy's. The numeric key inputs
are columns of the warehouse's ``decision_events`` table (flattened from
:class:`remedy_core.events.InputsSummary`), the powertrain mix comes from the vehicle.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from mlops.analytics.drift import ReferenceProfile

KEY_FEATURES: tuple[str, ...] = (
    "vehicle_age_years",
    "mileage",
    "delta_v_kph",
    "zones_hit_count",
    "max_zone_severity",
)
CATEGORICAL_FEATURES: tuple[str, ...] = ("powertrain",)


def inputs_row(inputs: Any, powertrain: str | None = None) -> dict[str, Any]:
    """Key-feature values of one inputs summary (as flattened in the warehouse),
    plus the vehicle's powertrain when given."""
    row: dict[str, Any] = {"powertrain": powertrain} if powertrain is not None else {}
    return row | {
        "vehicle_age_years": inputs.vehicle_age_years,
        "mileage": float(inputs.mileage),
        "delta_v_kph": inputs.delta_v_kph,
        "zones_hit_count": float(len(inputs.zones_hit)),
        "max_zone_severity": inputs.max_zone_severity,
    }


def claims_reference(frame: Any, source: str, categorical: Sequence[str] = ()) -> ReferenceProfile:
    """The drift reference of a frame of synthetic claims (``remedy_core.synthetic``): each
    claim redacted as the decision service does, its key inputs (and, with ``categorical``, the
    powertrain mix) profiled."""
    from remedy_core.events import redact_claim
    from remedy_core.synthetic import row_to_claim

    with_powertrain = "powertrain" in categorical
    rows = [
        inputs_row(
            redact_claim(json.loads(row_to_claim(r).model_dump_json())),
            r["powertrain"] if with_powertrain else None,
        )
        for r in frame.to_dict("records")
    ]
    return ReferenceProfile.from_rows(rows, source, KEY_FEATURES, tuple(categorical))
