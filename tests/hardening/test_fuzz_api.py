"""Fuzzing the local decision API from its own OpenAPI document (schemathesis).

Every operation gets generated requests that follow the schema (positive) and that break it
(negative), against the in-process ASGI app with a tiny real bundle and the in-process synthetic
market. Bounded and deterministic (``derandomize``, no example database). Expected: no 5xx ever,
responses that match the documented schema, and every 4xx body naming what was wrong: a 422 lists
the fields, a 404 names the decision id.
"""

from __future__ import annotations

import re
import warnings
from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings

pytestmark = pytest.mark.filterwarnings("ignore")

EXAMPLES = {"POST /v1/decisions": 200}  # per mode; the rest get DEFAULT_EXAMPLES
DEFAULT_EXAMPLES = 100
# a model-level rule names its fields in the message ("vehicle.year ... incident_date",
# "an override needs override_reason and final_recommendation")
FIELD_IN_TEXT = re.compile(r"\b[a-z]+(_[a-z]+)+\b|\b(vehicle|accident)\.[a-z_]+")
# a body that is not a JSON object at all: the body itself is the field
WHOLE_BODY = ("valid dictionary", "Extra inputs are not permitted", "JSON")


@pytest.fixture(scope="module")
def schema(compiled):
    import schemathesis
    from remedy_inference.api import create_app
    from remedy_inference.audit import MemorySink
    from remedy_inference.market_data import SyntheticMarket
    from remedy_inference.service import BundlePredictor, DecisionService

    service = DecisionService(
        predictor=BundlePredictor(compiled), valuation=SyntheticMarket(), sink=MemorySink()
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return schemathesis.openapi.from_asgi("/openapi.json", create_app(service)), service


def rejection_problems(status: int, body: object) -> list[str]:
    """What is wrong with a 4xx body (empty: it names the field or the missing resource)."""
    if not isinstance(body, dict) or not body.get("detail"):
        return [f"{status} without a detail: {body!r}"[:300]]
    if status == 404:
        found = re.fullmatch(r"decision .* not found", str(body["detail"]), re.DOTALL)
        return [] if found else [f"404 does not name the decision: {body}"]
    if status == 400:  # unparsable JSON: the body is what is wrong, and the detail says so
        return [] if "body" in str(body["detail"]) else [f"400 without a reason: {body}"]
    if status != 422:
        return [f"unexpected {status}: {body}"[:300]]
    errors = body.get("errors")
    if not errors:
        return [f"422 without field errors: {body}"[:300]]
    problems = []
    for e in errors:
        named = (
            e["field"] not in ("", "body")
            or FIELD_IN_TEXT.search(e["message"])
            or any(w in e["message"] for w in WHOLE_BODY)
        )
        if not named or e["field"] not in body["detail"]:
            problems.append(f"422 does not name the field: {e}")
    return problems


def fuzzer(op, mode, statuses: Counter, failures: list[str]):
    """A Hypothesis test over ``op``'s generated requests in ``mode``, recording what it saw."""
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import response_schema_conformance

    @settings(
        max_examples=EXAMPLES.get(op.label, DEFAULT_EXAMPLES),
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=op.as_strategy(generation_mode=mode))
    def run(case) -> None:
        try:
            response = case.call()
        except Exception as exc:  # the app raised: the client would have seen a 500
            statuses[(op.label, mode.value, 500)] += 1
            failures.append(f"{op.label}: {type(exc).__name__}: {exc}"[:400])
            return
        statuses[(op.label, mode.value, response.status_code)] += 1
        try:
            case.validate_response(
                response, checks=[not_a_server_error, response_schema_conformance]
            )
        except BaseExceptionGroup as exc:  # schemathesis's FailureGroup
            failures.append(f"{op.label} {response.status_code}: {exc.exceptions[0]}"[:400])
        if 400 <= response.status_code < 500:
            failures.extend(rejection_problems(response.status_code, response.json()))

    return run


def test_no_5xx_and_every_rejection_names_the_field(schema) -> None:
    from hypothesis.errors import Unsatisfiable
    from schemathesis import GenerationMode

    api, service = schema
    statuses: Counter[tuple[str, str, int]] = Counter()
    failures: list[str] = []
    operations = [result.ok() for result in api.get_all_operations()]
    assert {op.label for op in operations} >= {
        "POST /v1/decisions",
        "GET /v1/decisions/{decision_id}",
    }
    for op in operations:
        has_input = bool(op.body) or bool(op.path_parameters) or bool(op.query)
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            if mode is GenerationMode.NEGATIVE and not has_input:
                continue  # nothing to break (GET /health)

            run = fuzzer(op, mode, statuses, failures)
            try:
                run()
            except Unsatisfiable:  # e.g. a path parameter with no way to be invalid
                assert mode is GenerationMode.NEGATIVE, op.label

    total = sum(statuses.values())
    server_errors = sum(n for (_, _, code), n in statuses.items() if code >= 500)
    by_op = Counter()
    for (label, mode, code), n in statuses.items():
        by_op[f"{label} [{mode}] {code}"] += n
    print(f"\nfuzzed {total} requests, {server_errors} 5xx:")
    for key, n in sorted(by_op.items()):
        print(f"  {key}: {n}")
    assert server_errors == 0, failures[:5]
    assert not failures, failures[:5]
    # bounded but not trivial: the main operation was exercised both ways, with real decisions
    post = {(m, c): n for (label, m, c), n in statuses.items() if label == "POST /v1/decisions"}
    assert post.get(("positive", 200), 0) >= 30, post
    assert post.get(("negative", 422), 0) >= 50, post
    assert total >= 400
    assert len(service.recent(10_000)) == post[("positive", 200)] + post.get(("negative", 200), 0)


def test_known_decisions_round_trip_conformant(schema) -> None:
    """The fuzz above only finds unknown ids; fetch real ones (and act on them) the same way."""
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import response_schema_conformance

    api, service = schema
    ops = {result.ok().label: result.ok() for result in api.get_all_operations()}
    post = ops["POST /v1/decisions"]
    bodies = [
        {
            "claim_id": f"HARDEN-{i}",
            "region": "wales",
            "incident_date": "2025-03-01",
            "vehicle": {"make": "Ford", "model": "Fiesta", "segment": "supermini",
                        "body_type": "hatchback", "year": 2019, "mileage": 30_000.5,
                        "powertrain": "petrol"},
            "accident": {"impact_point": "front", "delta_v_kph": 10.0 * i, "zones_hit": ["front"],
                         "zone_severity": {"front": i / 10}},
        }
        for i in range(1, 6)
    ]  # fmt: skip
    checks = [not_a_server_error, response_schema_conformance]
    for body in bodies:
        case = post.Case(body=body, media_type="application/json")
        response = case.call()
        case.validate_response(response, checks=checks)
        assert response.status_code == 200, response.text
        decision_id = response.json()["decision_id"]
        get = ops["GET /v1/decisions/{decision_id}"].Case(
            path_parameters={"decision_id": decision_id}
        )
        fetched = get.call()
        get.validate_response(fetched, checks=checks)
        assert fetched.status_code == 200 and fetched.json() == response.json()
        act = ops["POST /v1/decisions/{decision_id}/actions"].Case(
            path_parameters={"decision_id": decision_id},
            body={"action": "accept", "handler_id": "handler-7"},
            media_type="application/json",
        )
        acted = act.call()
        act.validate_response(acted, checks=checks)
        assert acted.status_code == 201, acted.text
        listed = ops["GET /v1/decisions/{decision_id}/actions"].Case(
            path_parameters={"decision_id": decision_id}
        )
        actions = listed.call()
        listed.validate_response(actions, checks=checks)
        assert [a["action"] for a in actions.json()] == ["accept"]
    assert service.get(decision_id) is not None
