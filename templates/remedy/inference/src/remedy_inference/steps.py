"""The workflow's steps as pure functions over JSON-shaped payloads (one per Lambda).

Contract with ``mlops.inference.workflow`` (the Step Functions definition):
- encode:  ``{"request": {...}}`` -> ``{"valid", "errors_json", "request", "model_input",
  "valuation_request"}``; invalid requests are reported, not raised (the workflow fails them as
  InvalidRequest -> 4xx naming the fields).
- market:  ``{"valuation_request": {...}}`` -> ``{"evidence": {...}}`` or ``{"error", "detail"}``
- decide:  ``{"request", "enrichment": [predict, market], "started_at", "execution_id"}`` ->
  the ``Decision`` document; emits exactly one audit event.


Each Lambda loads only what its own step needs (cold start): the rules, the decision models and
the audit event are imported for ``decide_step`` (the decide handler loads them at init), never
by the encode or market Lambdas; the claim model and the feature encoding likewise for the encode
and decide steps (the market Lambda validates a ``ValuationRequest`` only).
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError

from remedy_core.valuation import (
    MarketEvidence,
    ValuationError,
    ValuationRequest,
    ValuationSource,
)

if TYPE_CHECKING:
    from remedy_core.decision import ModelFailureCode
    from remedy_core.outputs import ModelOutputs
    from remedy_core.rules import RuleConfig
    from remedy_inference.audit import EventSink


def field_errors(exc: ValidationError) -> list[dict[str, str]]:
    """Pydantic errors as ``[{"field": "vehicle.year", "message": ...}]``."""
    return [
        {"field": ".".join(str(p) for p in e["loc"]) or "body", "message": e["msg"]}
        for e in exc.errors(include_url=False)
    ]


class EncodeEvent(BaseModel):
    request: dict[str, Any]


class MarketEvent(BaseModel):
    valuation_request: ValuationRequest


class DecideEvent(BaseModel):
    request: dict[str, Any]
    enrichment: list[dict[str, Any]]
    started_at: datetime | None = None
    execution_id: str | None = None


def model_input(features: list[list[float]]) -> str:
    """Body sent to the SageMaker endpoint (see ``inference.input_fn``)."""
    return json.dumps({"instances": features})


def encode_step(event: EncodeEvent) -> dict[str, Any]:
    from remedy_core.claims import Claim
    from remedy_core.features import encode_row

    try:
        claim = Claim.model_validate(event.request)
    except ValidationError as exc:
        errors = field_errors(exc)
        return {"valid": False, "errors_json": json.dumps({"errors": errors})}
    return {
        "valid": True,
        "errors_json": "",
        "request": json.loads(claim.model_dump_json()),
        "model_input": model_input([encode_row(claim)]),
        "valuation_request": ValuationRequest.from_claim(claim).model_dump(mode="json"),
    }


def market_step(event: MarketEvent, source: ValuationSource) -> dict[str, Any]:
    try:
        return {"evidence": source.lookup(event.valuation_request).model_dump(mode="json")}
    except ValuationError as err:
        return {"error": err.code, "detail": err.detail}


def parse_predict(result: dict[str, Any]) -> tuple[ModelOutputs | None, ModelFailureCode | None]:
    from remedy_core.outputs import ModelOutputs

    if "error" in result:
        code = result["error"]
        return None, code if code in (
            "MODEL_NOT_DEPLOYED",
            "MODEL_BAD_OUTPUT",
        ) else "MODEL_UNAVAILABLE"
    try:
        body = json.loads(result["body"])
        return ModelOutputs(**body["outputs"][0]), None
    except (KeyError, IndexError, TypeError, ValueError):
        return None, "MODEL_BAD_OUTPUT"


def parse_market(result: dict[str, Any]) -> tuple[MarketEvidence | None, str | None]:
    if "error" in result:
        return None, f"{result['error']}: {result.get('detail', '')}".strip()
    try:
        return MarketEvidence.model_validate(result["evidence"]), None
    except (KeyError, ValidationError):
        return None, "BAD_RESPONSE: market step returned no evidence"


def decide_step(
    event: DecideEvent,
    *,
    config: RuleConfig,
    sink: EventSink,
    pseudonymisation_key: str,
    now: datetime | None = None,
) -> dict[str, Any]:
    from remedy_core.claims import Claim
    from remedy_core.decision import decide
    from remedy_core.features import FEATURES_VERSION
    from remedy_inference.audit import decision_event

    claim = Claim.model_validate(event.request)
    predict = event.enrichment[0] if event.enrichment else {"error": "MODEL_UNAVAILABLE"}
    market_result = (
        event.enrichment[1] if len(event.enrichment) > 1 else {"error": "UPSTREAM_ERROR"}
    )
    outputs, failure = parse_predict(predict)
    market, market_error = parse_market(market_result)
    decision_id = (
        str(uuid.uuid5(uuid.NAMESPACE_URL, event.execution_id))
        if event.execution_id
        else str(uuid.uuid4())
    )
    decision = decide(
        claim,
        outputs,
        market,
        config=config,
        decision_id=decision_id,
        market_error=market_error,
        model_failure=failure,
        features_version=FEATURES_VERSION,
    )
    now = now or datetime.now(UTC)
    latency_ms = (now - event.started_at).total_seconds() * 1000 if event.started_at else 0.0
    sink.emit(
        decision_event(
            decision,
            claim,
            outputs,
            decided_at=now,
            latency_ms=max(0.0, latency_ms),
            pseudonymisation_key=pseudonymisation_key,
        )
    )
    return json.loads(decision.model_dump_json())
