"""API Gateway (REST): APIs, their parts, stages and the account-level CloudWatch role."""

from __future__ import annotations

import json
import re

from mlops.rehearsal.model import Call
from mlops.testing.mocks import RecordedResource

from .base import (
    Prerequisite,
    ProgramView,
    ServiceCall,
    as_json,
    as_role,
    assume,
    block,
    c,
    pass_role,
    policy_principals,
    reads,
    register,
    tag_context,
    tags,
    value,
)

SAR = "Service Authorization Reference (parliament iam_definition.json)"
TF = "terraform-provider-aws internal/service/apigateway"
ACCOUNT_ROLE = (
    "API Gateway developer guide 'Set up CloudWatch logging for REST APIs': execution and access "
    "logging need the account's CloudWatch role (UpdateAccount cloudwatchRoleArn, trusted by "
    "apigateway.amazonaws.com, AmazonAPIGatewayPushToCloudWatchLogs); otherwise 'CloudWatch Logs "
    "role ARN must be set in account settings to enable logging'"
)
PUSH_TO_LOGS = (
    "logs:CreateLogGroup",
    "logs:CreateLogStream",
    "logs:DescribeLogGroups",
    "logs:DescribeLogStreams",
    "logs:PutLogEvents",
    "logs:GetLogEvents",
    "logs:FilterLogEvents",
)


def _gw(v: ProgramView, path: str) -> str:
    return f"arn:{v.partition}:apigateway:{v.region}::{path}"


def _api_id(r: RecordedResource) -> str:
    return str(value(r, "restApi") or value(r, "restApiId") or "*")


def _rest_api_arn(r: RecordedResource, v: ProgramView) -> str:
    return _gw(v, f"/restapis/{value(r, 'id') or r.name}")


def _tag_calls(r: RecordedResource, v: ProgramView, arn: str) -> list[Call]:
    if not tags(r):
        return []
    return [c("apigateway:PUT", _gw(v, f"/tags/{arn}"), "tags on create", tag_context(r))]


@register(
    "aws:apigateway/restApi:RestApi",
    arn=_rest_api_arn,
    principals=lambda r: policy_principals(r.inputs.get("policy")),
    source=(f"{TF}/rest_api.go", SAR),
)
def _rest_api(r: RecordedResource, v: ProgramView) -> list[Call]:
    arn = _rest_api_arn(r, v)
    calls = [c("apigateway:POST", _gw(v, "/restapis"), "create the API", tag_context(r))]
    calls += _tag_calls(r, v, arn)
    if r.inputs.get("policy"):
        calls.append(
            c("apigateway:UpdateRestApiPolicy", arn, "resource policy in the create request")
        )
    return (
        calls
        + reads(arn, "apigateway:GET")
        + reads(_gw(v, f"/restapis/{value(r, 'id') or r.name}/resources"), "apigateway:GET")
    )


@register(
    "aws:apigateway/restApiPolicy:RestApiPolicy",
    principals=lambda r: policy_principals(r.inputs.get("policy")),
    source=(f"{TF}/rest_api_policy.go (UpdateRestApi patch of /policy)", SAR),
)
def _rest_api_policy(r: RecordedResource, v: ProgramView) -> list[Call]:
    arn = _gw(v, f"/restapis/{_api_id(r)}")
    return [
        c("apigateway:PATCH", arn, "set the resource policy"),
        c("apigateway:UpdateRestApiPolicy", arn, "set the resource policy"),
        *reads(arn, "apigateway:GET"),
    ]


def _simple(method: str, path_fn, what: str):
    def fn(r: RecordedResource, v: ProgramView) -> list[Call]:
        path = _gw(v, path_fn(r))
        return [c(method, path, what), *reads(path, "apigateway:GET")]

    return fn


def _method_path(r: RecordedResource) -> str:
    api, res, verb = _api_id(r), value(r, "resourceId"), value(r, "httpMethod")
    return f"/restapis/{api}/resources/{res}/methods/{verb}"


for _typ, _method, _path, _what in (
    (
        "aws:apigateway/resource:Resource",
        "apigateway:POST",
        lambda r: f"/restapis/{_api_id(r)}/resources",
        "create the path resource",
    ),
    ("aws:apigateway/method:Method", "apigateway:PUT", _method_path, "create the method"),
    (
        "aws:apigateway/methodResponse:MethodResponse",
        "apigateway:PUT",
        lambda r: f"{_method_path(r)}/responses/{value(r, 'statusCode')}",
        "method response",
    ),
    (
        "aws:apigateway/integrationResponse:IntegrationResponse",
        "apigateway:PUT",
        lambda r: f"{_method_path(r)}/integration/responses/{value(r, 'statusCode')}",
        "integration response",
    ),
    (
        "aws:apigateway/requestValidator:RequestValidator",
        "apigateway:POST",
        lambda r: f"/restapis/{_api_id(r)}/requestvalidators",
        "request validator",
    ),
    (
        "aws:apigateway/model:Model",
        "apigateway:POST",
        lambda r: f"/restapis/{_api_id(r)}/models",
        "model",
    ),
    (
        "aws:apigateway/response:Response",
        "apigateway:PUT",
        lambda r: f"/restapis/{_api_id(r)}/gatewayresponses/{value(r, 'responseType')}",
        "gateway response",
    ),
    (
        "aws:apigateway/deployment:Deployment",
        "apigateway:POST",
        lambda r: f"/restapis/{_api_id(r)}/deployments",
        "deployment",
    ),
):
    register(_typ, source=(f"{TF} ({_method} {_what})", SAR))(_simple(_method, _path, _what))


def _integration_service(r: RecordedResource, v: ProgramView) -> list[ServiceCall]:
    role = v.role_arn(str(value(r, "credentials"))) if value(r, "credentials") else None
    uri = str(value(r, "uri") or "")
    out = assume(
        "apigateway.amazonaws.com",
        role,
        "API Gateway assumes the integration role per request",
        "runtime",
    )
    if ":states:action/" in uri:
        action = "states:" + uri.rsplit("/", 1)[-1]
        templates = as_json(r.inputs.get("requestTemplates")) or {}
        found = re.findall(r"arn:aws:(?:states|sfn):[^\"'\s]+", json.dumps(templates))
        target = (
            v.canonical(found[0].replace("\\", "")) if found else v.arn("states", "stateMachine:*")
        )
        why = "integration call (state machine named in the mapping template)"
        out += as_role(role, [c(action, target, why)], "runtime")
    return out


@register(
    "aws:apigateway/integration:Integration",
    service=_integration_service,
    source=(
        f"{TF}/integration.go",
        "API Gateway developer guide 'Control access with IAM': integration credentials need "
        "iam:PassRole by the caller",
        SAR,
    ),
)
def _integration(r: RecordedResource, v: ProgramView) -> list[Call]:
    path = _gw(v, f"{_method_path(r)}/integration")
    role = v.role_arn(str(value(r, "credentials"))) if value(r, "credentials") else None
    return [
        c("apigateway:PUT", path, "integration"),
        *pass_role(role, "apigateway.amazonaws.com"),
        *reads(path, "apigateway:GET"),
    ]


def _account_setting(v: ProgramView) -> str | None:
    """Who sets the account's CloudWatch role: this program's resource, or one an earlier
    program of the same account and region deployed (the platform stack)."""
    for program, r in v.in_account("aws:apigateway/account:Account"):
        if value(r, "cloudwatchRoleArn"):
            return f"{r.name} ({program})" if program else r.name
    return None


def _needs_account_role(r: RecordedResource) -> bool:
    if r.type == "aws:apigateway/stage:Stage":
        return bool(block(r, "accessLogSettings").get("destinationArn"))
    settings = block(r, "settings")
    return settings.get("loggingLevel") not in (None, "", "OFF")


def _account_prereq(r: RecordedResource, v: ProgramView) -> list[Prerequisite]:
    if not _needs_account_role(r):
        return []
    acct = _account_setting(v)
    what = "API Gateway account CloudWatch role (aws.apigateway.Account cloudwatchRoleArn)"
    if acct is None:
        detail = "the program sets none: stage logging fails unless the account already has one"
        return [Prerequisite(what, False, detail)]
    return [Prerequisite(what, True, f"set by {acct}")]


def _stage_arn(r: RecordedResource, v: ProgramView) -> str:
    return _gw(v, f"/restapis/{_api_id(r)}/stages/{value(r, 'stageName')}")


@register(
    "aws:apigateway/stage:Stage",
    arn=_stage_arn,
    prerequisites=_account_prereq,
    source=(ACCOUNT_ROLE, f"{TF}/stage.go", SAR),
)
def _stage(r: RecordedResource, v: ProgramView) -> list[Call]:
    arn = _stage_arn(r, v)
    calls = [
        c(
            "apigateway:POST",
            _gw(v, f"/restapis/{_api_id(r)}/stages"),
            "create the stage",
            tag_context(r),
        )
    ]
    calls += _tag_calls(r, v, arn)
    if block(r, "accessLogSettings") or value(r, "xrayTracingEnabled"):
        calls.append(
            c("apigateway:PATCH", arn, "access log settings / tracing are an update after create")
        )
    return calls + reads(arn, "apigateway:GET")


register(
    "aws:apigateway/methodSettings:MethodSettings",
    prerequisites=_account_prereq,
    source=(ACCOUNT_ROLE, f"{TF}/method_settings.go (UpdateStage patch)", SAR),
)(
    _simple(
        "apigateway:PATCH",
        lambda r: f"/restapis/{_api_id(r)}/stages/{value(r, 'stageName')}",
        "method settings",
    )
)


def _account_service(r: RecordedResource, v: ProgramView) -> list[ServiceCall]:
    role = v.role_arn(str(value(r, "cloudwatchRoleArn"))) if value(r, "cloudwatchRoleArn") else None
    out = assume(
        "apigateway.amazonaws.com", role, "UpdateAccount checks API Gateway can assume the role"
    )
    groups = v.arn("logs", "log-group:*")
    streams = v.arn("logs", "log-group:*:log-stream:*")
    where = {"logs:DescribeLogGroups": "*", "logs:CreateLogStream": streams,
             "logs:PutLogEvents": streams, "logs:GetLogEvents": streams}  # fmt: skip
    return out + as_role(
        role,
        [c(a, where.get(a, groups), "API Gateway writes execution and access logs")
         for a in PUSH_TO_LOGS],
        "runtime",
    )  # fmt: skip


@register(
    "aws:apigateway/account:Account",
    service=_account_service,
    source=(
        ACCOUNT_ROLE,
        "UpdateAccount fails with 'The role ARN does not have required permissions configured' "
        "when apigateway.amazonaws.com cannot assume it",
        f"{TF}/account.go",
        SAR,
    ),
)
def _account(r: RecordedResource, v: ProgramView) -> list[Call]:
    path = _gw(v, "/account")
    role = v.role_arn(str(value(r, "cloudwatchRoleArn"))) if value(r, "cloudwatchRoleArn") else None
    return [
        c("apigateway:PATCH", path, "set the account CloudWatch role"),
        *pass_role(role, "apigateway.amazonaws.com"),
        *reads(path, "apigateway:GET"),
    ]
