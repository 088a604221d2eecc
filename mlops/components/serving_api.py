"""`mlops:serving:DecisionApi` — API Gateway REST in front of a synchronous Express workflow.

``POST /v1/decisions``: AWS_IAM auth, a request validator with the request's JSON Schema (draft-04,
from the use case's pydantic model), a StartSyncExecution integration (its own least-privilege
role), response mapping (execution output; InvalidRequest -> 422 with the field errors; anything
else -> the use case's answer, ``DecisionApiArgs.fallback``, never a 5xx), throttling, X-Ray,
JSON access logs to a KMS-encrypted log group, execution logs at ERROR (never bodies) to their own
encrypted group with the retention, and a resource policy limiting callers to this account's
principals.
Built by ``InferenceService``; usable on its own for any decision workflow.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from mlops import iam
from mlops.components.logs import encrypted_log_group
from mlops.inference import serving_docs
from mlops.inference.fallback import FallbackResponses
from mlops.naming import NameContext, boundary_policy_arn, log_group_name, usecase_name


@dataclass(frozen=True, kw_only=True)
class DecisionApiArgs:
    usecase: str
    names: NameContext
    tags: Mapping[str, str]
    kms_key_arn: pulumi.Input[str]
    state_machine_arn: pulumi.Input[str]
    request_schema: Mapping[str, Any] | None = None
    log_retention_days: int = 365
    throttle_rate: float = 50.0
    throttle_burst: int = 100
    stage_name: str = "v1"
    fallback: FallbackResponses = field(default_factory=FallbackResponses)
    """The answers when the workflow does not complete and when a body fails the request model
    (``incomplete_template``, ``invalid_request_detail``)."""

    def __post_init__(self) -> None:
        if not isinstance(self.fallback, FallbackResponses):
            raise ValueError(
                f"DecisionApiArgs.fallback must be a FallbackResponses, got {self.fallback!r}"
            )
        if self.throttle_rate <= 0 or self.throttle_burst <= 0:
            raise ValueError("throttle_rate and throttle_burst must be positive")


class DecisionApi(pulumi.ComponentResource):
    def __init__(
        self, name: str, args: DecisionApiArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mlops:serving:DecisionApi", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        n, a = args.names, args
        self.rest_api = aws.apigateway.RestApi(
            f"{name}-rest-api",
            name=usecase_name(n, a.usecase, "decision-api"),
            description=f"{a.usecase} decisions (IAM auth) -> Step Functions Express",
            endpoint_configuration={"types": "REGIONAL"},
            tags=dict(a.tags),
            opts=child,
        )
        api_id = self.rest_api.id
        self.resource_policy = aws.apigateway.RestApiPolicy(
            f"{name}-resource-policy",
            rest_api_id=api_id,
            policy=self.rest_api.execution_arn.apply(
                lambda arn: iam.dumps(
                    serving_docs.api_resource_policy(account_id=n.account_id, api_arn=arn)
                )
            ),
            opts=child,
        )
        v1 = aws.apigateway.Resource(
            f"{name}-v1",
            rest_api=api_id,
            parent_id=self.rest_api.root_resource_id,
            path_part="v1",
            opts=child,
        )
        decisions = aws.apigateway.Resource(
            f"{name}-decisions", rest_api=api_id, parent_id=v1.id, path_part="decisions", opts=child
        )
        self.request_validator = aws.apigateway.RequestValidator(
            f"{name}-validator",
            rest_api=api_id,
            name="validate-body",
            validate_request_body=True,
            validate_request_parameters=True,
            opts=child,
        )
        schema = serving_docs.draft4_schema(dict(a.request_schema or {"type": "object"}))
        self.request_model = aws.apigateway.Model(
            f"{name}-request-model",
            rest_api=api_id,
            name="DecisionRequest",
            content_type="application/json",
            schema=json.dumps(schema),
            opts=child,
        )
        self.post_method = aws.apigateway.Method(
            f"{name}-post",
            rest_api=api_id,
            resource_id=decisions.id,
            http_method="POST",
            authorization="AWS_IAM",
            request_validator_id=self.request_validator.id,
            request_models={"application/json": self.request_model.name},
            opts=child,
        )
        self.role = aws.iam.Role(
            f"{name}-role",
            name=usecase_name(n, a.usecase, "api", kind="role"),
            permissions_boundary=boundary_policy_arn(n, a.usecase),
            assume_role_policy=iam.dumps(
                iam.service_trust("apigateway.amazonaws.com", n.account_id)
            ),
            tags=dict(a.tags),
            opts=child,
        )
        aws.iam.RolePolicy(
            f"{name}-role-policy",
            role=self.role.name,
            policy=pulumi.Output.from_input(a.state_machine_arn).apply(
                lambda arn: iam.dumps(serving_docs.api_policy(state_machine_arn=arn))
            ),
            opts=pulumi.ResourceOptions(parent=self.role),
        )
        # API Gateway's own validation failure (400) names the offending property
        self.bad_request_response = aws.apigateway.Response(
            f"{name}-bad-request-body",
            rest_api_id=api_id,
            response_type="BAD_REQUEST_BODY",
            status_code="400",
            response_templates={
                "application/json": serving_docs.bad_request_template(
                    a.fallback.invalid_request_detail
                )
            },
            opts=child,
        )
        method = self.post_method.http_method
        self.integration = aws.apigateway.Integration(
            f"{name}-integration",
            rest_api=api_id,
            resource_id=decisions.id,
            http_method=method,
            type="AWS",
            integration_http_method="POST",
            uri=f"arn:aws:apigateway:{n.region}:states:action/StartSyncExecution",
            credentials=self.role.arn,
            passthrough_behavior="NEVER",
            timeout_milliseconds=29_000,
            request_templates={
                "application/json": pulumi.Output.from_input(a.state_machine_arn).apply(
                    serving_docs.start_sync_request_template
                )
            },
            opts=child,
        )
        responses = {
            code: aws.apigateway.MethodResponse(
                f"{name}-response-{code}",
                rest_api=api_id,
                resource_id=decisions.id,
                http_method=method,
                status_code=code,
                opts=child,
            )
            for code in ("200", "422")
        }
        integration_response = aws.apigateway.IntegrationResponse(
            f"{name}-integration-response",
            rest_api=api_id,
            resource_id=decisions.id,
            http_method=method,
            status_code=responses["200"].status_code,
            response_templates={
                "application/json": serving_docs.start_sync_response_template(
                    a.fallback.incomplete_template
                )
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.integration]),
        )
        deployment = aws.apigateway.Deployment(
            f"{name}-deployment",
            rest_api=api_id,
            triggers={"redeployment": json.dumps(schema, sort_keys=True)[:2048]},
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=[self.integration, integration_response]
            ),
        )
        self.log_group = encrypted_log_group(
            f"{name}-access-logs",
            physical_name=log_group_name(n, a.usecase, "decision-api", "access"),
            kms_key_arn=a.kms_key_arn,
            retention_days=a.log_retention_days,
            tags=a.tags,
            opts=child,
        )
        self.stage = aws.apigateway.Stage(
            f"{name}-stage",
            rest_api=api_id,
            deployment=deployment.id,
            stage_name=a.stage_name,
            xray_tracing_enabled=True,
            access_log_settings={
                "destination_arn": self.log_group.arn,
                "format": serving_docs.ACCESS_LOG_FORMAT,
            },
            tags=dict(a.tags),
            opts=child,
        )
        # Execution logs (ERROR level, below) go to the group API Gateway names after the API and
        # stage; created here first, with the logs key and the retention, or API Gateway would
        # create it unencrypted and kept forever on the first error.
        self.execution_log_group = encrypted_log_group(
            f"{name}-execution-logs",
            physical_name=pulumi.Output.concat(
                "API-Gateway-Execution-Logs_", api_id, "/", a.stage_name
            ),
            kms_key_arn=a.kms_key_arn,
            retention_days=a.log_retention_days,
            tags=a.tags,
            opts=child,
        )
        self.method_settings = aws.apigateway.MethodSettings(
            f"{name}-settings",
            rest_api=api_id,
            stage_name=self.stage.stage_name,
            method_path="*/*",
            settings={
                "throttling_rate_limit": a.throttle_rate,
                "throttling_burst_limit": a.throttle_burst,
                "metrics_enabled": True,
                # execution logging of errors only; never request or response bodies (requests
                # may carry personal data): data trace stays off
                "logging_level": "ERROR",
                "data_trace_enabled": False,
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.execution_log_group]),
        )
        self.invoke_url = pulumi.Output.concat(
            "https://", api_id, f".execute-api.{n.region}.amazonaws.com/",
            self.stage.stage_name, "/v1/decisions",
        )  # fmt: skip
        self.register_outputs({"rest_api_id": api_id, "invoke_url": self.invoke_url})
