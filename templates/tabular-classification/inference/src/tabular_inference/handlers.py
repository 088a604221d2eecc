"""The three Lambda steps of the platform's decision workflow (mlops.inference.workflow).

    encode  -> validate the request; the endpoint's JSON body       (`encode_handler`)
    market  -> external evidence: none for a tabular classifier     (`context_handler`)
    decide  -> probability vs threshold; `refer` when no prediction (`decide_handler`)

Pure functions over plain dicts (pydantic only, no pandas), each Lambda entry point one line.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError

from tabular_core import usecase
from tabular_inference.requests import PredictRequest

DECISION_THRESHOLD = 0.5


def encode(event: dict[str, Any]) -> dict[str, Any]:
    try:
        request = PredictRequest.model_validate(event.get("request", event))
    except ValidationError as exc:
        errors = [
            {"field": ".".join(map(str, e["loc"])), "message": e["msg"]} for e in exc.errors()
        ]
        return {"valid": False, "errors_json": json.dumps(errors)}
    record = request.model_dump()
    return {
        "valid": True,
        "errors_json": "[]",
        "request": record,
        "model_input": json.dumps({"instances": [record]}),
        "valuation_request": {},
    }


def context(event: dict[str, Any]) -> dict[str, Any]:
    """The workflow's enrichment branch; this template uses no external evidence."""
    return {"evidence": {}}


def decide(event: dict[str, Any]) -> dict[str, Any]:
    prediction, _evidence = event.get("enrichment") or [{}, {}]
    base = {
        "usecase": usecase.USECASE_NAME,
        "threshold": DECISION_THRESHOLD,
        "execution_id": event.get("execution_id"),
        "decided_at": event.get("started_at"),
    }
    if "error" in prediction or "body" not in prediction:
        return {
            **base,
            "decision": "refer",
            "probability": None,
            "reason": prediction.get("error", "NO_PREDICTION"),
        }
    (first,) = json.loads(prediction["body"])["predictions"]
    probability = float(first["probability"])
    return {
        **base,
        "decision": "positive" if probability >= DECISION_THRESHOLD else "negative",
        "probability": probability,
        "reason": "MODEL",
    }


def encode_handler(event: dict[str, Any], _context: Any = None) -> dict[str, Any]:
    return encode(event)


def context_handler(event: dict[str, Any], _context: Any = None) -> dict[str, Any]:
    return context(event)


def decide_handler(event: dict[str, Any], _context: Any = None) -> dict[str, Any]:
    return decide(event)
