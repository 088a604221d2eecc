"""Remedy's analytics events, their warehouse tables and its analytics views.

Three events reach the analytics stream, one JSON object per log line:

* ``DecisionEvent`` (``event_type="decision"``): exactly one per decision the API makes.
* ``HandlerActionEvent`` (``event_type="handler_action"``): the claims handler accepts the
  recommendation, overrides it with a *coded* reason, or asks for an inspection (UK GDPR Art. 22).
* ``ClaimOutcomeEvent`` (``event_type="claim_outcome"``): what actually happened once the claim
  closed (repair cost paid, settlement, salvage); it lets the warehouse measure model error, PAV
  vs settlement and cycle time.

They build on the platform's generic, versioned event base and privacy guards
(:mod:`mlops.events`): unknown fields are forbidden, every event is PII-checked when built or
parsed, claim and handler identifiers are pseudonymised (:func:`mlops.events.pseudonymise`).
There is no free-text field: reason sentences come from the rules engine's templates and are
still scrubbed. :func:`redact_claim` turns a raw decision request (which may carry names,
contacts, plates and notes) into the allow-listed :class:`InputsSummary`.

``REGISTRY`` is what the platform's analytics take (the local warehouse, the Firehose
transformation Lambda, Snowflake): one table per event type, columns from the row models below,
and the views in ``sql/`` (one SELECT each, in sqlglot's neutral dialect).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Literal

from mlops.events import (
    Code,
    EventBase,
    EventRegistry,
    EventTable,
    Hash,
    Label,
    Money,
    PiiError,
    Prob,
    SqlType,
    StrictModel,
    UtcDatetime,
    assert_no_pii,
    pseudonymise,
    scrub_text,
    to_log_line,
)
from pydantic import Field, field_validator, model_validator

__all__ = ["PiiError", "assert_no_pii", "pseudonymise", "scrub_text", "to_log_line"]

SCHEMA_VERSION = "1.0"

Recommendation = Literal["repair", "write_off", "investigate"]
Powertrain = Literal["petrol", "diesel", "hybrid", "ev"]
HandlerAction = Literal["accept", "override", "inspect"]
OverrideReason = Literal[
    "VALUATION_DISPUTE",
    "HIDDEN_DAMAGE_FOUND",
    "CUSTOMER_RETAINS_SALVAGE",
    "PARTS_UNAVAILABLE",
    "SALVAGE_CATEGORY_CHANGED",
    "POLICY_TERMS",
    "FRAUD_INDICATORS",
    "DATA_QUALITY",
    "VULNERABLE_CUSTOMER",
    "OTHER_CODED",
]
OVERRIDE_REASONS: tuple[str, ...] = OverrideReason.__args__  # type: ignore[attr-defined]
SalvageCategory = Literal["A", "B", "S", "N"]


class VehicleSummary(StrictModel):
    make: Label
    model: Label
    year: int = Field(ge=1900, le=2100)
    powertrain: Powertrain
    segment: Label | None = None
    body_type: Label | None = None


class InputsSummary(StrictModel):
    """The allow-listed claim inputs behind a decision (no identifiers, no free text)."""

    vehicle_age_years: float = Field(ge=0, le=150)
    mileage: int = Field(ge=0, le=2_000_000)
    adas_fitted: bool = False
    classic: bool = False
    modified: bool = False
    impact_point: Label | None = None
    delta_v_kph: float | None = Field(default=None, ge=0, le=400)
    zones_hit: list[Label] = Field(default_factory=list, max_length=32)
    max_zone_severity: float | None = Field(default=None, ge=0, le=1)
    airbags_deployed: bool = False
    drivable: bool = True
    leaks: bool = False
    engine_runs: bool = True
    fire: bool = False
    flood: bool = False
    incident_date: str | None = Field(default=None, pattern=r"^\d{4}-\d{2}-\d{2}$")


class ModelOutputsSummary(StrictModel):
    repair_cost_p10: Money
    repair_cost_p50: Money
    repair_cost_p90: Money
    pav_p10: Money
    pav_p50: Money
    pav_p90: Money
    salvage_value: Money
    total_loss_prob: Prob | None = None
    structural_prob: Prob | None = None
    airbag_prob: Prob | None = None
    adas_recal_prob: Prob | None = None
    supplement_rate: float | None = Field(default=None, ge=0, le=10)
    repair_days: float | None = Field(default=None, ge=0, le=3650)
    hire_days: float | None = Field(default=None, ge=0, le=3650)
    salvage_category_probs: dict[SalvageCategory, Prob] = Field(default_factory=dict)
    model_versions: dict[
        Annotated[str, Field(max_length=64)], Annotated[str, Field(max_length=128)]
    ]

    @model_validator(mode="after")
    def _ordered(self) -> ModelOutputsSummary:
        for base in ("repair_cost", "pav"):
            lo, mid, hi = (getattr(self, f"{base}_p{q}") for q in (10, 50, 90))
            if not lo <= mid <= hi:
                raise ValueError(f"{base}_p10 <= {base}_p50 <= {base}_p90 must hold")
        return self


class MarketDataUsed(StrictModel):
    source: Label = Field(description="valuation source, e.g. 'market' or 'model_fallback'")
    guide_value: Money | None = None
    comparables_count: int = Field(ge=0, le=1000)
    comparables_median_price: Money | None = None
    comparables_median_distance_miles: float | None = Field(default=None, ge=0, le=2000)
    pav_used: Money


class Reason(StrictModel):
    code: Code
    sentence: Annotated[str, Field(max_length=300)]

    @field_validator("sentence")
    @classmethod
    def _scrub(cls, value: str) -> str:
        return scrub_text(value)


class CostPath(StrictModel):
    total: Money
    items: dict[Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,47}$")], float] = Field(
        default_factory=dict, description="cost items in GBP, e.g. parts, labour, hire, towing"
    )


class _RemedyEvent(EventBase):
    PII_EXEMPT = r"model_outputs\.model_versions\..*|rule_set_version"

    schema_version: Literal["1.0"] = SCHEMA_VERSION
    usecase: Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]{0,31}$")] = "remedy"
    claim_id_hash: Hash


class DecisionEvent(_RemedyEvent):
    event_type: Literal["decision"] = "decision"
    decided_at: UtcDatetime
    region: Label
    vehicle: VehicleSummary
    inputs: InputsSummary
    model_outputs: ModelOutputsSummary
    market: MarketDataUsed
    rule_set_version: Annotated[str, Field(min_length=1, max_length=64)]
    reasons: list[Reason] = Field(default_factory=list, max_length=20)
    recommendation: Recommendation
    confidence: Prob | None = None
    repair_path: CostPath
    write_off_path: CostPath
    latency_ms: float = Field(ge=0, le=600_000)


class HandlerActionEvent(_RemedyEvent):
    event_type: Literal["handler_action"] = "handler_action"
    decision_event_id: str = Field(pattern=r"^[0-9a-f-]{36}$")
    acted_at: UtcDatetime
    handler_id_hash: Hash
    action: HandlerAction
    override_reason: OverrideReason | None = None
    final_recommendation: Recommendation | None = None

    @model_validator(mode="after")
    def _override_needs_reason(self) -> HandlerActionEvent:
        if self.action == "override":
            if self.override_reason is None or self.final_recommendation is None:
                raise ValueError("an override needs override_reason and final_recommendation")
        elif self.override_reason is not None:
            raise ValueError(
                f"override_reason is only allowed when action='override' ({self.action=})"
            )
        return self


class ClaimOutcomeEvent(_RemedyEvent):
    event_type: Literal["claim_outcome"] = "claim_outcome"
    closed_at: UtcDatetime
    final_path: Literal["repaired", "written_off", "withdrawn"]
    actual_repair_cost: Money | None = None
    settlement_amount: Money | None = None
    salvage_recovered: Money | None = None
    salvage_category: SalvageCategory | None = None
    hire_days: float | None = Field(default=None, ge=0, le=3650)


Event = DecisionEvent | HandlerActionEvent | ClaimOutcomeEvent

# --- flat rows for the warehouse (their fields are the tables' columns) ----------------------


class _Row(StrictModel):
    event_id: str
    schema_version: str
    usecase: str
    claim_id_hash: str


class DecisionRow(_Row):
    decided_at: datetime
    region: str
    make: str
    model: str
    year: int
    powertrain: str
    vehicle_age_years: float
    mileage: Annotated[int, SqlType("BIGINT")]
    delta_v_kph: float | None
    zones_hit_count: int
    max_zone_severity: float | None
    airbags_deployed: bool
    drivable: bool
    repair_cost_p10: float
    repair_cost_p50: float
    repair_cost_p90: float
    pav_p10: float
    pav_p50: float
    pav_p90: float
    salvage_value: float
    total_loss_prob: float | None
    supplement_rate: float | None
    pav_used: float
    valuation_source: str
    comparables_count: int
    bundle_version: str | None
    rule_set_version: str
    reason_codes: str
    recommendation: str
    confidence: float | None
    repair_path_total: float
    write_off_path_total: float
    latency_ms: float


class HandlerActionRow(_Row):
    decision_event_id: str
    acted_at: datetime
    handler_id_hash: str
    action: str
    override_reason: str | None
    final_recommendation: str | None


class ClaimOutcomeRow(_Row):
    closed_at: datetime
    final_path: str
    actual_repair_cost: float | None
    settlement_amount: float | None
    salvage_recovered: float | None
    salvage_category: str | None
    hire_days: float | None


def _base(event: _RemedyEvent) -> dict[str, Any]:
    return {name: getattr(event, name) for name in _Row.model_fields}


def _flatten_decision(event: DecisionEvent) -> dict[str, Any]:
    mo, inp, market = event.model_outputs, event.inputs, event.market
    return {
        **_base(event),
        **event.vehicle.model_dump(include={"make", "model", "year", "powertrain"}),
        **inp.model_dump(include={"vehicle_age_years", "mileage", "delta_v_kph",
                                  "max_zone_severity", "airbags_deployed", "drivable"}),
        **mo.model_dump(include={"repair_cost_p10", "repair_cost_p50", "repair_cost_p90",
                                 "pav_p10", "pav_p50", "pav_p90", "salvage_value",
                                 "total_loss_prob", "supplement_rate"}),
        **event.model_dump(include={"decided_at", "region", "rule_set_version",
                                    "recommendation", "confidence", "latency_ms"}),
        "zones_hit_count": len(inp.zones_hit),
        "pav_used": market.pav_used,
        "valuation_source": market.source,
        "comparables_count": market.comparables_count,
        "bundle_version": mo.model_versions.get("bundle"),
        "reason_codes": ",".join(r.code for r in event.reasons),
        "repair_path_total": event.repair_path.total,
        "write_off_path_total": event.write_off_path.total,
    }  # fmt: skip


def _flatten_fields(row: type[StrictModel]) -> Any:
    """A row whose columns are the event's own fields of the same names."""
    return lambda event: {name: getattr(event, name) for name in row.model_fields}


REGISTRY = EventRegistry(
    schema_version=SCHEMA_VERSION,
    tables=(
        EventTable(event=DecisionEvent, table="decision_events", row=DecisionRow,
                   flatten=_flatten_decision, time_field="decided_at"),
        EventTable(event=HandlerActionEvent, table="handler_actions", row=HandlerActionRow,
                   flatten=_flatten_fields(HandlerActionRow), time_field="acted_at"),
        EventTable(event=ClaimOutcomeEvent, table="claim_outcomes", row=ClaimOutcomeRow,
                   flatten=_flatten_fields(ClaimOutcomeRow), time_field="closed_at"),
    ),
    views_dir=Path(__file__).parent / "sql",
    module=__name__,
)  # fmt: skip
EVENT_TYPES = REGISTRY.event_types
SUBSCRIPTION_FILTER_PATTERN = REGISTRY.subscription_filter_pattern
# event type -> (table, {column: SQL type})
TABLES: dict[str, tuple[str, dict[str, str]]] = {
    t.event_type: (t.table, t.columns) for t in REGISTRY.tables
}
parse_event = REGISTRY.parse
flatten_event = REGISTRY.flatten
json_schemas = REGISTRY.json_schemas
write_json_schemas = REGISTRY.write_json_schemas
selected_by_filter = REGISTRY.selected_by_filter


def build_decision_event(**fields: Any) -> DecisionEvent:
    """Validate and PII-check a decision event (raises ``PiiError`` or pydantic errors)."""
    return DecisionEvent.model_validate(fields)


# --- claim redaction ---------------------------------------------------------------------------

# Raw request keys that carry a value we keep (after the allow-list); everything else is dropped.
_INPUT_KEYS = frozenset(InputsSummary.model_fields) - {"vehicle_age_years", "max_zone_severity"}


def redact_claim(claim: Mapping[str, Any], *, as_of: datetime | None = None) -> InputsSummary:
    """Allow-list a raw decision request (a ``Claim`` dump, possibly with extra personal fields).

    Accepts the ``Claim`` shape (``vehicle`` and ``accident`` sub-objects) or a flat dict. Keeps
    only the fields of :class:`InputsSummary`; names, contacts, plates, VINs, addresses and notes
    are dropped whatever key they arrive under.
    """
    flat: dict[str, Any] = {}
    for part in (claim, claim.get("vehicle") or {}, claim.get("accident") or {}):
        if isinstance(part, Mapping):
            flat.update({k: v for k, v in part.items() if k in _INPUT_KEYS or k == "year"})
    kept: dict[str, Any] = {k: v for k, v in flat.items() if k in _INPUT_KEYS}
    if isinstance(kept.get("mileage"), float):  # the claim takes fractional odometers
        kept["mileage"] = round(kept["mileage"])
    if "incident_date" in kept and kept["incident_date"] is not None:
        kept["incident_date"] = str(kept["incident_date"])[:10]
    zones = kept.get("zones_hit") or []
    kept["zones_hit"] = [str(z) for z in zones]
    severity = (claim.get("accident") or {}).get("zone_severity") or claim.get("zone_severity")
    if isinstance(severity, Mapping) and severity:
        kept["max_zone_severity"] = min(1.0, max(float(v) for v in severity.values()))
    year = flat.get("year")
    ref = as_of or datetime.now(UTC)
    if kept.get("incident_date"):
        ref = datetime.fromisoformat(kept["incident_date"]).replace(tzinfo=UTC)
    kept["vehicle_age_years"] = max(0.0, float(ref.year - int(year))) if year else 0.0
    inputs = InputsSummary.model_validate(kept)
    assert_no_pii(inputs)
    return inputs
