"""Data plumbing and configuration: Firehose, Secrets Manager, SSM parameters; Snowflake objects
and Pulumi's own resources (no AWS calls of their own)."""

from __future__ import annotations

from mlops.rehearsal.model import Call
from mlops.testing.mocks import RecordedResource

from .base import (
    CALLER,
    ProgramView,
    ServiceCall,
    as_json,
    as_role,
    assume,
    block,
    c,
    grant_for_service,
    kms_via,
    pass_role,
    policy_principals,
    reads,
    register,
    stable_suffix,
    tag_context,
    tagged,
    value,
)
from .monitoring import log_group_arn
from .storage import s3_encryption_context

SAR = "Service Authorization Reference (parliament iam_definition.json)"


# --- Firehose -------------------------------------------------------------------------------------
def _stream_arn(r: RecordedResource, v: ProgramView) -> str:
    return v.arn("firehose", f"deliverystream/{v.physical_name(r)}")


def _s3_config(r: RecordedResource) -> dict:
    return block(r, "extendedS3Configuration") or block(r, "s3Configuration")


def _processors(cfg: dict) -> list[dict]:
    proc = cfg.get("processingConfiguration") or {}
    return [p for p in proc.get("processors", []) if isinstance(p, dict)]


def _lambda_of(cfg: dict) -> str | None:
    for p in _processors(cfg):
        if p.get("type") == "Lambda":
            for param in p.get("parameters", []):
                if param.get("parameterName") == "LambdaArn":
                    return str(param["parameterValue"])
    return None


def _stream_service(r: RecordedResource, v: ProgramView) -> list[ServiceCall]:
    cfg = _s3_config(r)
    role = v.role_arn(str(cfg.get("roleArn"))) if cfg.get("roleArn") else None
    out = assume(
        "firehose.amazonaws.com", role, "CreateDeliveryStream checks Firehose can assume the role"
    )
    fn = _lambda_of(cfg)
    fn = v.canonical(fn) if fn else None
    if fn:
        out += as_role(
            role,
            [
                c(
                    "lambda:GetFunctionConfiguration",
                    fn.removesuffix(":$LATEST"),
                    "CreateDeliveryStream checks the transform function",
                )
            ],
        )
        out += as_role(
            role,
            [c("lambda:InvokeFunction", fn.removesuffix(":$LATEST"), "record transformation")],
            "runtime",
        )
    bucket = str(cfg.get("bucketArn") or "")
    if bucket:
        objs = f"{bucket}/*"
        writes = [c(a, objs, "delivery") for a in ("s3:PutObject", "s3:AbortMultipartUpload")]
        writes += [
            c(a, bucket, "delivery")
            for a in ("s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketMultipartUploads")
        ]
        out += as_role(role, writes, "runtime")
        key = v.key_arn(str(cfg.get("kmsKeyArn"))) if cfg.get("kmsKeyArn") else None
        ctx = s3_encryption_context(bucket, objs, False)
        out += as_role(
            role,
            kms_via(key, ["kms:GenerateDataKey", "kms:Decrypt"], "s3", v, ctx, "SSE-KMS delivery"),
            "runtime",
        )
    logging = cfg.get("cloudwatchLoggingOptions") or {}
    if logging.get("enabled") and logging.get("logGroupName"):
        group = log_group_arn(v, str(logging["logGroupName"]))
        out += as_role(
            role,
            [c("logs:PutLogEvents", f"{group}:log-stream:*", "delivery error logging")],
            "runtime",
        )
    return out


def _sse_key(r: RecordedResource, v: ProgramView) -> str | None:
    sse = block(r, "serverSideEncryption")
    if sse.get("enabled") and sse.get("keyType") == "CUSTOMER_MANAGED_CMK" and sse.get("keyArn"):
        return v.key_arn(str(sse["keyArn"]))
    return None


@register(
    "aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream",
    arn=_stream_arn,
    service=lambda r, v: (
        _stream_service(r, v)
        + [
            ServiceCall(CALLER, x, "create")
            for x in grant_for_service(
                _sse_key(r, v),
                "firehose",
                v,
                "SSE with a customer managed key: Firehose creates a grant as the caller",
            )
        ]
    ),
    source=(
        "Firehose developer guide 'Grant Firehose access to an Amazon S3 destination' (role: "
        "s3:PutObject, GetBucketLocation, ListBucket, ...; kms:GenerateDataKey/Decrypt with "
        "kms:ViaService s3; lambda:InvokeFunction, GetFunctionConfiguration)",
        "Firehose developer guide 'Data protection': SSE with CUSTOMER_MANAGED_CMK needs the "
        "caller's kms:CreateGrant",
        "terraform-provider-aws internal/service/firehose/delivery_stream.go (retries on 'Firehose "
        "is unable to assume role' and 'not authorized to perform: "
        "lambda:GetFunctionConfiguration')",
        SAR,
    ),
)
def _stream(r: RecordedResource, v: ProgramView) -> list[Call]:
    arn = _stream_arn(r, v)
    cfg = _s3_config(r)
    role = v.role_arn(str(cfg.get("roleArn"))) if cfg.get("roleArn") else None
    calls = [c("firehose:CreateDeliveryStream", arn, "create the stream", tag_context(r))]
    calls += pass_role(role, "firehose.amazonaws.com")
    calls += tagged(r, "firehose:TagDeliveryStream", arn)
    if _sse_key(r, v):
        calls.append(c("firehose:StartDeliveryStreamEncryption", arn, "server-side encryption"))
    return calls + reads(
        arn, "firehose:DescribeDeliveryStream", "firehose:ListTagsForDeliveryStream"
    )


# --- Secrets Manager ------------------------------------------------------------------------------
SM_KMS = (
    "Secrets Manager user guide 'Secret encryption and decryption': a customer managed key is used "
    "with the caller's credentials via secretsmanager.<region>.amazonaws.com, encryption context "
    "SecretARN and SecretVersionId (kms:GenerateDataKey on PutSecretValue, kms:Decrypt on "
    "GetSecretValue)"
)


def secret_arn(v: ProgramView, name: str, state_arn: object = None) -> str:
    if (
        isinstance(state_arn, str)
        and state_arn.startswith("arn:aws:secretsmanager:")
        and state_arn.rsplit("-", 1)[-1].isalnum()
        and len(state_arn.rsplit("-", 1)[-1]) == 6
    ):
        return state_arn
    return v.arn("secretsmanager", f"secret:{name}-{stable_suffix(name)}")


def _secret_arn(r: RecordedResource, v: ProgramView) -> str:
    return secret_arn(v, v.physical_name(r), r.state.get("arn"))


@register(
    "aws:secretsmanager/secret:Secret",
    arn=_secret_arn,
    principals=lambda r: policy_principals(r.inputs.get("policy")),
    source=(SM_KMS, "terraform-provider-aws internal/service/secretsmanager/secret.go", SAR),
)
def _secret(r: RecordedResource, v: ProgramView) -> list[Call]:
    arn = _secret_arn(r, v)
    key = v.key_arn(str(value(r, "kmsKeyId"))) if value(r, "kmsKeyId") else None
    ctx = {
        "secretsmanager:Name": v.physical_name(r),
        "secretsmanager:KmsKeyId": key,
        **tag_context(r),
    }
    calls = [c("secretsmanager:CreateSecret", arn, "create the secret (no value)", ctx)]
    calls += tagged(r, "secretsmanager:TagResource", arn)
    if r.inputs.get("policy"):
        calls.append(c("secretsmanager:PutResourcePolicy", arn, "secret policy"))
    return calls + reads(arn, "secretsmanager:DescribeSecret", "secretsmanager:GetResourcePolicy")


def _version_secret(r: RecordedResource, v: ProgramView) -> tuple[str, RecordedResource | None]:
    ref = str(value(r, "secretId") or "")
    if ref.startswith("arn:"):
        return ref, v.resource_for_arn(ref)
    sec = v.find("aws:secretsmanager/secret:Secret", name=ref)
    return (_secret_arn(sec, v) if sec is not None else secret_arn(v, ref)), sec


def _version_service(r: RecordedResource, v: ProgramView) -> list[ServiceCall]:
    arn, sec = _version_secret(r, v)
    key = (
        v.key_arn(str(value(sec, "kmsKeyId")))
        if sec is not None and value(sec, "kmsKeyId")
        else None
    )
    ctx = {"kms:EncryptionContext:SecretARN": arn}
    calls = kms_via(
        key,
        ["kms:GenerateDataKey"],
        "secretsmanager",
        v,
        ctx,
        "PutSecretValue encrypts with the caller's credentials",
    )
    calls += kms_via(
        key,
        ["kms:Decrypt"],
        "secretsmanager",
        v,
        ctx,
        "the provider reads the value back (GetSecretValue)",
    )
    return [ServiceCall(CALLER, x, "create") for x in calls]


@register(
    "aws:secretsmanager/secretVersion:SecretVersion",
    service=_version_service,
    source=(
        SM_KMS,
        "terraform-provider-aws internal/service/secretsmanager/secret_version.go",
        SAR,
    ),
)
def _secret_version(r: RecordedResource, v: ProgramView) -> list[Call]:
    arn, _ = _version_secret(r, v)
    return [
        c("secretsmanager:PutSecretValue", arn, "store the value"),
        *reads(arn, "secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"),
    ]


@register(
    "aws:secretsmanager/secretPolicy:SecretPolicy",
    principals=lambda r: policy_principals(r.inputs.get("policy")),
    source=("terraform-provider-aws internal/service/secretsmanager/secret_policy.go", SAR),
)
def _secret_policy(r: RecordedResource, v: ProgramView) -> list[Call]:
    ref = str(value(r, "secretArn") or "")
    ctx = {"secretsmanager:BlockPublicPolicy": bool(value(r, "blockPublicPolicy", False))}
    return [
        c("secretsmanager:PutResourcePolicy", ref, "secret policy", ctx),
        *reads(ref, "secretsmanager:GetResourcePolicy"),
    ]


# --- SSM Parameter Store --------------------------------------------------------------------------
def _param_arn(r: RecordedResource, v: ProgramView) -> str:
    return v.arn("ssm", f"parameter/{v.physical_name(r).lstrip('/')}")


def _param_service(r: RecordedResource, v: ProgramView) -> list[ServiceCall]:
    if value(r, "type") != "SecureString":
        return []
    key = v.key_arn(str(value(r, "keyId") or "alias/aws/ssm"))
    ctx = {"kms:EncryptionContext:PARAMETER_ARN": _param_arn(r, v)}
    op = "kms:GenerateDataKey" if value(r, "tier") == "Advanced" else "kms:Encrypt"
    calls = kms_via(
        key, [op], "ssm", v, ctx, "SecureString: SSM encrypts with the caller's credentials"
    )
    calls += kms_via(
        key, ["kms:Decrypt"], "ssm", v, ctx, "the provider reads the value back (WithDecryption)"
    )
    return [ServiceCall(CALLER, x, "create") for x in calls]


@register(
    "aws:ssm/parameter:Parameter",
    arn=_param_arn,
    service=_param_service,
    source=(
        "Systems Manager user guide 'How AWS Systems Manager Parameter Store uses AWS KMS' "
        "(Standard tier: kms:Encrypt/Decrypt; Advanced: envelope with GenerateDataKey; encryption "
        "context PARAMETER_ARN; via ssm.<region>.amazonaws.com)",
        "terraform-provider-aws internal/service/ssm/parameter.go",
        SAR,
    ),
)
def _parameter(r: RecordedResource, v: ProgramView) -> list[Call]:
    arn = _param_arn(r, v)
    calls = [c("ssm:PutParameter", arn, "create the parameter", tag_context(r))]
    calls += tagged(r, "ssm:AddTagsToResource", arn)
    return (
        calls
        + reads(arn, "ssm:GetParameter", "ssm:ListTagsForResource")
        + reads("*", "ssm:DescribeParameters")
    )


# --- RAM (sharing parameters and other resources across accounts) ---------------------------------
@register(
    "aws:ram/resourceShare:ResourceShare",
    source=("terraform-provider-aws internal/service/ram/resource_share.go", SAR),
)
def _share(r: RecordedResource, v: ProgramView) -> list[Call]:
    arn = v.arn("ram", "resource-share/*")
    return [
        c("ram:CreateResourceShare", arn, "create the share", tag_context(r)),
        *tagged(r, "ram:TagResource", arn),
        *reads("*", "ram:GetResourceShares"),
    ]


@register(
    "aws:ram/resourceAssociation:ResourceAssociation",
    source=("terraform-provider-aws internal/service/ram/resource_association.go", SAR),
)
def _share_resource(r: RecordedResource, v: ProgramView) -> list[Call]:
    share = str(value(r, "resourceShareArn") or v.arn("ram", "resource-share/*"))
    ctx = {"ram:ResourceArn": value(r, "resourceArn")}
    return [
        c("ram:AssociateResourceShare", share, "share the resource", ctx),
        *reads("*", "ram:GetResourceShareAssociations"),
    ]


@register(
    "aws:ram/principalAssociation:PrincipalAssociation",
    source=("terraform-provider-aws internal/service/ram/principal_association.go", SAR),
)
def _share_principal(r: RecordedResource, v: ProgramView) -> list[Call]:
    share = str(value(r, "resourceShareArn") or v.arn("ram", "resource-share/*"))
    ctx = {"ram:Principal": value(r, "principal")}
    return [
        c("ram:AssociateResourceShare", share, "share with a principal", ctx),
        *reads("*", "ram:GetResourceShareAssociations"),
    ]


# --- no AWS calls of their own --------------------------------------------------------------------
SNOWFLAKE = (
    "the Snowflake provider calls Snowflake, not AWS: Snowflake's own IAM user assumes the storage "
    "integration's role (external id) when a stage or pipe reads the bucket, at run time",
)
for _typ in (
    "snowflake:index/storageIntegrationAws:StorageIntegrationAws",
    "snowflake:index/storageIntegration:StorageIntegration",
    "snowflake:index/schema:Schema",
    "snowflake:index/fileFormat:FileFormat",
    "snowflake:index/stageExternalS3:StageExternalS3",
    "snowflake:index/stage:Stage",
    "snowflake:index/table:Table",
    "snowflake:index/pipe:Pipe",
    "snowflake:index/view:View",
    "snowflake:index/database:Database",
):
    register(_typ, source=SNOWFLAKE)(lambda r, v: [])

register(
    "pulumi:providers:aws",
    source=(
        "the provider's credential check (sts:GetCallerIdentity) needs no IAM permission and "
        "cannot be denied by a policy",
    ),
)(lambda r, v: [])
register(
    "pulumi:providers:snowflake",
    source=("calls Snowflake only",),
)(lambda r, v: [])
register(
    "pulumi:pulumi:StackReference",
    source=(
        "resolved by the engine from the state backend (s3:GetObject and kms:Decrypt on the "
        "backend), checked by the rehearsal's StackReference resolution, not here",
    ),
)(lambda r, v: [])

__all__ = ["as_json", "secret_arn"]
