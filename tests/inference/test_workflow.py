"""Decision workflow definition: shape, Retry + Catch on every task, asl-validator."""

from __future__ import annotations

import json

import pytest

from mlops.inference.fallback import FallbackResponses
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


def test_failures_lead_to_decide_or_the_fallback_answer_never_a_fail_state():
    d = decision_workflow(spec())
    fails = [n for n, s in d["States"].items() if s["Type"] == "Fail"]
    assert fails == ["Rejected"]  # only bad input fails (-> 4xx at the API)
    assert d["States"]["Rejected"]["Error"] == "InvalidRequest"
    catches = {n: s["Catch"][0]["Next"] for n, s in d["States"].items() if "Catch" in s}
    assert catches == {"Encode": "EncodeFailed", "Enrich": "EnrichFailed", "Decide": "DecideFailed"}
    assert d["States"]["DecideFailed"] == {
        "Type": "Pass",
        "Result": {"error": "DECISION_SERVICE_ERROR", "detail": "the decision service failed"},
        "End": True,
    }
    predict_branch = d["States"]["Enrich"]["Branches"][0]["States"]
    assert predict_branch["PredictFailed"]["Parameters"]["error"] == "MODEL_UNAVAILABLE"


def test_the_decide_step_failing_answers_the_use_cases_fallback_decision():
    """The use case's wording (Remedy: investigate, a handler assesses the claim)
    comes from its program; the platform's definition carries it verbatim and unshared."""
    body = {"recommendation": "refer", "reasons": [{"code": "DECISION_SERVICE_ERROR"}]}
    base = spec()
    s = WorkflowSpec(
        encode_function_arn=base.encode_function_arn,
        market_function_arn=base.market_function_arn,
        decide_function_arn=base.decide_function_arn,
        endpoint_name=base.endpoint_name,
        fallback=FallbackResponses(decide_failed=body),
    )
    d = decision_workflow(s)
    assert d["States"]["DecideFailed"]["Result"] == body
    d["States"]["DecideFailed"]["Result"]["reasons"].append("mutated")
    assert body["reasons"] == [{"code": "DECISION_SERVICE_ERROR"}]
    assert json.loads(definition_json(s))["States"]["DecideFailed"]["Result"] == body
    with pytest.raises(ValueError, match=r"WorkflowSpec\.fallback must be a FallbackResponses"):
        WorkflowSpec(
            encode_function_arn="e", market_function_arn="m", decide_function_arn="d",
            endpoint_name=None, fallback=body,
        )  # fmt: skip


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


def _slowest_path_s(definition: dict) -> float:
    """From the definition itself: each task's attempts at their full timeout plus the retry
    waits; encode, then the slower Enrich branch, then decide."""

    def task(state: dict) -> float:
        retry = state.get("Retry", [{}])[0]
        attempts = retry.get("MaxAttempts", 0)
        waits = sum(
            retry.get("IntervalSeconds", 1) * retry.get("BackoffRate", 2.0) ** i
            for i in range(attempts)
        )
        return (1 + attempts) * state["TimeoutSeconds"] + waits

    states = definition["States"]
    branches = [
        max((task(s) for s in b["States"].values() if s["Type"] == "Task"), default=0.0)
        for b in states["Enrich"]["Branches"]
    ]
    return task(states["Encode"]) + max(branches) + task(states["Decide"])


def test_the_workflow_answers_within_api_gateways_29_seconds():
    """The workflow's own timeout leaves time for the response, and its slowest path
    (every retry at full timeout) ends in a Catch before that timeout."""
    from mlops.inference.workflow import API_GATEWAY_TIMEOUT_S

    remedy = WorkflowSpec(
        encode_function_arn=ARN.format("encode"),
        market_function_arn=ARN.format("market"),
        decide_function_arn=ARN.format("decide"),
        endpoint_name="remedy-dev-endpoint",
        task_timeout_s=3,
        market_timeout_s=5,  # the remedy template's market step (valuation deadline 4 s)
    )
    for s in (spec(), spec(None), remedy):
        definition = decision_workflow(s)
        assert definition["TimeoutSeconds"] < API_GATEWAY_TIMEOUT_S
        assert _slowest_path_s(definition) <= definition["TimeoutSeconds"], s
    market = task_states(decision_workflow(remedy))["MarketData"]
    assert market["TimeoutSeconds"] == 5


def test_timeouts_that_cannot_fit_under_api_gateway_are_refused():
    slowest = r"slowest path through the workflow takes 63.0 s \(encode 21.0"
    with pytest.raises(ValueError, match=slowest):
        WorkflowSpec(
            encode_function_arn="e", market_function_arn="m", decide_function_arn="d",
            endpoint_name=None, task_timeout_s=10, predict_timeout_s=5, max_attempts=1,
        )  # fmt: skip
    with pytest.raises(ValueError, match="timeout_s 45: must be <= 25"):
        WorkflowSpec(
            encode_function_arn="e", market_function_arn="m", decide_function_arn="d",
            endpoint_name=None, timeout_s=45,
        )  # fmt: skip
