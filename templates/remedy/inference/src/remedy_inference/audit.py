"""The audit trail: exactly one ``DecisionEvent`` (``remedy_core.events``) per decision.

Event emission sits behind ``decision_event`` (build) and an ``EventSink`` (where it goes):
Lambda and the local API log it as one JSON line (CloudWatch Logs -> subscription -> Firehose ->
warehouse); tests collect it in memory.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import threading
import unicodedata
from datetime import datetime
from typing import Protocol

from remedy_core import events
from remedy_core.claims import Claim
from remedy_core.decision import CostPathOut, Decision
from remedy_core.outputs import ModelOutputs


class EventSink(Protocol):
    def emit(self, event: events.DecisionEvent) -> None: ...


class LogSink:
    """Writes the event as one JSON line (``to_log_line`` re-checks it for PII)."""

    def __init__(self, logger: logging.Logger | None = None) -> None:
        self.logger = logger or logging.getLogger("remedy.audit")

    def emit(self, event: events.DecisionEvent) -> None:
        self.logger.info(events.to_log_line(event))


class StdoutSink:
    """One bare JSON line per event on stdout (Lambda ships stdout lines to CloudWatch Logs)."""

    def emit(self, event: events.DecisionEvent) -> None:
        sys.stdout.write(events.to_log_line(event) + "\n")
        sys.stdout.flush()


class MemorySink:
    def __init__(self) -> None:
        self.events: list[events.DecisionEvent] = []

    def emit(self, event: events.DecisionEvent) -> None:
        self.events.append(event)


class JsonLinesSink:
    """Appends one JSON line per event to a file (local mode: a log shipper forwards the lines to
    CloudWatch Logs, as the Lambda runtime does for stdout in the cloud). Thread-safe."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._lock = threading.Lock()

    def emit(self, event: events.DecisionEvent) -> None:
        line = events.to_log_line(event) + "\n"
        with self._lock, open(self.path, "a", encoding="utf-8") as handle:
            handle.write(line)
            handle.flush()


_LABEL_DROP = re.compile(r"[^A-Za-z0-9 _.&+/'()-]+")


def label(value: str) -> str:
    """A catalogue value as the event schema's Label (ASCII letters, digits, some punctuation):
    "Citroën" -> "Citroen"; never empty."""
    ascii_ = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode()
    cleaned = " ".join(_LABEL_DROP.sub(" ", ascii_).split())[:48]
    return cleaned or "unknown"


def _path(path: CostPathOut | None) -> events.CostPath:
    if path is None:  # no economics (model or PAV missing): nothing was costed
        return events.CostPath(total=0.0, items={})
    return events.CostPath(total=max(0.0, path.total), items=dict(path.items))


def decision_event(
    decision: Decision,
    claim: Claim,
    outputs: ModelOutputs | None,
    *,
    decided_at: datetime,
    latency_ms: float,
    pseudonymisation_key: str | bytes,
) -> events.DecisionEvent:
    """Build the analytics/audit event for one decision (no PII: ids hashed, inputs allow-listed).

    When the model did not answer, model outputs are reported as zeros with empty versions; the
    reason codes (MODEL_NOT_DEPLOYED / MODEL_UNAVAILABLE) say why.
    """
    v = claim.vehicle
    o = outputs
    zero = 0.0
    summary = events.ModelOutputsSummary(
        repair_cost_p10=max(zero, o.repair_cost_p10) if o else zero,
        repair_cost_p50=max(zero, o.repair_cost_p50) if o else zero,
        repair_cost_p90=max(zero, o.repair_cost_p90) if o else zero,
        pav_p10=o.pav_p10 if o else zero,
        pav_p50=o.pav_p50 if o else zero,
        pav_p90=o.pav_p90 if o else zero,
        salvage_value=max(zero, o.salvage_value) if o else zero,
        total_loss_prob=o.total_loss_prob if o else None,
        structural_prob=o.structural_prob if o else None,
        airbag_prob=o.airbag_prob if o else None,
        adas_recal_prob=o.adas_recal_prob if o else None,
        supplement_rate=max(zero, o.supplement_rate) if o else None,
        repair_days=max(zero, o.repair_days) if o else None,
        hire_days=max(zero, o.hire_days) if o else None,
        salvage_category_probs=dict(o.salvage_category_probs) if o else {},
        model_versions=dict(o.model_versions) if o else {},
    )
    pav = decision.pav
    distances = sorted(c.distance_miles for c in pav.comparables)
    market = events.MarketDataUsed(
        source=pav.source,
        guide_value=pav.guide_value,
        comparables_count=len(pav.comparables),
        comparables_median_price=pav.comparables_median,
        comparables_median_distance_miles=distances[len(distances) // 2] if distances else None,
        pav_used=pav.value or 0.0,
    )
    return events.build_decision_event(
        # the decision id is the event id, so handler actions and outcomes can refer to it
        event_id=decision.decision_id,
        claim_id_hash=events.pseudonymise(claim.claim_id, pseudonymisation_key),
        decided_at=decided_at,
        region=claim.region,
        vehicle=events.VehicleSummary(
            make=label(v.make),
            model=label(v.model),
            year=v.year,
            powertrain=v.powertrain,
            segment=v.segment,
            body_type=v.body_type,
        ),
        inputs=events.redact_claim(json.loads(claim.model_dump_json())),
        model_outputs=summary,
        market=market,
        rule_set_version=decision.versions.rule_set,
        reasons=[events.Reason(code=r.code, sentence=r.sentence[:300]) for r in decision.reasons],
        recommendation=decision.recommendation,
        confidence=decision.confidence,
        repair_path=_path(decision.repair_path),
        write_off_path=_path(decision.write_off_path),
        latency_ms=latency_ms,
    )
