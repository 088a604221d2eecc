"""Real pulumi-aws resources, compliant and violating, one pair per rule.

Each builder registers resources (run it inside `run(...)`); the resource the rule should flag is
always named "subject".
"""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pulumi_aws as aws

KEY_ARN = "arn:aws:kms:eu-west-2:111111111111:key/1234abcd-0000-0000-0000-000000000000"
ROLE_ARN = "arn:aws:iam::111111111111:role/mlops-dev-worker"
SUBNETS = ["subnet-0a1b2c3d4e5f00001", "subnet-0a1b2c3d4e5f00002"]
SGS = ["sg-0a1b2c3d4e5f00001"]
TAGS = {
    "owner": "ml-platform-team",
    "cost-centre": "CC-4410-DS",
    "data-classification": "confidential",
    "environment": "dev",
}


def doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


# --- S3 -------------------------------------------------------------------------------------------


SHARED_BUCKET = "mlops-dev-pipeline-artifacts-111111111111-eu-west-2"
SINGLE_TENANT_BUCKET = "mlops-dev-data-111111111111-eu-west-2"


def sse(
    algorithm: str = "aws:kms",
    bucket_key: bool = True,
    key: str | None = KEY_ARN,
    bucket: str = "data",
) -> None:
    default: dict[str, Any] = {"sse_algorithm": algorithm}
    if key:
        default["kms_master_key_id"] = key
    aws.s3.BucketServerSideEncryptionConfiguration(
        "subject",
        bucket=bucket,
        rules=[
            {"apply_server_side_encryption_by_default": default, "bucket_key_enabled": bucket_key}
        ],
    )


def versioning(status: str = "Enabled") -> None:
    aws.s3.BucketVersioning("subject", bucket="data", versioning_configuration={"status": status})


def public_access_block(restrict: bool = True) -> None:
    aws.s3.BucketPublicAccessBlock(
        "subject",
        bucket="data",
        block_public_acls=True,
        block_public_policy=True,
        ignore_public_acls=True,
        restrict_public_buckets=restrict,
    )


def secure_bucket(
    name: str = "subject", *, with_block: bool = True, tls_only: bool = True
) -> aws.s3.Bucket:
    """A bucket with everything the S3 rules want (optionally without the block or TLS policy)."""
    bucket = aws.s3.Bucket(name, bucket=f"mlops-dev-{name}", tags=TAGS)
    child = pulumi.ResourceOptions(parent=bucket)
    aws.s3.BucketServerSideEncryptionConfiguration(
        f"{name}-sse",
        bucket=bucket.id,
        rules=[
            {
                "apply_server_side_encryption_by_default": {
                    "sse_algorithm": "aws:kms",
                    "kms_master_key_id": KEY_ARN,
                },
                "bucket_key_enabled": True,
            }
        ],
        opts=child,
    )
    aws.s3.BucketVersioning(
        f"{name}-versioning",
        bucket=bucket.id,
        versioning_configuration={"status": "Enabled"},
        opts=child,
    )
    read = {"Sid": "ReadOnly", "Effect": "Allow", "Principal": {"AWS": ROLE_ARN},
            "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::mlops-dev-{name}/*"}  # fmt: skip
    statements = [read]
    if tls_only:
        statements.append(DENY_INSECURE)
    aws.s3.BucketPolicy(f"{name}-policy", bucket=bucket.id, policy=doc(*statements), opts=child)
    if with_block:
        aws.s3.BucketPublicAccessBlock(
            f"{name}-public-access",
            bucket=bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=child,
        )
    return bucket


# --- KMS, SageMaker -------------------------------------------------------------------------------


def kms_key(rotate: bool = True) -> None:
    aws.kms.Key("subject", enable_key_rotation=rotate, tags=TAGS)


def domain(access: str = "VpcOnly", kms: bool = True) -> None:
    aws.sagemaker.Domain(
        "subject",
        domain_name="mlops-dev",
        auth_mode="IAM",
        vpc_id="vpc-0a1b2c3d",
        subnet_ids=SUBNETS,
        app_network_access_type=access,
        kms_key_id=KEY_ARN if kms else None,
        default_user_settings={"execution_role": ROLE_ARN, "security_groups": SGS},
        tags=TAGS,
    )


def endpoint_config(kms: bool = True, capture: bool = True) -> None:
    aws.sagemaker.EndpointConfiguration(
        "subject",
        kms_key_arn=KEY_ARN if kms else None,
        production_variants=[
            {
                "variant_name": "primary",
                "model_name": "remedy",
                "initial_instance_count": 1,
                "instance_type": "ml.m5.large",
            }
        ],
        data_capture_config=(
            {
                "enable_capture": True,
                "initial_sampling_percentage": 100,
                "destination_s3_uri": "s3://mlops-dev-capture/remedy",
                "capture_options": [{"capture_mode": "Input"}, {"capture_mode": "Output"}],
                "kms_key_id": KEY_ARN,
            }
            if capture
            else None
        ),
        tags=TAGS,
    )


def notebook(locked: bool = True) -> None:
    extra = (
        {
            "kms_key_id": KEY_ARN,
            "subnet_id": SUBNETS[0],
            "security_groups": SGS,
            "direct_internet_access": "Disabled",
            "root_access": "Disabled",
        }
        if locked
        else {}
    )
    aws.sagemaker.NotebookInstance(
        "subject", instance_type="ml.t3.medium", role_arn=ROLE_ARN, tags=TAGS, **extra
    )


def _training(name: str, vpc: bool, encrypt: bool) -> dict[str, Any]:
    args: dict[str, Any] = {
        "AlgorithmSpecification": {"TrainingImage": "img", "TrainingInputMode": "File"},
        "RoleArn": ROLE_ARN,
    }
    if vpc:
        args["VpcConfig"] = {"Subnets": SUBNETS, "SecurityGroupIds": SGS}
    if encrypt:
        args["EnableInterContainerTrafficEncryption"] = True
    return {"Name": name, "Type": "Training", "Arguments": args}


def _processing(name: str, vpc: bool, encrypt: bool) -> dict[str, Any]:
    network: dict[str, Any] = {}
    if vpc:
        network["VpcConfig"] = {"Subnets": SUBNETS, "SecurityGroupIds": SGS}
    if encrypt:
        network["EnableInterContainerTrafficEncryption"] = True
    return {
        "Name": name,
        "Type": "Processing",
        "Arguments": {"RoleArn": ROLE_ARN, "NetworkConfig": network},
    }


def pipeline_definition(nested_ok: bool = True) -> str:
    """Processing, then a condition whose branch trains (the step that may fail)."""
    return json.dumps(
        {
            "Version": "2020-12-01",
            "Steps": [
                _processing("features", vpc=True, encrypt=True),
                {
                    "Name": "quality-gate",
                    "Type": "Condition",
                    "Arguments": {
                        "Conditions": [],
                        "IfSteps": [_training("train", vpc=True, encrypt=nested_ok)],
                        "ElseSteps": [{"Name": "fail", "Type": "Fail", "Arguments": {}}],
                    },
                },
            ],
        }
    )


def pipeline(nested_ok: bool = True) -> None:
    aws.sagemaker.Pipeline(
        "subject",
        pipeline_name="remedy-training",
        pipeline_display_name="remedy-training",
        role_arn=ROLE_ARN,
        pipeline_definition=pipeline_definition(nested_ok),
        tags=TAGS,
    )


# --- Logs, CloudTrail -----------------------------------------------------------------------------


def log_group(kms: bool = True, days: int | None = 30) -> aws.cloudwatch.LogGroup:
    return aws.cloudwatch.LogGroup(
        "subject",
        name="/mlops/dev/subject",
        kms_key_id=KEY_ARN if kms else None,
        retention_in_days=days,
        tags=TAGS,
    )


def trail(multi_region: bool = True) -> None:
    aws.cloudtrail.Trail(
        "subject",
        name="mlops-dev",
        s3_bucket_name="mlops-dev-audit",
        is_multi_region_trail=multi_region,
        enable_log_file_validation=True,
        kms_key_id=KEY_ARN,
        tags=TAGS,
    )


# --- IAM ------------------------------------------------------------------------------------------

SCOPED = {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "arn:aws:s3:::mlops-dev-*/*"}
STAR = {"Sid": "Admin", "Effect": "Allow", "Action": "*", "Resource": "*"}
PASSROLE = {"Sid": "Pass", "Effect": "Allow", "Action": ["iam:PassRole"], "Resource": "*"}
PASSROLE_SCOPED = {
    "Sid": "Pass",
    "Effect": "Allow",
    "Action": "iam:PassRole",
    "Resource": ROLE_ARN,
    "Condition": {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
}
PUBLIC_READ = {"Sid": "Public", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
               "Resource": "arn:aws:s3:::mlops-dev-data/*"}  # fmt: skip
DENY_INSECURE = {
    "Sid": "TlsOnly",
    "Effect": "Deny",
    "Principal": "*",
    "Action": "s3:*",
    "Resource": "*",
    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
}


def managed_policy(statement: dict[str, Any]) -> None:
    aws.iam.Policy("subject", policy=doc(statement), tags=TAGS)


def role_with_inline(statement: dict[str, Any]) -> None:
    trust = doc({"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"},
                 "Action": "sts:AssumeRole"})  # fmt: skip
    aws.iam.Role(
        "subject",
        assume_role_policy=trust,
        inline_policies=[{"name": "work", "policy": doc(statement)}],
        tags=TAGS,
    )


def role_with_attachments(count: int) -> None:
    """A role with `count` customer managed policies attached (one attachment each)."""
    trust = doc({"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"},
                 "Action": "sts:AssumeRole"})  # fmt: skip
    role = aws.iam.Role("subject", name="mlops-dev-shared", assume_role_policy=trust, tags=TAGS)
    for i in range(count):
        aws.iam.RolePolicyAttachment(
            f"subject-{i}",
            role=role.name,
            policy_arn=f"arn:aws:iam::111111111111:policy/mlops-dev-uc{i}",
            opts=pulumi.ResourceOptions(parent=role),
        )


def role_policy(statement: dict[str, Any]) -> None:
    aws.iam.RolePolicy("subject", role="mlops-dev-worker", policy=doc(statement))


def bucket_policy(*statements: dict[str, Any]) -> None:
    aws.s3.BucketPolicy("subject", bucket="mlops-dev-data", policy=doc(*statements))


# --- API Gateway ----------------------------------------------------------------------------------


def method(authorization: str = "AWS_IAM", authorizer: bool = False) -> None:
    aws.apigateway.Method(
        "subject",
        rest_api="api-id",
        resource_id="res-id",
        http_method="POST",
        authorization=authorization,
        authorizer_id="auth-id" if authorizer else None,
    )


def http_route(authorization_type: str = "AWS_IAM") -> None:
    aws.apigatewayv2.Route(
        "subject", api_id="api-id", route_key="POST /claims", authorization_type=authorization_type
    )


def stage(logs: bool = True) -> None:
    settings = (
        {"destination_arn": "arn:aws:logs:eu-west-2:111111111111:log-group:api",
         "format": '{"requestId":"$context.requestId"}'}
        if logs
        else None
    )  # fmt: skip
    aws.apigateway.Stage(
        "subject",
        rest_api="api-id",
        deployment="dep-id",
        stage_name="v1",
        access_log_settings=settings,
        tags=TAGS,
    )


# --- Step Functions, Lambda, EventBridge ----------------------------------------------------------

ASL = json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}})


def state_machine(logging: bool = True, group_kms: bool = True, definition: str = ASL) -> None:
    group = aws.cloudwatch.LogGroup(
        "sfn-logs",
        name="/aws/vendedlogs/states/mlops-dev",
        kms_key_id=KEY_ARN if group_kms else None,
        retention_in_days=30,
        tags=TAGS,
    )
    config = (
        {
            "log_destination": group.arn.apply(lambda arn: f"{arn}:*"),
            "include_execution_data": True,
            "level": "ALL",
        }
        if logging
        else None
    )
    aws.sfn.StateMachine(
        "subject",
        role_arn=ROLE_ARN,
        definition=definition,
        logging_configuration=config,
        tags=TAGS,
    )


def async_lambda(on_failure: bool = True, dlq: bool = False) -> None:
    fn = aws.lambda_.Function(
        "subject",
        name="mlops-dev-deployer",
        role=ROLE_ARN,
        runtime="python3.12",
        handler="index.handler",
        code=pulumi.AssetArchive({"index.py": pulumi.StringAsset("def handler(e, c):\n  pass\n")}),
        dead_letter_config={"target_arn": "arn:aws:sqs:eu-west-2:111111111111:dlq"}
        if dlq
        else None,
        tags=TAGS,
    )
    aws.lambda_.Permission(
        "subject-from-events",
        action="lambda:InvokeFunction",
        function=fn.name,
        principal="events.amazonaws.com",
    )
    if on_failure:
        aws.lambda_.FunctionEventInvokeConfig(
            "subject-invoke",
            function_name=fn.name,
            destination_config={
                "on_failure": {"destination": "arn:aws:sqs:eu-west-2:111111111111:failures"}
            },
        )


def approval_pattern(*statuses: str) -> str:
    detail: dict[str, Any] = {"ModelPackageGroupName": ["remedy"]}
    if statuses:
        detail["ModelApprovalStatus"] = list(statuses)
    return json.dumps(
        {
            "source": ["aws.sagemaker"],
            "detail-type": ["SageMaker Model Package State Change"],
            "detail": detail,
        }
    )


class UseCase(pulumi.ComponentResource):
    """Stand-in for the use-case component: owns the approval rule like the real one should, and
    optionally the rollback trigger (a Rejected-only rule) with a target."""

    def __init__(
        self, name: str, statuses: tuple[str, ...] | None, rejected_target: str | None = None
    ) -> None:
        super().__init__("mlops:usecase:UseCase", name)
        self.registry = aws.sagemaker.ModelPackageGroup(
            f"{name}-registry",
            model_package_group_name=name,
            tags=TAGS,
            opts=pulumi.ResourceOptions(parent=self),
        )
        if statuses is not None:
            self.rule = aws.cloudwatch.EventRule(
                "subject",
                event_pattern=approval_pattern(*statuses),
                tags=TAGS,
                opts=pulumi.ResourceOptions(parent=self),
            )
        if rejected_target is not None:
            self.rejected = aws.cloudwatch.EventRule(
                "rejected",
                name="remedy-rejected",
                event_pattern=approval_pattern("Rejected"),
                tags=TAGS,
                opts=pulumi.ResourceOptions(parent=self),
            )
            aws.cloudwatch.EventTarget(
                "rejected-target",
                rule=self.rejected.name,
                arn=rejected_target,
                opts=pulumi.ResourceOptions(parent=self.rejected),
            )
        self.register_outputs({})


def inference_role(boundary: str | None) -> Any:
    """A role of a use case's inference program (project remedy-inference), with or without the
    use case's permissions boundary."""

    def build() -> None:
        trust = doc({"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                     "Action": "sts:AssumeRole"})  # fmt: skip
        aws.iam.Role(
            "subject",
            name="mlops-dev-remedy-decide",
            assume_role_policy=trust,
            permissions_boundary=boundary,
            tags=TAGS,
        )

    build.project = "remedy-inference"  # type: ignore[attr-defined]
    return build
