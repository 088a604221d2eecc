"""Test factories: a plain claim, model outputs and market evidence, overridable per test."""

from __future__ import annotations

import datetime as dt
from typing import Any

from remedy_core.claims import Claim
from remedy_core.outputs import ModelOutputs
from remedy_core.rules import RuleInputs
from remedy_core.valuation import Comparable, MarketEvidence


def claim(**overrides: Any) -> Claim:
    vehicle = {
        "make": "Ford",
        "model": "Focus",
        "segment": "family",
        "body_type": "hatchback",
        "year": 2018,
        "mileage": 48_000,
        "powertrain": "petrol",
        "adas_fitted": True,
        **overrides.pop("vehicle", {}),
    }
    accident = {
        "impact_point": "front",
        "delta_v_kph": 32.0,
        "zones_hit": ["front"],
        "zone_severity": {"front": 0.6},
        "drivable": False,
        **overrides.pop("accident", {}),
    }
    data = {
        "claim_id": "CLM-0001",
        "region": "north_west",
        "vehicle": vehicle,
        "accident": accident,
        "incident_date": dt.date(2026, 10, 1),
        **overrides,
    }
    return Claim.model_validate(data)


def outputs(**overrides: Any) -> ModelOutputs:
    base: dict[str, Any] = {
        "repair_cost_p10": 3_200.0,
        "repair_cost_p50": 4_000.0,
        "repair_cost_p90": 4_900.0,
        "parts_cost": 2_100.0,
        "labour_hours": 22.0,
        "paint_cost": 600.0,
        "supplement_rate": 0.10,
        "supplement_rate_p90": 0.30,
        "repair_days": 9.0,
        "hire_days": 12.0,
        "pav_p10": 11_000.0,
        "pav_p50": 12_000.0,
        "pav_p90": 13_000.0,
        "salvage_value": 2_400.0,
        "salvage_category_probs": {"A": 0.02, "B": 0.03, "S": 0.15, "N": 0.80},
        "structural_prob": 0.1,
        "airbag_prob": 0.05,
        "adas_recal_prob": 0.7,
        "drivable_prob": 0.4,
        "replace_share": 0.8,
        "zones_damaged_probs": {"front": 0.98},
        "zone_severity": {"front": 0.6},
        "total_loss_prob": 0.12,
        "model_versions": {"bundle": "remedy-bundle-test", "repair_cost": "1"},
    }
    base.update(overrides)
    return ModelOutputs(**base)


def market(
    prices: tuple[float, ...] = (11_800.0, 12_000.0, 12_400.0), guide: float | None = 12_100.0
):
    comps = [
        Comparable(price=p, age_years=8.0, mileage=50_000 + 1_000 * i, distance_miles=5.0 + 3 * i)
        for i, p in enumerate(prices)
    ]
    return MarketEvidence(source="test-market", guide_value=guide, comparables=comps)


def rule_inputs(**overrides: Any) -> RuleInputs:
    base: dict[str, Any] = {
        "estimate_p10": 3_200.0,
        "estimate_p50": 4_000.0,
        "estimate_p90": 4_900.0,
        "supplement_rate": 0.10,
        "hire_days": 12.0,
        "salvage_value": 2_400.0,
        "salvage_probs": {"A": 0.02, "B": 0.03, "S": 0.15, "N": 0.80},
        "pav": 12_000.0,
        "drivable": False,
        "region": "north_west",
    }
    base.update(overrides)
    return RuleInputs(**base)
