"""Step Functions (Express) definition for a use case's decision workflow.

    Encode (Lambda) -> Valid? -- no --> Rejected (Fail: InvalidRequest, cause = field errors)
                         | yes
                         v
    Enrich (Parallel):  Predict (SageMaker runtime InvokeEndpoint, or MODEL_NOT_DEPLOYED)
                        MarketData (Lambda)
                         v
    Decide (Lambda) -> consolidated response

Every Task has a Retry and a Catch. A failed branch does not fail the workflow: its Catch turns
the error into ``{"error": CODE, "detail": ...}`` and the decide step answers with that reason
(the use case's degraded decision). If Decide itself fails after its retries, the use case's
static answer (``WorkflowSpec.fallback.decide_failed``, ``mlops.inference.fallback``) is returned
(never a 500).

The encode Lambda must return ``{"valid": bool, "errors_json": str, "request": {...},
"model_input": str, "valuation_request": {...}}``; the market Lambda ``{"evidence": {...}}`` or
``{"error": CODE, "detail": str}``; the decide Lambda the decision document.
Pure: returns a dict (JSONPath ASL), no AWS calls.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from typing import Any

from mlops.inference.fallback import FallbackResponses

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


API_GATEWAY_TIMEOUT_S = 29
"""API Gateway's integration timeout (REST, the default maximum): past it the caller gets a 504."""
RESPONSE_MARGIN_S = 4
"""What StartSyncExecution and the response mapping need after the workflow ends."""


@dataclass(frozen=True, kw_only=True)
class WorkflowSpec:
    """What the definition needs; ARNs/names may be placeholders filled by ``apply``.

    Timeouts fit under API Gateway's 29 s: the workflow's own ``timeout_s`` leaves
    ``RESPONSE_MARGIN_S`` for the response, and the slowest path through the states — encode,
    then the slower of predict and market data, then decide, each with every retry at its full
    timeout plus the retry waits — fits within ``timeout_s``, so a slow step ends in its Catch
    (the decide step's answer with the reason) rather than in a timeout the caller never sees.
    """

    encode_function_arn: str
    market_function_arn: str
    decide_function_arn: str
    endpoint_name: str | None  # None: no approved model yet -> MODEL_NOT_DEPLOYED
    task_timeout_s: int = 3
    """Encode and decide (pure computation)."""
    market_timeout_s: int | None = None
    """Market data (the external valuation API, whose client has its own deadline); default
    ``task_timeout_s``."""
    predict_timeout_s: int = 3
    max_attempts: int = 1
    backoff_rate: float = 2.0
    interval_s: int = 1
    timeout_s: int = API_GATEWAY_TIMEOUT_S - RESPONSE_MARGIN_S
    fallback: FallbackResponses = field(default_factory=FallbackResponses)
    """The use case's answers when it cannot decide; the workflow uses ``decide_failed``."""

    def __post_init__(self) -> None:
        if not isinstance(self.fallback, FallbackResponses):
            raise ValueError(
                f"WorkflowSpec.fallback must be a FallbackResponses, got {self.fallback!r}"
            )
        if self.task_timeout_s < 1 or self.predict_timeout_s < 1 or self.market_s < 1:
            raise ValueError("task, market and predict timeouts must be >= 1 second")
        if not 0 <= self.max_attempts <= 5:
            raise ValueError("max_attempts must be within 0..5 (Express workflows are short)")
        limit = API_GATEWAY_TIMEOUT_S - RESPONSE_MARGIN_S
        if self.timeout_s > limit:
            raise ValueError(
                f"WorkflowSpec.timeout_s {self.timeout_s}: must be <= {limit} s so the decision "
                f"API answers within API Gateway's {API_GATEWAY_TIMEOUT_S} s"
            )
        if self.worst_case_s() > self.timeout_s:
            task = self.step_worst_case_s(self.task_timeout_s)
            raise ValueError(
                f"the slowest path through the workflow takes {self.worst_case_s()} s (encode "
                f"{task} + enrich {self.enrich_worst_case_s()} + decide {task}), over timeout_s "
                f"{self.timeout_s}: lower the step timeouts or max_attempts"
            )

    @property
    def market_s(self) -> int:
        return self.market_timeout_s if self.market_timeout_s is not None else self.task_timeout_s

    def step_worst_case_s(self, timeout: int) -> float:
        """One task with every attempt at its full timeout plus the (un-jittered) retry waits."""
        waits = sum(self.interval_s * self.backoff_rate**i for i in range(self.max_attempts))
        return (1 + self.max_attempts) * timeout + waits

    def enrich_worst_case_s(self) -> float:
        """The parallel predict and market-data branches: the slower of the two."""
        return max(
            self.step_worst_case_s(self.predict_timeout_s), self.step_worst_case_s(self.market_s)
        )

    def worst_case_s(self) -> float:
        return 2 * self.step_worst_case_s(self.task_timeout_s) + self.enrich_worst_case_s()


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


def _lambda_task(
    arn: str, spec: WorkflowSpec, payload: dict[str, Any], timeout: int | None = None
) -> dict[str, Any]:
    return {
        "Type": "Task",
        "Resource": LAMBDA_INVOKE,
        "Parameters": {"FunctionName": arn, "Payload": payload},
        "ResultSelector": {"result.$": "$.Payload"},
        "OutputPath": "$.result",
        "TimeoutSeconds": timeout or spec.task_timeout_s,
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
        spec.market_function_arn,
        spec,
        {"valuation_request.$": "$.valuation_request"},
        spec.market_s,
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
        "DecideFailed": {
            "Type": "Pass",
            "Result": copy.deepcopy(dict(spec.fallback.decide_failed)),
            "End": True,
        },
    }
    return {
        "Comment": "Decision workflow: encode -> (predict || market data) -> decide",
        "StartAt": "Encode",
        "TimeoutSeconds": spec.timeout_s,
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
