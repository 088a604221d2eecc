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


# --- the contract: strict types, every status documented with its body, request limits ---------


def _with(path: str, value):
    body = json.loads(json.dumps(BODY))
    *parents, leaf = path.split(".")
    target = body
    for key in parents:
        target = target[key]
    target[leaf] = value
    return body


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("incident_date", 0),  # lax pydantic reads 0 as 1970-01-01
        ("incident_date", "0"),
        ("incident_date", 1_700_000_000),
        ("incident_date", "2025-03-01T10:00:00"),
        ("incident_date", "2025-02-30"),
        ("vehicle.year", "2019"),
        ("vehicle.year", 2019.5),
        ("vehicle.year", True),
        ("vehicle.mileage", "48000"),
        ("vehicle.adas_fitted", 1),
        ("vehicle.adas_fitted", "yes"),
        ("accident.delta_v_kph", True),
    ],
)
def test_no_coercion_that_changes_meaning(path, value):
    client, sink = make()
    r = client.post("/v1/decisions", json=_with(path, value))
    assert r.status_code == 422, r.text
    assert [e["field"] for e in r.json()["errors"]] == [path]
    assert sink.events == []


def test_a_whole_number_is_an_integer_as_in_json_schema():
    client, _ = make()
    r = client.post("/v1/decisions", json=_with("vehicle.year", 2018.0))
    assert r.status_code == 200, r.text


def test_a_body_that_is_not_json_is_400_saying_so():
    client, sink = make()
    for raw in (b'{"claim_id": ', b"\xff\xfe\xfd", b"[" * 50_000):
        r = client.post("/v1/decisions", content=raw, headers={"content-type": "application/json"})
        assert r.status_code == 400, (raw[:10], r.text)
        assert r.json()["detail"].startswith("the request body is not valid JSON"), r.text
    assert sink.events == []


def test_missing_or_non_json_body_is_422_naming_the_body():
    client, _ = make()
    assert client.post("/v1/decisions").json()["errors"] == [
        {"field": "body", "message": "a JSON body is required"}
    ]
    r = client.post("/v1/decisions", content=b"{}", headers={"content-type": "text/plain"})
    assert r.status_code == 422 and "application/json" in r.json()["errors"][0]["message"]


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("OPTIONS", "/v1/decisions/{id}/actions", "GET, POST"),
        ("DELETE", "/v1/decisions/{id}/actions", "GET, POST"),
        ("PUT", "/v1/decisions", "POST"),
        ("DELETE", "/v1/decisions/{id}", "GET"),
    ],
)
def test_405_lists_every_method_of_the_path(method, path, allow):
    client, _ = make()
    decision_id = client.post("/v1/decisions", json=BODY).json()["decision_id"]
    r = client.request(method, path.format(id=decision_id))
    assert r.status_code == 405
    assert r.headers["allow"] == allow
    assert r.json() == {
        "detail": f"{method} is not allowed on {path.format(id=decision_id)}; use "
        + " or ".join(allow.split(", "))
    }


def test_a_key_with_no_name_is_named_as_sent():
    client, sink = make()
    r = client.post("/v1/decisions", json={**BODY, "": 1})
    assert r.status_code == 422
    assert r.json() == {
        "detail": 'invalid claim: ""',
        "errors": [{"field": '""', "message": "Extra inputs are not permitted"}],
    }
    decision_id = client.post("/v1/decisions", json=BODY).json()["decision_id"]
    r = client.post(
        f"/v1/decisions/{decision_id}/actions", json={"action": "inspect", "handler_id": "h", "": 1}
    )
    assert r.status_code == 422
    assert r.json()["errors"] == [
        {"field": '""', "message": "not a field of an action=inspect request"}
    ]
    nested = _with("vehicle.body", "x")  # a field called "body" is a field, not the body
    assert client.post("/v1/decisions", json=nested).json()["errors"][0]["field"] == "vehicle.body"
    assert len(sink.events) == 1


def test_unknown_decision_actions_are_404_with_the_id():
    client, _ = make()
    r = client.get("/v1/decisions/nope/actions")
    assert r.status_code == 404 and r.json() == {"detail": "decision nope not found"}


def test_actions_are_discriminated_by_action_in_the_schema_and_in_the_code():
    client, sink = make()
    schema = client.get("/openapi.json").json()
    body = schema["paths"]["/v1/decisions/{decision_id}/actions"]["post"]["requestBody"]
    union = body["content"]["application/json"]["schema"]
    assert union["discriminator"]["propertyName"] == "action"
    assert set(union["discriminator"]["mapping"]) == {"accept", "override", "inspect"}
    components = schema["components"]["schemas"]
    assert set(components["OverrideAction"]["required"]) >= {
        "override_reason",
        "final_recommendation",
    }
    for name in ("AcceptAction", "InspectAction"):
        assert components[name]["additionalProperties"] is False
        assert "override_reason" not in components[name]["properties"]
    decision_id = client.post("/v1/decisions", json=BODY).json()["decision_id"]
    r = client.post(
        f"/v1/decisions/{decision_id}/actions",
        json={"handler_id": "h1", "action": "accept", "final_recommendation": "repair"},
    )
    assert r.status_code == 422
    assert r.json()["errors"] == [
        {
            "field": "final_recommendation",
            "message": "only allowed with action=override, not action=accept",
        }
    ]
    assert len(sink.events) == 1  # the decision only


def test_every_status_is_documented_with_its_body():
    client, _ = make()
    schema = client.get("/openapi.json").json()
    documented = {
        (method.upper(), path): set(op["responses"])
        for path, ops in schema["paths"].items()
        for method, op in ops.items()
    }
    guarded = {"408", "413", "422", "503"}
    assert documented == {
        ("POST", "/v1/decisions"): {"200", "400"} | guarded,
        ("GET", "/v1/decisions/{decision_id}"): {"200", "404"} | guarded,
        ("POST", "/v1/decisions/{decision_id}/actions"): {"201", "400", "404"} | guarded,
        ("GET", "/v1/decisions/{decision_id}/actions"): {"200", "404"} | guarded,
        ("GET", "/health"): {"200"},
    }
    for path, ops in schema["paths"].items():
        for op in ops.values():
            for status, response in op["responses"].items():
                assert "application/json" in response["content"], (path, status)
    assert "Retry-After" in schema["paths"]["/v1/decisions"]["post"]["responses"]["503"]["headers"]
    assert "Allow" in schema["components"]["responses"]["MethodNotAllowed"]["headers"]


def test_schema_states_the_claim_rules_it_can():
    client, _ = make()
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    date = schemas["Claim"]["properties"]["incident_date"]
    assert date["format"] == "date" and date["pattern"].startswith("^(19[5-9]")
    severity = schemas["Accident"]["properties"]["zone_severity"]
    assert severity["additionalProperties"] == {"type": "number", "minimum": 0, "maximum": 1}
    assert schemas["Accident"]["properties"]["zones_hit"]["items"]["enum"][0] == "front"
    assert "zones_hit" in schemas["Accident"]["x-cross-field-rules"][0]
    assert "vehicle.year" in schemas["Claim"]["x-cross-field-rules"][0]


def _limited(**limits):
    from remedy_inference.api import RequestLimits

    service = DecisionService(
        predictor=FixedPredictor(outputs()),
        valuation=FixedMarket(market()),
        sink=MemorySink(),
        pseudonymisation_key=KEY,
    )
    return create_app(service, RequestLimits(**limits)), service


def test_a_body_over_the_limit_is_413_before_it_is_read():
    app, service = _limited(max_body_bytes=2_000)
    client = TestClient(app)
    padded = {**BODY, "claim_id": "x" * 40}
    big = json.dumps(padded).encode() + b" " * 2_000
    r = client.post("/v1/decisions", content=big, headers={"content-type": "application/json"})
    assert r.status_code == 413
    assert r.json() == {"detail": "the request body is larger than the 2000 bytes allowed"}

    def chunks():  # no Content-Length: refused once the bytes received pass the limit
        yield json.dumps(padded).encode()
        yield b" " * 2_000

    r = client.post("/v1/decisions", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413 and "2000 bytes" in r.json()["detail"]
    assert service.recent() == []
    ok = client.post("/v1/decisions", json=padded)
    assert ok.status_code == 200, ok.text


def test_at_capacity_is_503_with_retry_after_and_health_still_answers():
    import asyncio
    import threading

    import httpx

    started, release = threading.Event(), threading.Event()

    class Blocking(FixedPredictor):
        def predict_one(self, features):
            started.set()
            release.wait(5)
            return super().predict_one(features)

    app, service = _limited(max_in_flight=1)
    service.predictor = Blocking(outputs())

    async def scenario():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
            first = asyncio.create_task(client.post("/v1/decisions", json=BODY))
            for _ in range(500):  # the first request is inside the predictor
                if started.is_set():
                    break
                await asyncio.sleep(0.01)
            assert started.is_set(), (await first).text
            busy = await client.post("/v1/decisions", json=BODY)
            health = await client.get("/health")
            release.set()
            return await first, busy, health

    first, busy, health = asyncio.run(scenario())
    assert first.status_code == 200
    assert busy.status_code == 503 and busy.headers["retry-after"] == "1"
    assert "at capacity (1 requests in flight)" in busy.json()["detail"]
    assert health.status_code == 200


def test_a_slow_body_is_408_and_does_not_hold_up_other_requests():
    import asyncio
    import time

    import httpx

    app, service = _limited(body_timeout_s=0.3)

    async def trickle():
        yield b'{"claim_id": '
        await asyncio.sleep(2)
        yield b'"late"}'

    async def scenario():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
            started = time.perf_counter()
            slow = asyncio.create_task(
                client.post("/v1/decisions", content=trickle(),
                            headers={"content-type": "application/json"})
            )  # fmt: skip
            await asyncio.sleep(0.05)
            fast = await client.post("/v1/decisions", json=BODY)
            fast_s = time.perf_counter() - started
            return await slow, fast, fast_s

    slow, fast, fast_s = asyncio.run(scenario())
    assert fast.status_code == 200 and fast_s < 0.3
    assert slow.status_code == 408
    assert slow.json() == {"detail": "the request body did not arrive within 0.3 s"}
    assert len(service.recent()) == 1


def test_request_limits_come_from_the_environment():
    from remedy_inference.api import RequestLimits
    from remedy_inference.settings import load_settings, request_limits

    env = {"REMEDY_MAX_BODY_BYTES": "4096", "REMEDY_BODY_TIMEOUT_S": "2.5",
           "REMEDY_MAX_IN_FLIGHT": "8"}  # fmt: skip
    assert request_limits(load_settings(env)) == RequestLimits(4096, 2.5, 8)
    assert request_limits(load_settings({})) == RequestLimits()
    with pytest.raises(ValueError, match="max_in_flight"):
        load_settings({"REMEDY_MAX_IN_FLIGHT": "0"})
