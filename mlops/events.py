"""Versioned analytics events for decisions made by a use case (first: Remedy).

Three events reach the analytics stream, one JSON object per log line:

* ``DecisionEvent`` (``event_type="decision"``): exactly one per decision the API makes.
* ``HandlerActionEvent`` (``event_type="handler_action"``): the claims handler accepts the
  recommendation, overrides it with a *coded* reason, or asks for an inspection (UK GDPR Art. 22).
* ``ClaimOutcomeEvent`` (``event_type="claim_outcome"``): what actually happened once the claim
  closed (repair cost paid, settlement, salvage); it lets the warehouse measure model error, PAV
  vs settlement and cycle time.

Privacy by construction:

* Claim and handler identifiers are pseudonymised with a keyed hash (HMAC-SHA256,
  :func:`pseudonymise`); the key lives in the platform's secret store, never in the event.
* Every model forbids unknown fields (``extra="forbid"``), so a caller cannot smuggle a name,
  a phone number or a note into the stream by adding a field.
* There is no free-text field. Reason sentences are produced by the rules engine from templates;
  :func:`scrub_text` still removes anything shaped like an e-mail, phone number, UK postcode or
  registration plate, and :func:`assert_no_pii` re-checks the whole serialised event.
* :func:`redact_claim` turns a raw decision request (which may carry names, contacts, plates and
  notes) into the allow-listed :class:`InputsSummary`; nothing outside the allow-list survives.

The JSON Schema of each event is exported by :func:`json_schemas` (``schema_version`` is part of
every event; bump ``SCHEMA_VERSION``'s minor version for additive changes, its major version for
breaking ones). :func:`flatten_event` gives the flat row loaded by the warehouse (DuckDB locally,
Snowflake in the cloud) and produced by the Firehose transformation Lambda.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    field_validator,
    model_validator,
)

from mlops.errors import MlopsError

SCHEMA_VERSION = "1.0"
EVENT_TYPES = ("decision", "handler_action", "claim_outcome")

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

# CloudWatch Logs subscription filter selecting analytics events among the API's log lines.
SUBSCRIPTION_FILTER_PATTERN = (
    "{ " + " || ".join(f'($.event_type = "{t}")' for t in EVENT_TYPES) + " }"
)


def landing_prefix(usecase: str) -> str:
    """S3 prefix where one use case's events land, in the cloud and locally (shared bucket)."""
    return f"decision-events/{usecase}/"


def selected_by_filter(message: str) -> bool:
    """What :data:`SUBSCRIPTION_FILTER_PATTERN` selects, for paths (moto) that do not apply it."""
    try:
        data = json.loads(message)
    except (json.JSONDecodeError, TypeError):
        return False
    return isinstance(data, dict) and data.get("event_type") in EVENT_TYPES


class PiiError(MlopsError):
    """Something shaped like personal data was about to enter the analytics stream."""


# --- PII detection --------------------------------------------------------------------------

_PII_PATTERNS: dict[str, re.Pattern[str]] = {
    "email": re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"),
    # UK numbers (+44 / 0 prefixed, 10-11 digits, spaces or dashes allowed) and long digit runs.
    "phone": re.compile(r"(?:\+44\s?|\b0)(?:\d[\s-]?){9,10}\b|\b\d{10,}\b"),
    "postcode": re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}\b"),
    # Current plates (AB12 CDE, any case); prefix (A123 BCD) and suffix (ABC 123D) in capitals.
    "plate": re.compile(
        r"\b(?i:[A-Z]{2}\d{2}\s?[A-Z]{3})\b|\b[A-Z]\d{1,3}\s?[A-Z]{3}\b|\b[A-Z]{3}\s?\d{1,3}[A-Z]\b"
    ),
    "card_or_account": re.compile(r"\b(?:\d[ -]?){12,19}\b"),
}
REDACTED = "[redacted]"


def find_pii(text: str) -> list[str]:
    """Names of the PII patterns found in ``text`` (empty when clean)."""
    return [kind for kind, pattern in _PII_PATTERNS.items() if pattern.search(text)]


def scrub_text(text: str) -> str:
    """Replace everything shaped like an e-mail, phone, postcode, plate or card number."""
    for pattern in _PII_PATTERNS.values():
        text = pattern.sub(REDACTED, text)
    return text


def _strings(value: Any, path: str = "") -> list[tuple[str, str]]:
    if isinstance(value, str):
        return [(path, value)]
    if isinstance(value, Mapping):
        out: list[tuple[str, str]] = []
        for k, v in value.items():
            out += _strings(str(k), f"{path}.<key>")
            out += _strings(v, f"{path}.{k}" if path else str(k))
        return out
    if isinstance(value, list | tuple):
        out = []
        for i, v in enumerate(value):
            out += _strings(v, f"{path}[{i}]")
        return out
    return []


# Fields whose values are machine-made and may legitimately look like digits or codes.
_PII_EXEMPT = re.compile(
    r"^(event_id|decision_event_id|claim_id_hash|handler_id_hash|decided_at|acted_at|closed_at"
    r"|schema_version|model_outputs\.model_versions\..*|rule_set_version)$"
)


def assert_no_pii(event: BaseModel | Mapping[str, Any]) -> None:
    """Raise :class:`PiiError` naming the field if any string in the event looks like PII."""
    data = event.model_dump(mode="json") if isinstance(event, BaseModel) else event
    for path, text in _strings(data):
        if _PII_EXEMPT.match(path):
            continue
        kinds = find_pii(text)
        if kinds:
            raise PiiError(
                f"field {path!r} looks like personal data ({', '.join(kinds)})",
                fix="send codes and numbers only; pseudonymise identifiers with "
                "mlops.events.pseudonymise and drop free text",
            )


# --- pseudonymisation ----------------------------------------------------------------------

_HASH_RE = r"^[0-9a-f]{64}$"


def pseudonymise(identifier: str, key: bytes | str) -> str:
    """Keyed, deterministic pseudonym (HMAC-SHA256, hex) for a claim or handler identifier.

    Deterministic so that a decision, its handler action and its outcome join in the warehouse;
    keyed so that nobody without the key can re-identify a claim by hashing candidate ids.
    """
    if not identifier:
        raise PiiError("identifier to pseudonymise is empty", fix="pass the claim or handler id")
    raw_key = key.encode() if isinstance(key, str) else key
    if len(raw_key) < 16:
        raise PiiError(
            "pseudonymisation key is shorter than 16 bytes",
            fix="use the platform's analytics pseudonymisation secret (32 random bytes)",
        )
    return hmac.new(raw_key, identifier.encode(), hashlib.sha256).hexdigest()


# --- shared field types ---------------------------------------------------------------------


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("timestamp must carry a timezone (use UTC)")
    return value.astimezone(UTC)


UtcDatetime = Annotated[datetime, AfterValidator(_utc)]
Hash = Annotated[str, Field(pattern=_HASH_RE, description="HMAC-SHA256 hex pseudonym")]
Code = Annotated[str, Field(pattern=r"^[A-Z][A-Z0-9_]{1,63}$")]
# Short catalogue values (make, model, region, ...): letters, digits and a little punctuation.
Label = Annotated[str, Field(min_length=1, max_length=48, pattern=r"^[A-Za-z0-9 _.&+/'()-]+$")]
Money = Annotated[float, Field(ge=0, le=10_000_000)]
Prob = Annotated[float, Field(ge=0, le=1)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class VehicleSummary(_Strict):
    make: Label
    model: Label
    year: int = Field(ge=1900, le=2100)
    powertrain: Powertrain
    segment: Label | None = None
    body_type: Label | None = None


class InputsSummary(_Strict):
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


class ModelOutputsSummary(_Strict):
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
    salvage_category_probs: dict[Literal["A", "B", "S", "N"], Prob] = Field(default_factory=dict)
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


class MarketDataUsed(_Strict):
    source: Label = Field(description="valuation source, e.g. 'market' or 'model_fallback'")
    guide_value: Money | None = None
    comparables_count: int = Field(ge=0, le=1000)
    comparables_median_price: Money | None = None
    comparables_median_distance_miles: float | None = Field(default=None, ge=0, le=2000)
    pav_used: Money


class Reason(_Strict):
    code: Code
    sentence: Annotated[str, Field(max_length=300)]

    @field_validator("sentence")
    @classmethod
    def _scrub(cls, value: str) -> str:
        return scrub_text(value)


class CostPath(_Strict):
    total: Money
    items: dict[Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,47}$")], float] = Field(
        default_factory=dict, description="cost items in GBP, e.g. parts, labour, hire, towing"
    )


class _Event(_Strict):
    schema_version: Literal["1.0"] = SCHEMA_VERSION
    event_id: str = Field(default_factory=lambda: str(uuid.uuid4()), pattern=r"^[0-9a-f-]{36}$")
    usecase: Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]{0,31}$")] = "remedy"
    claim_id_hash: Hash

    @model_validator(mode="after")
    def _no_pii(self) -> _Event:
        # Events are frozen: checked once here, whether built in code or parsed from a log line.
        assert_no_pii(self)
        return self


class DecisionEvent(_Event):
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


class HandlerActionEvent(_Event):
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


class ClaimOutcomeEvent(_Event):
    event_type: Literal["claim_outcome"] = "claim_outcome"
    closed_at: UtcDatetime
    final_path: Literal["repaired", "written_off", "withdrawn"]
    actual_repair_cost: Money | None = None
    settlement_amount: Money | None = None
    salvage_recovered: Money | None = None
    salvage_category: Literal["A", "B", "S", "N"] | None = None
    hire_days: float | None = Field(default=None, ge=0, le=3650)


AnalyticsEvent = Annotated[
    DecisionEvent | HandlerActionEvent | ClaimOutcomeEvent, Field(discriminator="event_type")
]
_EVENT_ADAPTER: TypeAdapter[DecisionEvent | HandlerActionEvent | ClaimOutcomeEvent] = TypeAdapter(
    AnalyticsEvent
)


# --- building, parsing, serialising ---------------------------------------------------------

# Raw request keys that carry a value we keep (after the allow-list); everything else is dropped.
_INPUT_KEYS = frozenset(InputsSummary.model_fields) - {"vehicle_age_years", "max_zone_severity"}


def redact_claim(claim: Mapping[str, Any], *, as_of: datetime | None = None) -> InputsSummary:
    """Allow-list a raw decision request (a ``Claim`` dump, possibly with extra personal fields).

    Accepts the Remedy ``Claim`` shape (``vehicle`` and ``accident`` sub-objects) or a flat dict.
    Keeps only the fields of :class:`InputsSummary`; names, contacts, plates, VINs, addresses and
    notes are dropped whatever key they arrive under.
    """
    flat: dict[str, Any] = {}
    for part in (claim, claim.get("vehicle") or {}, claim.get("accident") or {}):
        if isinstance(part, Mapping):
            flat.update({k: v for k, v in part.items() if k in _INPUT_KEYS or k == "year"})
    kept: dict[str, Any] = {k: v for k, v in flat.items() if k in _INPUT_KEYS}
    if isinstance(kept.get("mileage"), float):  # the Remedy claim takes fractional odometers
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


def build_decision_event(**fields: Any) -> DecisionEvent:
    """Validate and PII-check a decision event (raises ``PiiError`` or pydantic errors)."""
    return DecisionEvent.model_validate(fields)


def parse_event(
    data: str | bytes | Mapping[str, Any],
) -> DecisionEvent | HandlerActionEvent | ClaimOutcomeEvent:
    """Parse one event from JSON or a dict, dispatching on ``event_type``."""
    if isinstance(data, str | bytes):
        return _EVENT_ADAPTER.validate_json(data)
    return _EVENT_ADAPTER.validate_python(data)


def to_log_line(event: DecisionEvent | HandlerActionEvent | ClaimOutcomeEvent) -> str:
    """The single JSON line the decision API writes to its log group (events are PII-checked
    when they are created, and frozen)."""
    return event.model_dump_json(exclude_none=False)


def json_schemas() -> dict[str, dict[str, Any]]:
    """JSON Schema of each event, keyed by event type."""
    return {
        "decision": DecisionEvent.model_json_schema(),
        "handler_action": HandlerActionEvent.model_json_schema(),
        "claim_outcome": ClaimOutcomeEvent.model_json_schema(),
    }


def write_json_schemas(directory: str) -> list[str]:
    """Write ``<event_type>.v<major>.schema.json`` files; returns the paths written."""
    from pathlib import Path

    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    major = SCHEMA_VERSION.split(".")[0]
    paths = []
    for name, schema in json_schemas().items():
        path = out / f"{name}.v{major}.schema.json"
        path.write_text(json.dumps(schema, indent=2, sort_keys=True) + "\n")
        paths.append(str(path))
    return paths


# --- flat rows for the warehouse ------------------------------------------------------------

# Column name -> SQL type (portable between DuckDB and Snowflake). One table per event type.
DECISION_COLUMNS: dict[str, str] = {
    "event_id": "VARCHAR",
    "schema_version": "VARCHAR",
    "usecase": "VARCHAR",
    "claim_id_hash": "VARCHAR",
    "decided_at": "TIMESTAMP",
    "region": "VARCHAR",
    "make": "VARCHAR",
    "model": "VARCHAR",
    "year": "INTEGER",
    "powertrain": "VARCHAR",
    "vehicle_age_years": "DOUBLE",
    "mileage": "BIGINT",
    "delta_v_kph": "DOUBLE",
    "zones_hit_count": "INTEGER",
    "max_zone_severity": "DOUBLE",
    "airbags_deployed": "BOOLEAN",
    "drivable": "BOOLEAN",
    "repair_cost_p10": "DOUBLE",
    "repair_cost_p50": "DOUBLE",
    "repair_cost_p90": "DOUBLE",
    "pav_p10": "DOUBLE",
    "pav_p50": "DOUBLE",
    "pav_p90": "DOUBLE",
    "salvage_value": "DOUBLE",
    "total_loss_prob": "DOUBLE",
    "supplement_rate": "DOUBLE",
    "pav_used": "DOUBLE",
    "valuation_source": "VARCHAR",
    "comparables_count": "INTEGER",
    "bundle_version": "VARCHAR",
    "rule_set_version": "VARCHAR",
    "reason_codes": "VARCHAR",
    "recommendation": "VARCHAR",
    "confidence": "DOUBLE",
    "repair_path_total": "DOUBLE",
    "write_off_path_total": "DOUBLE",
    "latency_ms": "DOUBLE",
}
HANDLER_ACTION_COLUMNS: dict[str, str] = {
    "event_id": "VARCHAR",
    "schema_version": "VARCHAR",
    "usecase": "VARCHAR",
    "claim_id_hash": "VARCHAR",
    "decision_event_id": "VARCHAR",
    "acted_at": "TIMESTAMP",
    "handler_id_hash": "VARCHAR",
    "action": "VARCHAR",
    "override_reason": "VARCHAR",
    "final_recommendation": "VARCHAR",
}
CLAIM_OUTCOME_COLUMNS: dict[str, str] = {
    "event_id": "VARCHAR",
    "schema_version": "VARCHAR",
    "usecase": "VARCHAR",
    "claim_id_hash": "VARCHAR",
    "closed_at": "TIMESTAMP",
    "final_path": "VARCHAR",
    "actual_repair_cost": "DOUBLE",
    "settlement_amount": "DOUBLE",
    "salvage_recovered": "DOUBLE",
    "salvage_category": "VARCHAR",
    "hire_days": "DOUBLE",
}
TABLES: dict[str, tuple[str, dict[str, str]]] = {
    "decision": ("decision_events", DECISION_COLUMNS),
    "handler_action": ("handler_actions", HANDLER_ACTION_COLUMNS),
    "claim_outcome": ("claim_outcomes", CLAIM_OUTCOME_COLUMNS),
}


def _ts(value: datetime) -> str:
    return value.astimezone(UTC).replace(tzinfo=None).isoformat()


def flatten_event(
    event: DecisionEvent | HandlerActionEvent | ClaimOutcomeEvent,
) -> tuple[str, dict[str, Any]]:
    """``(table, row)`` for the warehouse; the row's keys are that table's columns."""
    base = {
        "event_id": event.event_id,
        "schema_version": event.schema_version,
        "usecase": event.usecase,
        "claim_id_hash": event.claim_id_hash,
    }
    if isinstance(event, DecisionEvent):
        mo, inp = event.model_outputs, event.inputs
        row = {
            **base,
            "decided_at": _ts(event.decided_at),
            "region": event.region,
            "make": event.vehicle.make,
            "model": event.vehicle.model,
            "year": event.vehicle.year,
            "powertrain": event.vehicle.powertrain,
            "vehicle_age_years": inp.vehicle_age_years,
            "mileage": inp.mileage,
            "delta_v_kph": inp.delta_v_kph,
            "zones_hit_count": len(inp.zones_hit),
            "max_zone_severity": inp.max_zone_severity,
            "airbags_deployed": inp.airbags_deployed,
            "drivable": inp.drivable,
            "repair_cost_p10": mo.repair_cost_p10,
            "repair_cost_p50": mo.repair_cost_p50,
            "repair_cost_p90": mo.repair_cost_p90,
            "pav_p10": mo.pav_p10,
            "pav_p50": mo.pav_p50,
            "pav_p90": mo.pav_p90,
            "salvage_value": mo.salvage_value,
            "total_loss_prob": mo.total_loss_prob,
            "supplement_rate": mo.supplement_rate,
            "pav_used": event.market.pav_used,
            "valuation_source": event.market.source,
            "comparables_count": event.market.comparables_count,
            "bundle_version": mo.model_versions.get("bundle"),
            "rule_set_version": event.rule_set_version,
            "reason_codes": ",".join(r.code for r in event.reasons),
            "recommendation": event.recommendation,
            "confidence": event.confidence,
            "repair_path_total": event.repair_path.total,
            "write_off_path_total": event.write_off_path.total,
            "latency_ms": event.latency_ms,
        }
        return "decision_events", row
    if isinstance(event, HandlerActionEvent):
        row = {
            **base,
            "decision_event_id": event.decision_event_id,
            "acted_at": _ts(event.acted_at),
            "handler_id_hash": event.handler_id_hash,
            "action": event.action,
            "override_reason": event.override_reason,
            "final_recommendation": event.final_recommendation,
        }
        return "handler_actions", row
    row = {
        **base,
        "closed_at": _ts(event.closed_at),
        "final_path": event.final_path,
        "actual_repair_cost": event.actual_repair_cost,
        "settlement_amount": event.settlement_amount,
        "salvage_recovered": event.salvage_recovered,
        "salvage_category": event.salvage_category,
        "hire_days": event.hire_days,
    }
    return "claim_outcomes", row
