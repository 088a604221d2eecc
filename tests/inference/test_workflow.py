"""Decision workflow definition: shape, Retry + Catch on every task, asl-validator."""

from __future__ import annotations

import json

import pytest

from mlops.inference.workflow import (
    SAGEMAKER_INVOKE,
    WorkflowSpec,
    decision_workflow,
    definition_json,
    task_states,
)
from mlops.policy.linters import Artifact, run_asl_validator

ARN = "arn:aws:lambda:eu-west-2:123456789012:function:remedy-dev-{}"


def spec(endpoint: str | None = "remedy-dev-endpoint") -> WorkflowSpec:
    return WorkflowSpec(
        encode_function_arn=ARN.format("encode"),
        market_function_arn=ARN.format("market"),
        decide_function_arn=ARN.format("decide"),
        endpoint_name=endpoint,
    )


@pytest.mark.parametrize("endpoint", ["remedy-dev-endpoint", None], ids=["model", "no-model"])
def test_definition_passes_asl_validator(endpoint):
    result = run_asl_validator(
        Artifact("asl", "decision-workflow", definition_json(spec(endpoint)))
    )
    assert result.status == "passed", f"{result.summary}\n{result.output}"


def test_asl_validator_really_rejects_a_broken_definition():
    broken = decision_workflow(spec())
    broken["States"]["Decide"]["Next"] = "Nowhere"
    result = run_asl_validator(Artifact("asl", "broken", json.dumps(broken)))
    assert result.status == "failed", result.output


@pytest.mark.parametrize("endpoint", ["remedy-dev-endpoint", None], ids=["model", "no-model"])
def test_every_task_has_retry_and_catch(endpoint):
    tasks = task_states(decision_workflow(spec(endpoint)))
    expected = {"Encode", "MarketData", "Decide"} | ({"Predict"} if endpoint else set())
    assert set(tasks) == expected
    for name, state in tasks.items():
        assert state.get("Retry"), f"{name} has no Retry"
        assert state["Retry"][0]["MaxAttempts"] >= 1, name
        assert state.get("Catch") and state["Catch"][0]["ErrorEquals"] == ["States.ALL"], name
        assert state.get("TimeoutSeconds"), f"{name} has no timeout"


def test_order_is_encode_then_parallel_predict_and_market_then_decide():
    d = decision_workflow(spec())
    assert d["StartAt"] == "Encode"
    assert d["States"]["Encode"]["Next"] == "Valid"
    assert d["States"]["Valid"]["Default"] == "Enrich"
    enrich = d["States"]["Enrich"]
    assert enrich["Type"] == "Parallel" and enrich["Next"] == "Decide"
    starts = [b["StartAt"] for b in enrich["Branches"]]
    assert starts == ["Predict", "MarketData"]
    predict = enrich["Branches"][0]["States"]["Predict"]
    assert predict["Resource"] == SAGEMAKER_INVOKE
    assert predict["Parameters"]["EndpointName"] == "remedy-dev-endpoint"
    assert d["States"]["Decide"]["End"] is True


def test_failures_lead_to_decide_or_a_fallback_investigate_never_a_fail_state():
    d = decision_workflow(spec())
    fails = [n for n, s in d["States"].items() if s["Type"] == "Fail"]
    assert fails == ["Rejected"]  # only bad input fails (-> 4xx at the API)
    assert d["States"]["Rejected"]["Error"] == "InvalidRequest"
    catches = {n: s["Catch"][0]["Next"] for n, s in d["States"].items() if "Catch" in s}
    assert catches == {"Encode": "EncodeFailed", "Enrich": "EnrichFailed", "Decide": "DecideFailed"}
    assert d["States"]["DecideFailed"]["Result"]["recommendation"] == "investigate"
    predict_branch = d["States"]["Enrich"]["Branches"][0]["States"]
    assert predict_branch["PredictFailed"]["Parameters"]["error"] == "MODEL_UNAVAILABLE"


def test_no_endpoint_answers_model_not_deployed():
    d = decision_workflow(spec(None))
    branch = d["States"]["Enrich"]["Branches"][0]
    assert branch["States"]["ModelNotDeployed"]["Result"]["error"] == "MODEL_NOT_DEPLOYED"
    assert SAGEMAKER_INVOKE not in json.dumps(d)


def test_spec_rejects_bad_numbers():
    with pytest.raises(ValueError, match="max_attempts"):
        WorkflowSpec(
            encode_function_arn="a", market_function_arn="b", decide_function_arn="c",
            endpoint_name=None, max_attempts=9,
        )  # fmt: skip
