"""Step Functions (Express) definition for a use case's decision workflow.

    Encode (Lambda) -> Valid? -- no --> Rejected (Fail: InvalidRequest, cause = field errors)
                         | yes
                         v
    Enrich (Parallel):  Predict (SageMaker runtime InvokeEndpoint, or MODEL_NOT_DEPLOYED)
                        MarketData (Lambda)
                         v
    Decide (Lambda) -> consolidated response

Every Task has a Retry and a Catch. A failed branch does not fail the workflow: its Catch turns
the error into ``{"error": CODE, "detail": ...}`` and the decide step answers ``investigate``
with that reason. If Decide itself fails after its retries, a static ``investigate`` answer with
reason DECISION_SERVICE_ERROR is returned (never a 500).

The encode Lambda must return ``{"valid": bool, "errors_json": str, "request": {...},
"model_input": str, "valuation_request": {...}}``; the market Lambda ``{"evidence": {...}}`` or
``{"error": CODE, "detail": str}``; the decide Lambda the decision document.
Pure: returns a dict (JSONPath ASL), no AWS calls.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

LAMBDA_INVOKE = "arn:aws:states:::lambda:invoke"
SAGEMAKER_INVOKE = "arn:aws:states:::aws-sdk:sagemakerruntime:invokeEndpoint"

LAMBDA_TRANSIENT = [
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
]
SAGEMAKER_TRANSIENT = [
    "SageMakerRuntime.ServiceUnavailableException",
    "SageMakerRuntime.InternalFailureException",
    "SageMakerRuntime.ThrottlingException",
    "SageMakerRuntime.SageMakerRuntimeException",
]


@dataclass(frozen=True, kw_only=True)
class WorkflowSpec:
    """What the definition needs; ARNs/names may be placeholders filled by ``apply``."""

    encode_function_arn: str
    market_function_arn: str
    decide_function_arn: str
    endpoint_name: str | None  # None: no approved model yet -> MODEL_NOT_DEPLOYED
    task_timeout_s: int = 10
    predict_timeout_s: int = 5
    max_attempts: int = 2
    backoff_rate: float = 2.0
    interval_s: int = 1

    def __post_init__(self) -> None:
        if self.task_timeout_s < 1 or self.predict_timeout_s < 1:
            raise ValueError("task_timeout_s and predict_timeout_s must be >= 1 second")
        if not 0 <= self.max_attempts <= 5:
            raise ValueError("max_attempts must be within 0..5 (Express workflows are short)")


def _retry(errors: list[str], spec: WorkflowSpec) -> list[dict[str, Any]]:
    return [
        {
            "ErrorEquals": [*errors, "States.Timeout"],
            "IntervalSeconds": spec.interval_s,
            "MaxAttempts": spec.max_attempts,
            "BackoffRate": spec.backoff_rate,
            "JitterStrategy": "FULL",
        }
    ]


def _catch(next_state: str, result_path: str | None = "$.error") -> list[dict[str, Any]]:
    return [{"ErrorEquals": ["States.ALL"], "ResultPath": result_path, "Next": next_state}]


def _lambda_task(arn: str, spec: WorkflowSpec, payload: dict[str, Any]) -> dict[str, Any]:
    return {
        "Type": "Task",
        "Resource": LAMBDA_INVOKE,
        "Parameters": {"FunctionName": arn, "Payload": payload},
        "ResultSelector": {"result.$": "$.Payload"},
        "OutputPath": "$.result",
        "TimeoutSeconds": spec.task_timeout_s,
        "Retry": _retry(LAMBDA_TRANSIENT, spec),
    }


def _predict_branch(spec: WorkflowSpec) -> dict[str, Any]:
    if spec.endpoint_name is None:
        return {
            "StartAt": "ModelNotDeployed",
            "States": {
                "ModelNotDeployed": {
                    "Type": "Pass",
                    "Result": {
                        "error": "MODEL_NOT_DEPLOYED",
                        "detail": "no approved model package is deployed",
                    },
                    "End": True,
                }
            },
        }
    return {
        "StartAt": "Predict",
        "States": {
            "Predict": {
                "Type": "Task",
                "Resource": SAGEMAKER_INVOKE,
                "Parameters": {
                    "EndpointName": spec.endpoint_name,
                    "ContentType": "application/json",
                    "Accept": "application/json",
                    "Body.$": "$.model_input",
                },
                "ResultSelector": {"body.$": "$.Body"},
                "TimeoutSeconds": spec.predict_timeout_s,
                "Retry": _retry(SAGEMAKER_TRANSIENT, spec),
                "Catch": _catch("PredictFailed", "$"),
                "End": True,
            },
            "PredictFailed": {
                "Type": "Pass",
                "Parameters": {"error": "MODEL_UNAVAILABLE", "detail.$": "$.Error"},
                "End": True,
            },
        },
    }


def _market_branch(spec: WorkflowSpec) -> dict[str, Any]:
    task = _lambda_task(
        spec.market_function_arn, spec, {"valuation_request.$": "$.valuation_request"}
    )
    return {
        "StartAt": "MarketData",
        "States": {
            "MarketData": {**task, "Catch": _catch("MarketDataFailed", "$"), "End": True},
            "MarketDataFailed": {
                "Type": "Pass",
                "Parameters": {"error": "UPSTREAM_ERROR", "detail.$": "$.Error"},
                "End": True,
            },
        },
    }


FALLBACK_DECISION: dict[str, Any] = {
    "recommendation": "investigate",
    "decided_by": "MISSING_EVIDENCE",
    "confidence": 1.0,
    "reasons": [
        {
            "rule": "MISSING_EVIDENCE",
            "code": "DECISION_SERVICE_ERROR",
            "sentence": "The decision service failed: a handler must assess this claim.",
        }
    ],
}


def decision_workflow(spec: WorkflowSpec) -> dict[str, Any]:
    """The ASL definition (JSONPath) as a dict."""
    encode = _lambda_task(spec.encode_function_arn, spec, {"request.$": "$"})
    decide = _lambda_task(
        spec.decide_function_arn,
        spec,
        {
            "request.$": "$.request",
            "enrichment.$": "$.enrichment",
            "started_at.$": "$$.Execution.StartTime",
            "execution_id.$": "$$.Execution.Id",
        },
    )
    states: dict[str, Any] = {
        # ResultPath null: keep the original request, drop the error, and decide without a model
        "Encode": {**encode, "Catch": _catch("EncodeFailed", None), "Next": "Valid"},
        "EncodeFailed": {
            "Type": "Pass",
            "Parameters": {
                "request.$": "$",
                "enrichment": [
                    {"error": "ENCODE_FAILED", "detail": "feature encoding failed"},
                    {"error": "ENCODE_FAILED", "detail": "feature encoding failed"},
                ],
            },
            "Next": "Decide",
        },
        "Valid": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.valid", "BooleanEquals": False, "Next": "Rejected"}],
            "Default": "Enrich",
        },
        "Rejected": {"Type": "Fail", "Error": "InvalidRequest", "CausePath": "$.errors_json"},
        "Enrich": {
            "Type": "Parallel",
            "Branches": [_predict_branch(spec), _market_branch(spec)],
            "ResultPath": "$.enrichment",
            "Catch": _catch("EnrichFailed"),
            "Next": "Decide",
        },
        "EnrichFailed": {
            "Type": "Pass",
            "Parameters": {
                "request.$": "$.request",
                "enrichment": [
                    {"error": "MODEL_UNAVAILABLE", "detail": "workflow branch failed"},
                    {"error": "UPSTREAM_ERROR", "detail": "workflow branch failed"},
                ],
            },
            "Next": "Decide",
        },
        "Decide": {**decide, "Catch": _catch("DecideFailed"), "End": True},
        "DecideFailed": {"Type": "Pass", "Result": FALLBACK_DECISION, "End": True},
    }
    return {
        "Comment": "Decision workflow: encode -> (predict || market data) -> decide",
        "StartAt": "Encode",
        "TimeoutSeconds": 4 * spec.task_timeout_s + spec.predict_timeout_s,
        "States": states,
    }


def definition_json(spec: WorkflowSpec) -> str:
    return json.dumps(decision_workflow(spec), indent=2, sort_keys=True)


def task_states(definition: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every Task state, including those inside Parallel branches (for tests and policies)."""
    found: dict[str, dict[str, Any]] = {}

    def walk(states: dict[str, Any]) -> None:
        for name, state in states.items():
            if state["Type"] == "Task":
                found[name] = state
            for branch in state.get("Branches", []):
                walk(branch["States"])

    walk(definition["States"])
    return found
