"""Lambda handlers (Powertools) run as the workflow would: encode -> (predict || market) ->
decide; same answer as the local API's in-process service; one audit event per decision."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from factories import claim
from remedy_core.rules import RuleConfig
from remedy_inference import inference
from remedy_inference.audit import MemorySink
from remedy_inference.compiled import CompiledBundle
from remedy_inference.handlers import decide, encode, market
from remedy_inference.market_data import SyntheticMarket
from remedy_inference.service import BundlePredictor, DecisionService
from remedy_inference.steps import DecideEvent, decide_step

REQUEST = json.loads(claim().model_dump_json())


def run_workflow(bundle_dir, request, ctx, *, endpoint=True, market_result=None):
    """Follow the Step Functions definition's data flow with the real handlers."""
    state = encode.handler({"request": request}, ctx)
    if not state["valid"]:
        return state
    if endpoint:
        model = inference.model_fn(str(bundle_dir))
        body = inference.output_fn(
            inference.predict_fn(inference.input_fn(state["model_input"]), model)
        )
        predict = {"body": body}
    else:
        predict = {"error": "MODEL_NOT_DEPLOYED", "detail": "no approved model package"}
    if market_result is None:
        market_result = market.handler({"valuation_request": state["valuation_request"]}, ctx)
    started = datetime.now(UTC) - timedelta(milliseconds=40)
    event = {
        "request": state["request"],
        "enrichment": [predict, market_result],
        "started_at": started.isoformat(),
        "execution_id": "arn:aws:states:eu-west-2:123456789012:express:remedy:exec-1",
    }
    return decide.handler(event, ctx)


def audit_lines(out: str) -> list[dict]:
    lines = [json.loads(x) for x in out.splitlines() if x.startswith("{")]
    return [x for x in lines if x.get("event_type") == "decision"]


def test_workflow_matches_the_local_service(bundle_dir, bundle, lambda_context, capsys):
    via_lambdas = run_workflow(bundle_dir, REQUEST, lambda_context)
    events = audit_lines(capsys.readouterr().out)
    assert len(events) == 1
    assert events[0]["recommendation"] == via_lambdas["recommendation"]
    # the local API serves the same compiled module as the endpoint (settings.build_predictor)
    service = DecisionService(
        predictor=BundlePredictor(CompiledBundle(bundle)),
        valuation=SyntheticMarket(),
        sink=MemorySink(),
    )
    local = json.loads(service.decide(claim()).model_dump_json())
    for key in ("recommendation", "decided_by", "repair_path", "write_off_path", "pav", "ratio"):
        assert via_lambdas[key] == local[key], key
    assert via_lambdas["versions"]["bundle"] == bundle.bundle_id


def test_invalid_claim_is_reported_with_field_names(lambda_context):
    bad = {**REQUEST, "vehicle": {**REQUEST["vehicle"], "year": "old"}}
    state = encode.handler({"request": bad}, lambda_context)
    assert state["valid"] is False
    errors = json.loads(state["errors_json"])["errors"]
    assert errors[0]["field"] == "vehicle.year"


def test_no_model_answers_model_not_deployed(bundle_dir, lambda_context, capsys):
    d = run_workflow(bundle_dir, REQUEST, lambda_context, endpoint=False)
    assert d["recommendation"] == "investigate"
    assert d["reasons"][0]["code"] == "MODEL_NOT_DEPLOYED"
    assert len(audit_lines(capsys.readouterr().out)) == 1


def test_market_failure_from_the_workflow_catch_still_decides(bundle_dir, lambda_context):
    failed = {"error": "UPSTREAM_ERROR", "detail": "Lambda.ServiceException"}
    d = run_workflow(bundle_dir, REQUEST, lambda_context, market_result=failed)
    assert "MARKET_DATA_UNAVAILABLE" in d["data_quality_flags"]
    assert d["recommendation"] in {"repair", "write_off", "investigate"}


@pytest.mark.parametrize(
    "predict",
    [{"body": "not json"}, {"body": json.dumps({"outputs": []})}, {"body": json.dumps({"x": 1})}],
    ids=["garbage", "empty", "wrong-shape"],
)
def test_garbage_from_the_endpoint_is_model_bad_output(predict):
    sink = MemorySink()
    d = decide_step(
        DecideEvent(request=REQUEST, enrichment=[predict, {"error": "TIMEOUT", "detail": ""}]),
        config=RuleConfig(),
        sink=sink,
        pseudonymisation_key="k" * 32,
    )
    assert d["reasons"][0]["code"] == "MODEL_BAD_OUTPUT"
    assert len(sink.events) == 1


def test_market_handler_reports_errors_as_codes(lambda_context, monkeypatch):
    from remedy_inference.handlers import runtime

    class Down:
        def lookup(self, request):
            from remedy_core.valuation import ValuationError

            raise ValuationError("CIRCUIT_OPEN", "failing fast")

    monkeypatch.setattr(runtime, "valuation_source", lambda: Down())
    monkeypatch.setattr(market, "valuation_source", lambda: Down())
    state = encode.handler({"request": REQUEST}, lambda_context)
    out = market.handler({"valuation_request": state["valuation_request"]}, lambda_context)
    assert out == {"error": "CIRCUIT_OPEN", "detail": "failing fast"}
