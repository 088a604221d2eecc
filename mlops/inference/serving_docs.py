"""Pure documents for ``mlops.components.serving.InferenceService``: IAM policies, API Gateway
request/response templates and the request model's JSON Schema (draft-04).

Plain data in, plain data out; unit-tested without Pulumi and called inside ``Output.apply``.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Sequence
from typing import Any

from mlops import iam
from mlops.delivery import artifacts

# --- IAM ----------------------------------------------------------------------------------------
ENI_DESCRIBE = (
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSubnets",
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeDhcpOptions",
    "ec2:DescribeVpcs",
)
LAMBDA_ENI = ("ec2:DeleteNetworkInterface", "ec2:AssignPrivateIpAddresses",
              "ec2:UnassignPrivateIpAddresses")  # fmt: skip
SAGEMAKER_ENI = ("ec2:DeleteNetworkInterface", "ec2:CreateNetworkInterfacePermission",
                 "ec2:DeleteNetworkInterfacePermission")  # fmt: skip


def vpc_network_interfaces(
    *,
    region: str,
    account_id: str,
    subnet_ids: Sequence[str],
    security_group_ids: Sequence[str],
    eni_actions: Sequence[str],
) -> list[iam.Statement]:
    """Network interfaces of a serving role, scoped like the platform's roles: only
    Describe on "*"; an interface is created only in the service's own subnets with its own
    security groups; deleted, re-addressed or shared (`eni_actions`) only among this account's
    interfaces in this region (the services check these at creation with no subnet in the
    request, so `ec2:Subnet` cannot narrow them further)."""
    ec2 = f"arn:aws:ec2:{region}:{account_id}"
    enis = f"{ec2}:network-interface/*"
    subnets = [f"{ec2}:subnet/{s}" for s in subnet_ids]
    groups = [f"{ec2}:security-group/{g}" for g in security_group_ids]
    if not subnets or not groups:
        raise ValueError("vpc_network_interfaces needs the subnet and security group ids")
    return [
        iam.statement("VpcAttach", "ec2:CreateNetworkInterface", [enis, *subnets, *groups]),
        iam.statement("VpcOwnInterfaces", list(eni_actions), enis),
        iam.statement("VpcDescribe", list(ENI_DESCRIBE), "*"),
    ]


def lambda_policy(
    *,
    log_group_arn: str,
    kms_key_arn: str,
    secret_arns: Sequence[str] = (),
    region: str,
    account_id: str,
    subnet_ids: Sequence[str],
    security_group_ids: Sequence[str],
) -> dict[str, Any]:
    """A workflow Lambda: its own log group, ENIs in its own subnets, X-Ray, the stack key, named
    secrets."""
    statements = [
        iam.statement("Logs", ["logs:CreateLogStream", "logs:PutLogEvents"], f"{log_group_arn}:*"),
        *vpc_network_interfaces(
            region=region,
            account_id=account_id,
            subnet_ids=subnet_ids,
            security_group_ids=security_group_ids,
            eni_actions=LAMBDA_ENI,
        ),
        iam.statement("Tracing", ["xray:PutTraceSegments", "xray:PutTelemetryRecords"], "*"),
        iam.kms_use("StackKey", [kms_key_arn], decrypt_only=True),
    ]
    if secret_arns:
        statements.append(iam.statement("Secrets", "secretsmanager:GetSecretValue", secret_arns))
    return iam.document(statements)


def state_machine_policy(
    *, function_arns: Sequence[str], endpoint_arn: str | None, kms_key_arn: str
) -> dict[str, Any]:
    """Invoke the workflow's Lambdas and (when deployed) the endpoint; deliver logs; X-Ray."""
    statements = [
        iam.statement(
            "InvokeWorkflowFunctions",
            "lambda:InvokeFunction",
            [*function_arns, *(f"{a}:*" for a in function_arns)],
        ),
        # CloudWatch Logs delivery for state machines requires Resource "*" (AWS documented)
        iam.statement(
            "LogDelivery",
            [
                "logs:CreateLogDelivery",
                "logs:GetLogDelivery",
                "logs:UpdateLogDelivery",
                "logs:DeleteLogDelivery",
                "logs:ListLogDeliveries",
                "logs:PutResourcePolicy",
                "logs:DescribeResourcePolicies",
                "logs:DescribeLogGroups",
            ],
            "*",
        ),
        iam.statement(
            "Tracing",
            [
                "xray:PutTraceSegments",
                "xray:PutTelemetryRecords",
                "xray:GetSamplingRules",
                "xray:GetSamplingTargets",
            ],
            "*",
        ),
        iam.kms_use("StackKey", [kms_key_arn]),
    ]
    if endpoint_arn:
        statements.append(iam.statement("InvokeEndpoint", "sagemaker:InvokeEndpoint", endpoint_arn))
    return iam.document(statements)


def api_policy(*, state_machine_arn: str) -> dict[str, Any]:
    """API Gateway's integration role: start synchronous executions of this workflow only."""
    return iam.document(
        iam.statement("StartSyncExecution", "states:StartSyncExecution", state_machine_arn)
    )


def api_resource_policy(*, account_id: str, api_arn: str) -> dict[str, Any]:
    """Only IAM principals of this account may invoke the API (on top of AWS_IAM auth)."""
    return iam.document(
        iam.statement(
            "AccountPrincipalsOnly",
            "execute-api:Invoke",
            f"{api_arn}/*",
            principal={"AWS": iam.account_root(account_id)},
        )
    )


def model_policy(
    *,
    kms_key_arns: Sequence[str],
    artifact_bucket_arn: str | None,
    capture_bucket_arn: str | None,
    region: str,
    account_id: str,
    subnet_ids: Sequence[str] = (),
    security_group_ids: Sequence[str] = (),
    usecase: str = "",
    artifact_key_arn: str | None = None,
) -> dict[str, Any]:
    """The SageMaker model's execution role: read its use case's registered models (the identity
    side of the artifact contract, `mlops.delivery.artifacts`: `<usecase>/models/*` of the registry
    bucket, decrypted with its key through S3 only), pull images, write data capture."""
    statements = [
        iam.statement("EcrAuth", "ecr:GetAuthorizationToken", "*"),  # has no resource form
        iam.statement(
            "PullImages",
            ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"],
            "arn:aws:ecr:*:*:repository/*",  # the package's image may live in an AWS account
        ),
        iam.statement(
            "Logs",
            [
                "logs:CreateLogGroup",
                "logs:CreateLogStream",
                "logs:PutLogEvents",
                "logs:DescribeLogStreams",
            ],
            "arn:aws:logs:*:*:log-group:/aws/sagemaker/Endpoints/*",
        ),
        iam.statement("Metrics", "cloudwatch:PutMetricData", "*"),
        iam.kms_use("Keys", list(dict.fromkeys(kms_key_arns))),
    ]
    if subnet_ids:  # a real-time endpoint in the VPC (serverless endpoints attach no ENIs)
        statements += vpc_network_interfaces(
            region=region, account_id=account_id, subnet_ids=subnet_ids,
            security_group_ids=security_group_ids, eni_actions=SAGEMAKER_ENI,
        )  # fmt: skip
    if artifact_bucket_arn:
        if not usecase or not artifact_key_arn:
            raise ValueError("model_policy: registered models need the usecase and their key")
        bucket = artifact_bucket_arn.removeprefix("arn:aws:s3:::")
        # S3 calls KMS in the bucket's region: the key's (registered models live in dev's)
        parts = artifact_key_arn.split(":")
        key_region = parts[3] if len(parts) > 3 and parts[3] else region
        statements += artifacts.reader_statements(bucket, artifact_key_arn, usecase, key_region)
    if capture_bucket_arn:
        statements.append(
            iam.statement("WriteDataCapture", "s3:PutObject", f"{capture_bucket_arn}/*")
        )
    return iam.document(statements)


# --- API Gateway templates (VTL) ---------------------------------------------------------------
def start_sync_request_template(state_machine_arn: str) -> str:
    """Request mapping: the body becomes the execution input, untouched."""
    return json.dumps(
        {"stateMachineArn": state_machine_arn, "input": "$util.escapeJavaScript($input.json('$'))"}
    )


def start_sync_response_template(incomplete_template: str) -> str:
    """Response mapping: a successful execution returns its output; the workflow's only Fail
    state (InvalidRequest) becomes 422 with the field errors; anything else (timeout, aborted)
    becomes the use case's ``incomplete_template`` (``FallbackResponses``), never a 5xx."""
    return (
        "#set($r = $input.path('$'))\n"
        '#if($r.status == "SUCCEEDED")\n'
        "$r.output\n"
        '#elseif($r.error == "InvalidRequest")\n'
        "#set($context.responseOverride.status = 422)\n"
        "$r.cause\n"
        "#else\n"
        f"{incomplete_template}\n"
        "#end"
    )


def bad_request_template(detail: str) -> str:
    """Request-validator failures: the use case's ``detail`` (``FallbackResponses.
    invalid_request_detail``, plain text) and the failing properties (a dotted path each)."""
    return (
        f'{{"detail": {json.dumps(detail)}, "errors": "$util.escapeJavaScript($context.error.'
        'validationErrorString)"}'
    )


ACCESS_LOG_FORMAT = json.dumps(
    {
        "requestId": "$context.requestId",
        "ip": "$context.identity.sourceIp",
        "caller": "$context.identity.caller",
        "user": "$context.identity.user",
        "requestTime": "$context.requestTime",
        "httpMethod": "$context.httpMethod",
        "resourcePath": "$context.resourcePath",
        "status": "$context.status",
        "protocol": "$context.protocol",
        "responseLength": "$context.responseLength",
        "integrationLatency": "$context.integrationLatency",
        "validationError": "$context.error.validationErrorString",
    },
    separators=(",", ":"),
)


# --- request model --------------------------------------------------------------------------------
_DRAFT4_DROP = {"title", "$defs", "examples", "default", "format", "const", "propertyNames"}


def draft4_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """A pydantic (draft 2020-12) schema as the self-contained draft-04 schema API Gateway needs.

    ``$ref``s to ``$defs`` are inlined; ``const`` becomes a one-value ``enum``; ``anyOf`` with
    ``null`` is kept (draft-04 supports anyOf); keywords API Gateway ignores or rejects are dropped.
    """
    defs = schema.get("$defs", {})

    def walk(node: Any) -> Any:
        if isinstance(node, list):
            return [walk(n) for n in node]
        if not isinstance(node, dict):
            return node
        if "$ref" in node:
            target = node["$ref"].rsplit("/", 1)[-1]
            return walk(copy.deepcopy(defs[target]))
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key == "const":
                out["enum"] = [value]
            elif key in _DRAFT4_DROP:
                continue
            elif key in ("properties", "patternProperties"):
                out[key] = {k: walk(v) for k, v in value.items()}
            else:
                out[key] = walk(value)
        return out

    body = walk({k: v for k, v in schema.items() if k != "$defs"})
    return {"$schema": "http://json-schema.org/draft-04/schema#", **body}
