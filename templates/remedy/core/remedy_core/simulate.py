"""A seeded, self-contained simulator of Remedy's decision, handler-action and outcome events.

Used by tests and as a stand-in event source when no Remedy decision service is running. It is
not the Remedy decision logic: costs and recommendations follow simple rules over random draws
(repair when the estimate is below 60% of PAV, investigate in a band around it, write off above).
The platform's seed run (``mlops.local.seed``) decides synthetic claims with the real Remedy
decision service instead.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from mlops.events import pseudonymise

from remedy_core.drift_features import inputs_row
from remedy_core.events import (
    ClaimOutcomeEvent,
    DecisionEvent,
    HandlerActionEvent,
    build_decision_event,
)

REGIONS = ("london", "south_east", "north_west", "scotland", "wales", "yorkshire")
VEHICLES = (
    ("Ford", "Fiesta", 9000), ("Ford", "Focus", 12000), ("Vauxhall", "Corsa", 8500),
    ("Volkswagen", "Golf", 15000), ("BMW", "3 Series", 22000), ("Tesla", "Model 3", 30000),
    ("Toyota", "Yaris", 10000), ("Nissan", "Qashqai", 14000),
)  # fmt: skip
FEATURE_SHIFT_START = 0.75  # share of the period after which inputs drift (for the drift chart)


def simulate_events(
    n: int,
    *,
    seed: int = 0,
    start: datetime = datetime(2025, 1, 1, tzinfo=UTC),
    days: int = 365,
    key: bytes = b"simulation-key-not-secret",
    drift: bool = True,
) -> list[DecisionEvent | HandlerActionEvent | ClaimOutcomeEvent]:
    rng = np.random.default_rng(seed)
    ns = uuid.UUID(int=seed)
    events: list[Any] = []
    for i in range(n):
        t = start + timedelta(minutes=float(rng.uniform(0, days * 24 * 60)))
        late = drift and (t - start).days > FEATURE_SHIFT_START * days
        make, model, new_price = VEHICLES[int(rng.integers(len(VEHICLES)))]
        age = float(np.clip(rng.gamma(2.2, 3.3) + (2.0 if late else 0.0), 0, 30))
        mileage = int(age * rng.lognormal(np.log(7800), 0.4))
        dv = float(np.clip(rng.lognormal(np.log(20 if late else 17), 0.5), 2, 130))
        zones = int(np.clip(rng.poisson(1 + dv / 15), 1, 8))
        severity = float(np.clip(rng.beta(2, 4) + dv / 200, 0, 1))
        pav = float(new_price * 0.8 * 0.9**age * max(0.3, 1 - mileage / 300_000))
        pav = max(pav, 800.0)
        repair = float(400 + zones * 550 * (0.5 + severity) * rng.lognormal(0, 0.35))
        ratio = repair / pav
        rec = "repair" if ratio < 0.55 else "investigate" if ratio < 0.7 else "write_off"
        claim_hash = pseudonymise(f"SIM-{seed}-{i}", key)
        dec = build_decision_event(
            event_id=str(uuid.uuid5(ns, f"d{i}")),
            claim_id_hash=claim_hash,
            decided_at=t,
            region=REGIONS[int(rng.integers(len(REGIONS)))],
            vehicle={"make": make, "model": model, "year": max(1995, t.year - int(age)),
                     "powertrain": "ev" if make == "Tesla" else "petrol"},
            inputs={"vehicle_age_years": round(age, 2), "mileage": mileage,
                    "delta_v_kph": round(dv, 1), "zones_hit": [f"zone_{k}" for k in range(zones)],
                    "max_zone_severity": round(severity, 3)},
            model_outputs={
                "repair_cost_p10": repair * 0.75, "repair_cost_p50": repair,
                "repair_cost_p90": repair * 1.35, "pav_p10": pav * 0.9, "pav_p50": pav,
                "pav_p90": pav * 1.1, "salvage_value": pav * 0.2,
                "total_loss_prob": float(np.clip(ratio - 0.2, 0, 1)),
                "model_versions": {"bundle": "simulated"},
            },
            market={"source": "simulated", "comparables_count": 5, "pav_used": pav},
            rule_set_version="simulated",
            reasons=[{"code": "SIMULATED", "sentence": "Simulated decision."}],
            recommendation=rec,
            repair_path={"total": repair + 12 * 80.0},
            write_off_path={"total": pav * 0.8 + 600.0},
            latency_ms=float(rng.gamma(2, 6)),
        )  # fmt: skip
        events.append(dec)
        handler = pseudonymise(f"handler-{int(rng.integers(20))}", key)
        if rng.random() < 0.9:
            u = rng.random()
            act: dict[str, Any] = {"action": "accept"}
            if u < 0.07:
                act = {
                    "action": "override",
                    "override_reason": "VALUATION_DISPUTE",
                    "final_recommendation": "repair" if rec != "repair" else "write_off",
                }
            elif u < 0.12:
                act = {"action": "inspect"}
            events.append(HandlerActionEvent(
                event_id=str(uuid.uuid5(ns, f"a{i}")), claim_id_hash=claim_hash,
                decision_event_id=dec.event_id, handler_id_hash=handler,
                acted_at=t + timedelta(hours=float(rng.uniform(0.2, 30))), **act,
            ))  # fmt: skip
        if rng.random() < 0.7 and rec != "investigate":
            close = t + timedelta(days=float(rng.gamma(3, 6 if rec == "repair" else 9)))
            if rec == "repair":
                actual = repair * float(rng.lognormal(0.02, 0.22))
                fields: dict[str, Any] = {
                    "final_path": "repaired",
                    "actual_repair_cost": actual,
                    "hire_days": float(rng.gamma(3, 4)),
                }
            else:
                fields = {
                    "final_path": "written_off",
                    "settlement_amount": pav * float(rng.normal(1.02, 0.05)),
                    "salvage_recovered": pav * 0.2,
                }
            events.append(ClaimOutcomeEvent(
                event_id=str(uuid.uuid5(ns, f"o{i}")), claim_id_hash=claim_hash,
                closed_at=close, **fields,
            ))  # fmt: skip
    return events


def reference_rows(n: int, seed: int = 1) -> list[dict[str, float]]:
    """Key-feature rows of a simulated 'training set' (no drift) for the drift reference."""
    decisions = [
        e for e in simulate_events(n, seed=seed, drift=False) if isinstance(e, DecisionEvent)
    ]
    return [inputs_row(d.inputs) for d in decisions]
