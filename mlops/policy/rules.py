"""Per-resource CrossGuard rules. Each check gets the resource's inputs (camelCase) and its config.

Every rule is registered in ``mlops.policy.base.REGISTRY`` with its level, severity and fix; the
pack (``policy/__main__.py``) and ``mlops check`` both run exactly these functions.
IAM rules live in ``mlops.policy.iam_rules``, stack-wide rules in ``mlops.policy.stack_rules``.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping
from functools import cache
from typing import Any

from pulumi_policy import Severity

from mlops.naming import is_shared_bucket
from mlops.policy.base import ADVISORY, Option, resource_rule
from mlops.policy.documents import (
    as_list,
    get,
    load_json,
    pipeline_findings,
    plain,
)
from mlops.tags import REQUIRED_TAGS

# --- type tokens (pulumi-aws 7; the deprecated *V2 tokens too) -----------------------------------
S3_BUCKET = ("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2")
S3_SSE = (
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
)
S3_VERSIONING = (
    "aws:s3/bucketVersioning:BucketVersioning",
    "aws:s3/bucketVersioningV2:BucketVersioningV2",
)
S3_PUBLIC_ACCESS_BLOCK = ("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",)
KMS_KEY = "aws:kms/key:Key"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
SFN_STATE_MACHINE = "aws:sfn/stateMachine:StateMachine"
LAMBDA_FUNCTION = "aws:lambda/function:Function"

# --- S3 ------------------------------------------------------------------------------------------


@resource_rule(
    "s3-sse-kms-bucket-key",
    description="S3 default encryption is SSE-KMS with a customer-managed key and a bucket key, "
    "except the shared multi-tenant buckets (mlops-<env>-{model,pipeline}-artifacts-<account>-"
    "<region>), which must have none (per-object KMS encryption context).",
    types=S3_SSE,
    fix="rules=[{apply_server_side_encryption_by_default: {sse_algorithm: 'aws:kms', "
    "kms_master_key_id: <key arn>}, bucket_key_enabled: True}]",
    severity=Severity.CRITICAL,
)
def s3_sse_kms(props: dict[str, Any], cfg: Mapping[str, Any]) -> Iterator[str]:
    rules = as_list(props.get("rules"))
    bucket = props.get("bucket")
    shared = isinstance(bucket, str) and is_shared_bucket(bucket)
    if not rules:
        yield "no encryption rule"
    for rule in rules:
        algorithm = get(rule, "applyServerSideEncryptionByDefault", "sseAlgorithm")
        if algorithm not in ("aws:kms", "aws:kms:dsse"):
            yield f"sseAlgorithm is {algorithm!r}, not 'aws:kms'"
        if not get(rule, "applyServerSideEncryptionByDefault", "kmsMasterKeyId"):
            yield "no kmsMasterKeyId (would fall back to the AWS-managed aws/s3 key)"
        if algorithm != "aws:kms":
            continue
        if shared and get(rule, "bucketKeyEnabled") is True:
            yield (
                f"bucketKeyEnabled is true on the shared bucket {bucket!r}: the KMS context would "
                "be the bucket ARN, so key grants could not be scoped to a use case's prefix"
            )
        elif not shared and get(rule, "bucketKeyEnabled") is not True:
            yield "bucketKeyEnabled is not true (only the shared multi-tenant buckets turn it off)"


@resource_rule(
    "s3-versioning-enabled",
    description="S3 bucket versioning is enabled.",
    types=S3_VERSIONING,
    fix="versioning_configuration={status: 'Enabled'}",
)
def s3_versioning(props: dict[str, Any], cfg: Mapping[str, Any]) -> Iterator[str]:
    status = get(props, "versioningConfiguration", "status")
    if status != "Enabled":
        yield f"versioning status is {status!r}, not 'Enabled'"


PUBLIC_ACCESS_FLAGS = (
    "blockPublicAcls",
    "blockPublicPolicy",
    "ignorePublicAcls",
    "restrictPublicBuckets",
)


@resource_rule(
    "s3-public-access-block-full",
    description="S3 public-access blocks set all four flags.",
    types=S3_PUBLIC_ACCESS_BLOCK,
    fix="block_public_acls=block_public_policy=ignore_public_acls=restrict_public_buckets=True",
    severity=Severity.CRITICAL,
)
def s3_public_access_block(props: dict[str, Any], cfg: Mapping[str, Any]) -> Iterator[str]:
    missing = [flag for flag in PUBLIC_ACCESS_FLAGS if props.get(flag) is not True]
    if missing:
        yield f"not true: {', '.join(missing)}"


# --- KMS -----------------------------------------------------------------------------------------


@resource_rule(
    "kms-key-rotation",
    description="Symmetric KMS keys rotate automatically.",
    types=(KMS_KEY,),
    fix="enable_key_rotation=True",
)
def kms_rotation(props: dict[str, Any], cfg: Mapping[str, Any]) -> Iterator[str]:
    spec = props.get("customerMasterKeySpec") or "SYMMETRIC_DEFAULT"
    usage = props.get("keyUsage") or "ENCRYPT_DECRYPT"
    if (
        spec == "SYMMETRIC_DEFAULT"
        and usage == "ENCRYPT_DECRYPT"
        and not props.get("enableKeyRotation")
    ):
        yield "enableKeyRotation is not true"


# --- SageMaker -----------------------------------------------------------------------------------


@resource_rule(
    "sagemaker-domain-vpc-only-kms",
    description="SageMaker domains are VpcOnly and encrypt their EFS volume with a KMS key.",
    types=("aws:sagemaker/domain:Domain",),
    fix="app_network_access_type='VpcOnly', kms_key_id=<key arn>",
    severity=Severity.CRITICAL,
)
def sagemaker_domain(props: dict[str, Any], cfg: Mapping[str, Any]) -> Iterator[str]:
    if props.get("appNetworkAccessType") != "VpcOnly":
        yield f"appNetworkAccessType is {props.get('appNetworkAccessType')!r}, not 'VpcOnly'"
    if not props.get("kmsKeyId"):
        yield "no kmsKeyId"


@resource_rule(
    "sagemaker-endpoint-config-encrypted",
    description="SageMaker endpoint configs encrypt storage, data capture and async output (KMS).",
    types=("aws:sagemaker/endpointConfiguration:EndpointConfiguration",),
    fix="kms_key_arn=<key arn>; data_capture_config.kms_key_id and "
    "async_inference_config.output_config.kms_key_id when those are used",
)
def sagemaker_endpoint_config(props: dict[str, Any], cfg: Mapping[str, Any]) -> Iterator[str]:
    if not props.get("kmsKeyArn"):
        yield "no kmsKeyArn"
    if props.get("dataCaptureConfig") and not get(props, "dataCaptureConfig", "kmsKeyId"):
        yield "dataCaptureConfig has no kmsKeyId"
    if props.get("asyncInferenceConfig") and not get(
        props, "asyncInferenceConfig", "outputConfig", "kmsKeyId"
    ):
        yield "asyncInferenceConfig.outputConfig has no kmsKeyId"


@resource_rule(
    "sagemaker-notebook-locked-down",
    description="SageMaker notebook instances are KMS-encrypted, in a subnet, without direct "
    "internet access and without root access.",
    types=("aws:sagemaker/notebookInstance:NotebookInstance",),
    fix="kms_key_id=<key arn>, subnet_id=<private subnet>, direct_internet_access='Disabled', "
    "root_access='Disabled' (or use Studio instead of notebook instances)",
    severity=Severity.CRITICAL,
)
def sagemaker_notebook(props: dict[str, Any], cfg: Mapping[str, Any]) -> Iterator[str]:
    if not props.get("kmsKeyId"):
        yield "no kmsKeyId"
    if not props.get("subnetId"):
        yield "no subnetId (the instance would sit outside the VPC)"
    if props.get("directInternetAccess") != "Disabled":
        yield "directInternetAccess is not 'Disabled' (the default is Enabled)"
    if props.get("rootAccess") != "Disabled":
        yield "rootAccess is not 'Disabled' (the default is Enabled)"


@resource_rule(
    "sagemaker-pipeline-vpc-encryption",
    description="Training, tuning and processing steps of SageMaker pipelines run in the VPC with "
    "inter-container traffic encryption.",
    types=("aws:sagemaker/pipeline:Pipeline",),
    fix="give every job VpcConfig (Subnets, SecurityGroupIds) and "
    "EnableInterContainerTrafficEncryption=True (ProcessingStep: NetworkConfig); pass the "
    "definition inline as pipeline_definition so it can be checked",
)
def sagemaker_pipeline(props: dict[str, Any], cfg: Mapping[str, Any]) -> Iterator[str]:
    definition = props.get("pipelineDefinition")
    if definition is None:
        yield "no inline pipelineDefinition (an S3 location cannot be checked before deployment)"
        return
    if load_json(definition) is None:
        yield "pipelineDefinition is not valid JSON"
        return
    yield from pipeline_findings(definition)


# --- CloudWatch Logs, CloudTrail -----------------------------------------------------------------


@resource_rule(
    "log-group-kms",
    description="CloudWatch log groups are encrypted with a KMS key.",
    types=(LOG_GROUP,),
    fix="kms_key_id=<key arn> (the key policy must allow logs.<region>.amazonaws.com)",
)
def log_group_kms(props: dict[str, Any], cfg: Mapping[str, Any]) -> Iterator[str]:
    if not props.get("kmsKeyId"):
        yield "no kmsKeyId"


@resource_rule(
    "log-group-retention",
    description="CloudWatch log groups expire their logs, after at least the configured minimum "
    "number of days (a group with no retention keeps logs, and personal data, forever).",
    types=(LOG_GROUP,),
    fix="retention_in_days=<at least minimumRetentionDays, a CloudWatch value such as 30, 90, 365>",
    severity=Severity.MEDIUM,
    options={
        "minimumRetentionDays": Option(
            30, {"type": "integer", "minimum": 1}, "smallest allowed retentionInDays"
        )
    },
)
def log_group_retention(props: dict[str, Any], cfg: Mapping[str, Any]) -> Iterator[str]:
    days = int(props.get("retentionInDays") or 0)  # numbers arrive as floats; 0 = never expire
    minimum = int(cfg["minimumRetentionDays"])
    if not days:
        yield "no retentionInDays: the log group never expires its logs"
    elif days < minimum:
        yield f"retentionInDays is {days}, below the minimum of {minimum}"


@resource_rule(
    "cloudtrail-multi-region-validated",
    description="CloudTrail trails are multi-region, validate log files and encrypt with KMS.",
    types=("aws:cloudtrail/trail:Trail",),
    fix="is_multi_region_trail=True, enable_log_file_validation=True, kms_key_id=<key arn>",
)
def cloudtrail(props: dict[str, Any], cfg: Mapping[str, Any]) -> Iterator[str]:
    if props.get("isMultiRegionTrail") is not True:
        yield "isMultiRegionTrail is not true"
    if props.get("enableLogFileValidation") is not True:
        yield "enableLogFileValidation is not true"
    if not props.get("kmsKeyId"):
        yield "no kmsKeyId"


# --- API Gateway ---------------------------------------------------------------------------------


@resource_rule(
    "apigateway-method-authorized",
    description="API Gateway methods and routes require IAM auth or a configured authorizer.",
    types=("aws:apigateway/method:Method", "aws:apigatewayv2/route:Route"),
    fix="authorization='AWS_IAM' (or 'CUSTOM'/'COGNITO_USER_POOLS' with authorizer_id; HTTP APIs: "
    "authorization_type='AWS_IAM' or 'JWT'/'CUSTOM' with authorizer_id)",
    severity=Severity.CRITICAL,
    pass_args=True,
)
def apigateway_method(props: dict[str, Any], cfg: Mapping[str, Any], args: Any) -> Iterator[str]:
    v1 = args.resource_type == "aws:apigateway/method:Method"
    key = "authorization" if v1 else "authorizationType"
    auth = (props.get(key) or "NONE").upper()
    if auth == "AWS_IAM":
        return
    if auth in ("CUSTOM", "COGNITO_USER_POOLS", "JWT"):
        if not props.get("authorizerId"):
            yield f"{key} is {auth} but no authorizerId is configured"
        return
    yield f"{key} is {auth!r}: the method is callable without authentication"


@resource_rule(
    "apigateway-stage-access-logs",
    description="API Gateway stages write access logs.",
    types=("aws:apigateway/stage:Stage", "aws:apigatewayv2/stage:Stage"),
    fix="access_log_settings={destination_arn: <encrypted log group arn>, format: <JSON format>}",
    severity=Severity.MEDIUM,
)
def apigateway_stage(props: dict[str, Any], cfg: Mapping[str, Any]) -> Iterator[str]:
    if not get(props, "accessLogSettings", "destinationArn"):
        yield "no accessLogSettings.destinationArn"
    elif not get(props, "accessLogSettings", "format"):
        yield "accessLogSettings has no format"


# --- Step Functions ------------------------------------------------------------------------------


@resource_rule(
    "sfn-logs-execution-data",
    description="Step Functions state machines log execution data to CloudWatch Logs.",
    types=(SFN_STATE_MACHINE,),
    fix="logging_configuration={log_destination: f'{log_group.arn}:*', include_execution_data: "
    "True, level: 'ALL' (or 'ERROR')}",
)
def sfn_logging(props: dict[str, Any], cfg: Mapping[str, Any]) -> Iterator[str]:
    logging = props.get("loggingConfiguration") or {}
    if (logging.get("level") or "OFF") == "OFF":
        yield "logging level is OFF"
    if logging.get("includeExecutionData") is not True:
        yield "includeExecutionData is not true"
    if not logging.get("logDestination"):
        yield "no logDestination"


# --- Tags ----------------------------------------------------------------------------------------


@cache
def _supports_default_tags(resource_type: str) -> bool | None:
    """Whether the pulumi-aws class for the type has tags_all; None when the class is unknown."""
    pkg, _, rest = resource_type.partition(":")
    module, _, class_name = rest.partition(":")
    if pkg != "aws" or not class_name:
        return False
    module = module.split("/")[0]
    candidates = (
        ["pulumi_aws"] if module == "index" else [f"pulumi_aws.{module}", f"pulumi_aws.{module}_"]
    )
    for candidate in candidates:
        try:
            cls = getattr(importlib.import_module(candidate), class_name, None)
        except ImportError:
            continue
        if cls is not None:
            return hasattr(cls, "tags_all")
    return None


def taggable(resource_type: str, props: Mapping[str, Any]) -> bool:
    known = _supports_default_tags(resource_type)
    return ("tags" in props) if known is None else known


@resource_rule(
    "required-tags",
    description="Every taggable AWS resource carries the required tags with non-empty values.",
    applies_to=taggable,
    fix="merge the stack's base tags (mlops.tags.base_tags) into the resource's tags; provider "
    "default tags are not enough offline",
    severity=Severity.MEDIUM,
    options={
        "requiredTags": Option(
            list(REQUIRED_TAGS),
            {"type": "array", "items": {"type": "string"}},
            "tag keys every taggable resource must carry",
        )
    },
    pass_args=True,
)
def required_tags(props: dict[str, Any], cfg: Mapping[str, Any], args: Any) -> Iterator[str]:
    # In a real deployment the provider's default tags apply too; offline there is no provider.
    provider = plain(args.provider.props) if args.provider is not None else {}
    raw = provider.get("defaultTags")
    if isinstance(raw, str):  # provider inputs arrive JSON-encoded
        raw = load_json(raw)
    defaults = get(raw or {}, "tags") or {}
    tags = {**defaults, **(props.get("tagsAll") or {}), **(props.get("tags") or {})}
    missing = [key for key in cfg["requiredTags"] if not str(tags.get(key) or "").strip()]
    if missing:
        yield f"missing tags: {', '.join(missing)}"


# --- Roles a use case's deployer creates --------------------------------------------------------
def _project_of(urn: str) -> str:
    """`urn:pulumi:<stack>::<project>::<type>::<name>` -> project."""
    parts = urn.split("::")
    return parts[1] if len(parts) > 2 else ""


@resource_rule(
    "iam-role-permissions-boundary",
    description="Every IAM role a use case's deployer creates (any program but the platform's "
    "and the bootstrap's) carries the use case's permissions boundary.",
    types=("aws:iam/role:Role",),
    fix="set permissions_boundary=mlops.naming.boundary_policy_arn(ctx, usecase) (the platform's "
    "components do); the deployer may only create roles with that boundary",
    severity=Severity.CRITICAL,
    options={
        "platformProjects": Option(
            ["mlops-platform", "mlops-bootstrap"],
            {"type": "array", "items": {"type": "string"}},
            "projects deployed by the landing zone's deployer, whose roles need no boundary",
        ),
        "boundaryPattern": Option(
            "arn:aws:iam::*:policy/mlops-*-boundary",
            {"type": "string"},
            "glob every boundary ARN must match (the use cases' boundary policies)",
        ),
    },
    pass_args=True,
)
def iam_role_boundary(props: dict[str, Any], cfg: Mapping[str, Any], args: Any) -> Iterator[str]:
    import fnmatch

    if _project_of(str(args.urn)) in cfg["platformProjects"]:
        return
    boundary = props.get("permissionsBoundary")
    if not boundary:
        yield "no permissionsBoundary: a deployer-created role could exceed the deployer itself"
    elif not fnmatch.fnmatchcase(str(boundary), cfg["boundaryPattern"]):
        yield f"permissionsBoundary {boundary!r} is not a use case's boundary policy"


# --- Advisory ------------------------------------------------------------------------------------
# Advisory on purpose: these are good practice with legitimate exceptions, so they inform the PR
# without blocking it.


@resource_rule(
    "sagemaker-endpoint-data-capture",
    description="Instance-backed SageMaker endpoints capture request/response data for Model "
    "Monitor (advisory: serverless endpoints cannot capture, and capture has a cost).",
    types=("aws:sagemaker/endpointConfiguration:EndpointConfiguration",),
    fix="data_capture_config={enable_capture: True, initial_sampling_percentage: <n>, "
    "destination_s3_uri: <capture bucket>, kms_key_id: <key arn>, capture_options: [...]}",
    level=ADVISORY,
    severity=Severity.LOW,
)
def sagemaker_data_capture(props: dict[str, Any], cfg: Mapping[str, Any]) -> Iterator[str]:
    variants = as_list(props.get("productionVariants"))
    instance_backed = [v for v in variants if isinstance(v, dict) and not v.get("serverlessConfig")]
    capture = props.get("dataCaptureConfig") or {}
    if instance_backed and (not capture or capture.get("enableCapture") is False):
        yield "no data capture on an instance-backed endpoint (Model Monitor has nothing to read)"


@resource_rule(
    "kms-key-deletion-window",
    description="KMS keys keep a deletion waiting period of at least the configured days "
    "(advisory: short windows are reasonable for throw-away dev keys).",
    types=(KMS_KEY,),
    fix="deletion_window_in_days=30",
    level=ADVISORY,
    severity=Severity.LOW,
    options={
        "minimumDays": Option(
            30, {"type": "integer", "minimum": 7, "maximum": 30}, "smallest deletion window"
        )
    },
)
def kms_deletion_window(props: dict[str, Any], cfg: Mapping[str, Any]) -> Iterator[str]:
    days = int(props.get("deletionWindowInDays") or 30)  # AWS default: 30
    if days < int(cfg["minimumDays"]):
        yield f"deletionWindowInDays is {days}, below {int(cfg['minimumDays'])}"
