"""The workflow's Lambda steps (encode, context, decide) as pure functions."""

import json

from tabular_core import usecase
from tabular_inference import handlers


def test_encode_valid_request_builds_the_endpoint_body(record) -> None:
    out = handlers.encode_handler({"request": record})
    assert out["valid"] is True
    assert json.loads(out["model_input"]) == {"instances": [out["request"]]}
    assert set(out["request"]) == {*usecase.NUMERIC_FEATURES, *usecase.CATEGORICAL_FEATURES}


def test_encode_invalid_request_names_the_fields(record) -> None:
    missing = next(iter(record))
    record.pop(missing)
    out = handlers.encode_handler({"request": {**record, "surprise": 1}})
    assert out["valid"] is False
    fields = {e["field"] for e in json.loads(out["errors_json"])}
    assert fields == {missing, "surprise"}


def test_context_has_no_external_evidence() -> None:
    assert handlers.context_handler({"valuation_request": {}}) == {"evidence": {}}


def test_decide_uses_the_prediction_and_the_threshold() -> None:
    body = json.dumps({"predictions": [{"probability": 0.8, "label": 1}]})
    out = handlers.decide_handler(
        {"enrichment": [{"body": body}, {"evidence": {}}], "execution_id": "e1", "started_at": "t"}
    )
    assert out == {
        "usecase": usecase.USECASE_NAME,
        "threshold": 0.5,
        "execution_id": "e1",
        "decided_at": "t",
        "decision": "positive",
        "probability": 0.8,
        "reason": "MODEL",
    }
    low = json.dumps({"predictions": [{"probability": 0.2, "label": 0}]})
    assert handlers.decide({"enrichment": [{"body": low}, {}]})["decision"] == "negative"


def test_decide_refers_when_there_is_no_prediction() -> None:
    out = handlers.decide({"enrichment": [{"error": "MODEL_NOT_DEPLOYED", "detail": "x"}, {}]})
    assert (out["decision"], out["probability"], out["reason"]) == (
        "refer",
        None,
        "MODEL_NOT_DEPLOYED",
    )
