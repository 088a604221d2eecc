"""Small builders for analytics events used across the analytics tests."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from mlops.events import pseudonymise
from mlops.local.remedy import remedy_on_path

remedy_on_path()

from remedy_core.events import (  # noqa: E402 - Remedy's events live in its template
    REGISTRY,
    ClaimOutcomeEvent,
    DecisionEvent,
    HandlerActionEvent,
    build_decision_event,
)

__all__ = ["REGISTRY"]

KEY = b"test-key-0123456789abcdef"


def decision(
    claim_id: str = "CLM-0001",
    *,
    decided_at: datetime = datetime(2026, 3, 14, 10, 30, tzinfo=UTC),
    region: str = "London",
    make: str = "Ford",
    model: str = "Focus",
    recommendation: str = "repair",
    repair_p50: float = 2400.0,
    pav: float = 9000.0,
    **overrides: Any,
) -> DecisionEvent:
    fields: dict[str, Any] = {
        "claim_id_hash": pseudonymise(claim_id, KEY),
        "decided_at": decided_at,
        "region": region,
        "vehicle": {"make": make, "model": model, "year": 2019, "powertrain": "petrol"},
        "inputs": {
            "vehicle_age_years": 7,
            "mileage": 54000,
            "impact_point": "front",
            "delta_v_kph": 22.5,
            "zones_hit": ["front_bumper", "bonnet"],
            "max_zone_severity": 0.4,
        },
        "model_outputs": {
            "repair_cost_p10": repair_p50 * 0.7,
            "repair_cost_p50": repair_p50,
            "repair_cost_p90": repair_p50 * 1.5,
            "pav_p10": pav * 0.9,
            "pav_p50": pav,
            "pav_p90": pav * 1.1,
            "salvage_value": pav * 0.2,
            "total_loss_prob": 0.1,
            "model_versions": {"bundle": "remedy-20261128-01", "repair_cost": "3"},
        },
        "market": {"source": "market", "guide_value": pav, "comparables_count": 6, "pav_used": pav},
        "rule_set_version": "uk-2026.1",
        "reasons": [{"code": "REPAIR_BELOW_THRESHOLD", "sentence": "Repair is 27% of PAV."}],
        "recommendation": recommendation,
        "confidence": 0.8,
        "repair_path": {"total": repair_p50 + 1200, "items": {"repair": repair_p50, "hire": 1200}},
        "write_off_path": {"total": pav * 0.8 + 500, "items": {"pav_less_salvage": pav * 0.8}},
        "latency_ms": 12.5,
    }
    fields.update(overrides)
    return build_decision_event(**fields)


def action(
    dec: DecisionEvent,
    action: str = "accept",
    *,
    acted_at: datetime | None = None,
    **overrides: Any,
) -> HandlerActionEvent:
    return HandlerActionEvent(
        claim_id_hash=dec.claim_id_hash,
        decision_event_id=dec.event_id,
        acted_at=acted_at or dec.decided_at,
        handler_id_hash=pseudonymise("handler-7", KEY),
        action=action,
        **overrides,
    )


def outcome(dec: DecisionEvent, *, closed_at: datetime, **fields: Any) -> ClaimOutcomeEvent:
    return ClaimOutcomeEvent(claim_id_hash=dec.claim_id_hash, closed_at=closed_at, **fields)
