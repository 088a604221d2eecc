"""Local decision API: decisions, dependency failures -> investigate, 422 naming the field,
exactly one audit event per decision, OpenAPI snapshot."""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path

import pytest

from factories import claim, market, outputs
from remedy_core.valuation import ValuationError
from remedy_inference.api import create_app
from remedy_inference.audit import MemorySink
from remedy_inference.service import DecisionService, ModelUnavailable, NoModel

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

SNAPSHOT = Path(__file__).parent / "snapshots" / "openapi.json"
KEY = "test-pseudonymisation-key-0123456789"


class FixedPredictor:
    def __init__(self, result=None, error: Exception | None = None) -> None:
        self.result, self.error, self.calls = result, error, 0

    def predict_one(self, features):
        self.calls += 1
        assert features.dtype.name == "float32" and features.ndim == 1
        if self.error:
            raise self.error
        return self.result


class FixedMarket:
    def __init__(self, evidence=None, error: Exception | None = None) -> None:
        self.evidence, self.error = evidence, error

    def lookup(self, request):
        if self.error:
            raise self.error
        return self.evidence


def make(predictor=None, valuation=None):
    sink = MemorySink()
    service = DecisionService(
        predictor=predictor or FixedPredictor(outputs()),
        valuation=valuation or FixedMarket(market()),
        sink=sink,
        pseudonymisation_key=KEY,
    )
    return TestClient(create_app(service)), sink


BODY = json.loads(claim().model_dump_json())


def test_post_decision_then_get_it_back():
    client, sink = make()
    r = client.post("/v1/decisions", json=BODY)
    assert r.status_code == 200, r.text
    d = r.json()
    assert d["recommendation"] == "repair" and d["decided_by"] == "ECONOMIC"
    assert d["pav"]["source"] == "market_comparables" and len(d["pav"]["comparables"]) == 3
    assert d["versions"]["features"] and d["versions"]["rule_set"]
    got = client.get(f"/v1/decisions/{d['decision_id']}")
    assert got.status_code == 200 and got.json() == d
    assert len(sink.events) == 1
    event = sink.events[0]
    assert event.recommendation == "repair" and event.claim_id_hash != BODY["claim_id"]
    assert "CLM-0001" not in event.model_dump_json()
    assert event.repair_path.total == d["repair_path"]["total"]


def test_unknown_decision_is_404():
    client, _ = make()
    r = client.get("/v1/decisions/nope")
    assert r.status_code == 404 and r.json() == {"detail": "decision nope not found"}


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda b: b["vehicle"].update(year="old"), "vehicle.year"),
        (lambda b: b["accident"].update(delta_v_kph=-3), "accident.delta_v_kph"),
        (lambda b: b.pop("region"), "region"),
        (lambda b: b["vehicle"].update(powertrain="steam"), "vehicle.powertrain"),
        (lambda b: b["accident"].update(zones_hit=["boot"]), "accident.zones_hit"),
    ],
    ids=["year-not-int", "negative-delta-v", "missing-region", "bad-powertrain", "bad-zone"],
)
def test_bad_input_is_422_naming_the_field_and_emits_no_event(mutate, field):
    client, sink = make()
    body = json.loads(json.dumps(BODY))
    mutate(body)
    r = client.post("/v1/decisions", json=body)
    assert r.status_code == 422
    fields = [e["field"] for e in r.json()["errors"]]
    assert field in fields, fields
    assert field in r.json()["detail"]
    assert sink.events == []


@pytest.mark.parametrize(
    ("predictor", "code"),
    [
        (NoModel(), "MODEL_NOT_DEPLOYED"),
        (FixedPredictor(error=RuntimeError("endpoint 500")), "MODEL_UNAVAILABLE"),
        (FixedPredictor(error=ModelUnavailable("MODEL_BAD_OUTPUT")), "MODEL_BAD_OUTPUT"),
    ],
    ids=["not-deployed", "endpoint-error", "bad-output"],
)
def test_model_failures_answer_investigate_with_a_reason(predictor, code):
    client, sink = make(predictor=predictor)
    r = client.post("/v1/decisions", json=BODY)
    assert r.status_code == 200
    d = r.json()
    assert d["recommendation"] == "investigate"
    assert d["reasons"][0]["code"] == code
    assert len(sink.events) == 1 and sink.events[0].reasons[0].code == code


@pytest.mark.parametrize(
    "error",
    [ValuationError("TIMEOUT", "2.0 s"), ValuationError("UPSTREAM_ERROR", "HTTP 503"), KeyError()],
    ids=["timeout", "5xx", "adapter-bug"],
)
def test_market_failures_fall_back_or_investigate(error):
    # confident model PAV -> decision still made on the model PAV, flagged
    client, sink = make(valuation=FixedMarket(error=error))
    d = client.post("/v1/decisions", json=BODY).json()
    assert d["pav"]["source"] == "model" and "MARKET_DATA_UNAVAILABLE" in d["data_quality_flags"]
    # unconfident model PAV -> investigate, reason names the market failure
    wide = outputs(pav_p10=5_000.0, pav_p50=12_000.0, pav_p90=20_000.0)
    client, sink = make(predictor=FixedPredictor(wide), valuation=FixedMarket(error=error))
    d = client.post("/v1/decisions", json=BODY).json()
    assert d["recommendation"] == "investigate" and d["reasons"][0]["code"] == "MISSING_PAV"
    assert len(sink.events) == 1


def test_exactly_one_event_per_decision():
    client, sink = make()
    for i in range(5):
        body = {**BODY, "claim_id": f"CLM-{i}"}
        assert client.post("/v1/decisions", json=body).status_code == 200
    assert len(sink.events) == 5
    assert len({e.claim_id_hash for e in sink.events}) == 5


def test_openapi_matches_snapshot():
    client, _ = make()
    schema = client.get("/openapi.json").json()
    assert client.get("/docs").status_code == 200
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        SNAPSHOT.write_text(json.dumps(schema, indent=2, sort_keys=True) + "\n")
    assert schema == json.loads(SNAPSHOT.read_text()), (
        "OpenAPI changed: review, then UPDATE_SNAPSHOTS=1 pytest tests/test_api.py"
    )
    assert set(schema["paths"]) == {
        "/v1/decisions",
        "/v1/decisions/{decision_id}",
        "/v1/decisions/{decision_id}/actions",
        "/health",
    }


def test_non_ascii_make_still_gives_one_valid_event():
    client, sink = make()
    body = {**BODY, "vehicle": {**BODY["vehicle"], "make": "Citroën", "model": "C3 Aircross"}}
    assert client.post("/v1/decisions", json=body).status_code == 200
    assert [e.vehicle.make for e in sink.events] == ["Citroen"]
