"""Lambda functions, permissions and layers; Step Functions state machines."""

from __future__ import annotations

from mlops.rehearsal.model import Call
from mlops.testing.mocks import RecordedResource

from .base import (
    ProgramView,
    ServiceCall,
    as_role,
    block,
    c,
    eni,
    grant_for_service,
    kms_via,
    pass_role,
    policy_principals,
    reads,
    register,
    strings,
    tag_context,
    tagged,
    value,
)
from .monitoring import log_group_arn

SAR = "Service Authorization Reference (parliament iam_definition.json)"
LAMBDA_VPC = (
    "Lambda developer guide 'Giving Lambda functions access to resources in an Amazon VPC': the "
    "user needs ec2:DescribeSecurityGroups/DescribeSubnets/DescribeVpcs; the execution role needs "
    "ec2:CreateNetworkInterface, DescribeNetworkInterfaces, DeleteNetworkInterface, "
    "AssignPrivateIpAddresses, UnassignPrivateIpAddresses (CreateFunction fails with 'The provided "
    "execution role does not have permissions to call CreateNetworkInterface on EC2')"
)
LAMBDA_KMS = (
    "Lambda developer guide 'Securing environment variables': with a customer managed key the user "
    "needs kms:CreateGrant and kms:Encrypt to configure it, kms:Decrypt to view the variables; "
    "Lambda makes these calls with the user's credentials, so they carry kms:ViaService "
    "lambda.<region>.amazonaws.com (AWS KMS developer guide 'kms:ViaService': Lambda is among "
    "the services that support it)"
)


def _function_arn(r: RecordedResource, v: ProgramView) -> str:
    return v.arn("lambda", f"function:{v.physical_name(r)}")


def _function_role(r: RecordedResource, v: ProgramView) -> str | None:
    role = value(r, "role")
    return v.role_arn(str(role)) if role else None


def _layers(r: RecordedResource) -> list[str]:
    return strings(r.inputs.get("layers"))


def _function_service(r: RecordedResource, v: ProgramView) -> list[ServiceCall]:
    role = _function_role(r, v)
    out: list[ServiceCall] = []
    vpc = block(r, "vpcConfig")
    if strings(vpc.get("subnetIds")):
        check = [
            c(
                a,
                eni(v, a),
                "Lambda checks the execution role may manage its ENIs at CreateFunction",
            )
            for a in (
                "ec2:CreateNetworkInterface",
                "ec2:DescribeNetworkInterfaces",
                "ec2:DeleteNetworkInterface",
            )
        ]
        later = [
            c(a, eni(v, a), "Hyperplane ENI management")
            for a in (
                "ec2:AssignPrivateIpAddresses",
                "ec2:UnassignPrivateIpAddresses",
                "ec2:DescribeSubnets",
            )
        ]
        out += as_role(role, check, "create") + as_role(role, later, "runtime")
    dlq = v.canonical(block(r, "deadLetterConfig").get("targetArn")) or None
    if dlq:
        action = "sqs:SendMessage" if ":sqs:" in dlq else "sns:Publish"
        why = (
            "Lambda checks the execution role may write to the dead-letter target at CreateFunction"
        )
        out += as_role(role, [c(action, dlq, why)], "create")
    group = block(r, "loggingConfig").get("logGroup") or f"/aws/lambda/{v.physical_name(r)}"
    group_arn = log_group_arn(v, str(group))
    logs = [
        c(a, f"{group_arn}:log-stream:*", "function logs")
        for a in ("logs:CreateLogStream", "logs:PutLogEvents")
    ]
    out += as_role(role, logs, "runtime")
    if block(r, "tracingConfig").get("mode") == "Active":
        xray = [
            c(a, "*", "active tracing")
            for a in ("xray:PutTraceSegments", "xray:PutTelemetryRecords")
        ]
        out += as_role(role, xray, "runtime")
    key = v.key_arn(str(value(r, "kmsKeyArn"))) if value(r, "kmsKeyArn") else None
    if key:
        ctx = {"kms:EncryptionContext:aws:lambda:FunctionArn": _function_arn(r, v)}
        out += as_role(
            role,
            [
                c(
                    "kms:Decrypt",
                    key,
                    "Lambda decrypts the environment at init (execution role)",
                    ctx,
                )
            ],
            "runtime",
        )
    return out


@register(
    "aws:lambda/function:Function",
    arn=_function_arn,
    service=_function_service,
    source=(
        LAMBDA_VPC,
        LAMBDA_KMS,
        "Lambda API reference CreateFunction (DeadLetterConfig: 'The provided execution role does "
        "not have permissions to call SendMessage on SQS')",
        "terraform-provider-aws internal/service/lambda/function.go (GetFunction, "
        "GetFunctionCodeSigningConfig, ListVersionsByFunction)",
        SAR,
    ),
    unverified=(
        "whether tags on CreateFunction need lambda:TagResource (modelled: yes)",
        "the encryption context Lambda uses when the function decrypts its environment",
    ),
)
def _function(r: RecordedResource, v: ProgramView) -> list[Call]:
    arn = _function_arn(r, v)
    vpc = block(r, "vpcConfig")
    subnets = strings(vpc.get("subnetIds"))
    ctx = {
        "lambda:Layer": _layers(r),
        "lambda:SubnetIds": subnets,
        "lambda:SecurityGroupIds": strings(vpc.get("securityGroupIds")),
        "lambda:VpcIds": strings(vpc.get("vpcId")),
        **tag_context(r),
    }
    calls = [c("lambda:CreateFunction", arn, "create the function", ctx)]
    calls += pass_role(_function_role(r, v), "lambda.amazonaws.com")
    calls += [
        c("lambda:GetLayerVersion", layer, "Lambda reads each layer version as the caller")
        for layer in _layers(r)
    ]
    if subnets:
        calls += [
            c(a, "*", "VPC config: Lambda describes it as the caller")
            for a in ("ec2:DescribeSecurityGroups", "ec2:DescribeSubnets", "ec2:DescribeVpcs")
        ]
    key = v.key_arn(str(value(r, "kmsKeyArn"))) if value(r, "kmsKeyArn") else None
    if key:
        calls += [
            *grant_for_service(
                key,
                "lambda",
                v,
                "customer managed key for the environment: Lambda creates a grant as the caller",
            ),
            *kms_via(
                key, ["kms:Encrypt"], "lambda", v, why="customer managed key for the environment"
            ),
        ]
    code = value(r, "s3Bucket")
    if code:
        calls.append(
            c(
                "s3:GetObject",
                f"arn:aws:s3:::{code}/{value(r, 's3Key')}",
                "code from S3, read as the caller",
            )
        )
    calls += tagged(r, "lambda:TagResource", arn)
    calls += reads(
        arn,
        "lambda:GetFunction",
        "lambda:GetFunctionCodeSigningConfig",
        "lambda:ListVersionsByFunction",
    )
    if key:
        calls += kms_via(
            key, ["kms:Decrypt"], "lambda", v, why="the provider reads the environment back"
        )
    return calls


@register(
    "aws:lambda/permission:Permission",
    principals=lambda r: [
        p for p in strings(r.inputs.get("principal")) if p.startswith("arn:") or p.isdigit()
    ],
    source=("terraform-provider-aws internal/service/lambda/permission.go", SAR),
)
def _permission(r: RecordedResource, v: ProgramView) -> list[Call]:
    fn = str(value(r, "function") or "")
    arn = fn if fn.startswith("arn:") else v.arn("lambda", f"function:{fn}")
    return [
        c("lambda:AddPermission", arn, "function resource policy"),
        *reads(arn, "lambda:GetPolicy"),
    ]


def _layer_arn(r: RecordedResource, v: ProgramView) -> str:
    st = r.state.get("arn")
    if isinstance(st, str) and ":layer:" in st and st.rsplit(":", 1)[-1].isdigit():
        return st
    return v.arn("lambda", f"layer:{value(r, 'layerName') or r.name}:1")


@register(
    "aws:lambda/layerVersion:LayerVersion",
    arn=_layer_arn,
    name_field="layerName",
    source=("terraform-provider-aws internal/service/lambda/layer_version.go", SAR),
)
def _layer(r: RecordedResource, v: ProgramView) -> list[Call]:
    version = _layer_arn(r, v)
    layer = version.rsplit(":", 1)[0]
    calls = [c("lambda:PublishLayerVersion", layer, "publish the layer version")]
    if value(r, "s3Bucket"):
        calls.append(
            c(
                "s3:GetObject",
                f"arn:aws:s3:::{value(r, 's3Bucket')}/{value(r, 's3Key')}",
                "layer zip from S3",
            )
        )
    return calls + reads(version, "lambda:GetLayerVersion")


@register(
    "aws:lambda/layerVersionPermission:LayerVersionPermission",
    principals=lambda r: [
        p for p in strings(r.inputs.get("principal")) if p.isdigit() or p.startswith("arn:")
    ],
    source=("terraform-provider-aws internal/service/lambda/layer_version_permission.go", SAR),
)
def _layer_permission(r: RecordedResource, v: ProgramView) -> list[Call]:
    layer = v.arn("lambda", f"layer:{value(r, 'layerName')}:{value(r, 'versionNumber')}")
    return [
        c("lambda:AddLayerVersionPermission", layer, "layer resource policy"),
        *reads(layer, "lambda:GetLayerVersionPolicy"),
    ]


# --- Step Functions -------------------------------------------------------------------------------
SFN_LOGS = (
    "Step Functions developer guide 'Logging using CloudWatch Logs' (IAM policy with "
    "logs:CreateLogDelivery, GetLogDelivery, UpdateLogDelivery, DeleteLogDelivery, "
    "ListLogDeliveries, PutResourcePolicy, DescribeResourcePolicies, DescribeLogGroups on *); "
    "CreateStateMachine fails with 'The state machine IAM Role is not authorized to access the Log "
    "Destination' when the state machine's role lacks them"
)
LOG_DELIVERY = (
    "logs:CreateLogDelivery",
    "logs:GetLogDelivery",
    "logs:UpdateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:DescribeResourcePolicies",
    "logs:DescribeLogGroups",
)


def _sm_arn(r: RecordedResource, v: ProgramView) -> str:
    return v.arn("states", f"stateMachine:{v.physical_name(r)}")


def _sm_service(r: RecordedResource, v: ProgramView) -> list[ServiceCall]:
    role = v.role_arn(str(value(r, "roleArn"))) if value(r, "roleArn") else None
    out: list[ServiceCall] = []
    logging = block(r, "loggingConfiguration")
    if logging.get("logDestination") and logging.get("level", "OFF") != "OFF":
        why = (
            "Step Functions sets up log delivery with the state machine's role at "
            "CreateStateMachine"
        )
        out += as_role(role, [c(a, "*", why) for a in LOG_DELIVERY], "create")
    enc = block(r, "encryptionConfiguration")
    if enc.get("type") == "CUSTOMER_MANAGED_KMS_KEY" and enc.get("kmsKeyId"):
        key = v.key_arn(str(enc["kmsKeyId"]))
        ctx = {"kms:EncryptionContext:aws:states:stateMachineArn": _sm_arn(r, v)}
        why = "customer managed key: the state machine's role encrypts definition and executions"
        out += as_role(
            role,
            [c(a, str(key), why, ctx) for a in ("kms:GenerateDataKey", "kms:Decrypt")],
            "create",
        )
        if logging.get("logDestination"):
            why = "encrypted state machine with logging: log delivery decrypts the payloads"
            out.append(
                ServiceCall(
                    "service:delivery.logs.amazonaws.com",
                    c("kms:Decrypt", str(key), why),
                    "runtime",
                )
            )
    return out


@register(
    "aws:sfn/stateMachine:StateMachine",
    arn=_sm_arn,
    service=_sm_service,
    source=(
        SFN_LOGS,
        "Step Functions developer guide 'Data at rest encryption' (customer managed key: "
        "kms:GenerateDataKey/Decrypt with kms:EncryptionContext:aws:states:stateMachineArn)",
        "terraform-provider-aws internal/service/sfn/state_machine.go",
        SAR,
    ),
    unverified=(
        "that CreateStateMachine validates the customer managed key with the state machine's role "
        "(rather than the caller's credentials)",
        "the delivery.logs.amazonaws.com kms:Decrypt need for logging an encrypted state machine",
    ),
)
def _state_machine(r: RecordedResource, v: ProgramView) -> list[Call]:
    arn = _sm_arn(r, v)
    role = v.role_arn(str(value(r, "roleArn"))) if value(r, "roleArn") else None
    calls = [c("states:CreateStateMachine", arn, "create the state machine", tag_context(r))]
    calls += pass_role(role, "states.amazonaws.com")
    if value(r, "publish"):
        calls.append(c("states:PublishStateMachineVersion", arn, "publish a version"))
    calls += tagged(r, "states:TagResource", arn)
    return calls + reads(arn, "states:DescribeStateMachine", "states:ListTagsForResource")


@register(
    "aws:sfn/activity:Activity",
    arn=lambda r, v: v.arn("states", f"activity:{v.physical_name(r)}"),
    source=("terraform-provider-aws internal/service/sfn/activity.go", SAR),
)
def _activity(r: RecordedResource, v: ProgramView) -> list[Call]:
    arn = v.arn("states", f"activity:{v.physical_name(r)}")
    return [
        c("states:CreateActivity", arn, "create the activity", tag_context(r)),
        *reads(arn, "states:DescribeActivity"),
    ]


__all__ = ["policy_principals"]
