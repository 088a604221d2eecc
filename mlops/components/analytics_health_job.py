"""The scheduled model-health job of a use case's stage (`mlops:analytics:ModelHealthJob`).

Publishes the ``mlops/model-health`` metrics that :class:`~mlops.components.analytics_health.
ModelHealthAlarms` watches. Runtime: an EventBridge Scheduler schedule invoking a Lambda in the
VPC (private subnets; S3 and CloudWatch through the platform's VPC endpoints). A run loads the use
case's landed decision and outcome events (``decision-events/<usecase>/`` of the analytics
landing bucket) into an in-memory DuckDB warehouse, computes the monthly quality view and drift
and puts the metrics; minutes of compute once a day do not justify a Processing job's container
image, instance start-up (≈ 3-5 min) and extra IAM (PassRole, ECR). The function carries its own
analytics layer (DuckDB + pandas) next to the use case's dependency layer, so the decide path's
layer does not grow.

* a KMS-encrypted log group with retention;
* a least-privilege role under the use case's permissions boundary: list and read only the use
  case's prefix of the landing bucket, decrypt with the data key only through S3,
  ``cloudwatch:PutMetricData`` only in the ``mlops/model-health`` namespace, its own logs, VPC
  network interfaces;
* the function (reserved concurrency 1: runs never overlap) and its analytics layer;
* a schedule (daily by default) with a role that may invoke this function only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from mlops import iam, naming
from mlops.components.analytics_health import NAMESPACE
from mlops.components.logs import encrypted_log_group
from mlops.events import landing_prefix
from mlops.naming import NameContext
from mlops.rehearsal import declare


def job_policy(
    *, bucket_arn: str, usecase: str, key_arn: str, log_group_arn: str, region: str
) -> dict[str, Any]:
    """Least privilege for the health job (pure; unit-tested)."""
    prefix = landing_prefix(usecase)
    return iam.document(
        iam.statement(
            "ListUseCaseEvents",
            ["s3:ListBucket"],
            [bucket_arn],
            condition={"StringLike": {"s3:prefix": [f"{prefix}*"]}},
        ),
        iam.statement("ReadUseCaseEvents", ["s3:GetObject"], [f"{bucket_arn}/{prefix}*"]),
        iam.statement(
            "DecryptViaS3AndLambda",
            ["kms:Decrypt"],
            [key_arn],
            condition={
                "StringEquals": {
                    "kms:ViaService": [
                        f"s3.{region}.amazonaws.com",
                        f"lambda.{region}.amazonaws.com",
                    ]
                }
            },
        ),
        iam.statement(
            "PutModelHealthMetrics",
            ["cloudwatch:PutMetricData"],
            "*",
            condition={"StringEquals": {"cloudwatch:namespace": NAMESPACE}},
        ),
        iam.statement(
            "WriteOwnLogs", ["logs:CreateLogStream", "logs:PutLogEvents"], [f"{log_group_arn}:*"]
        ),
        iam.statement(
            "VpcNetworkInterfaces",
            [
                "ec2:CreateNetworkInterface",
                "ec2:DescribeNetworkInterfaces",
                "ec2:DeleteNetworkInterface",
                "ec2:AssignPrivateIpAddresses",
                "ec2:UnassignPrivateIpAddresses",
            ],
            "*",
        ),
    )


def invoke_policy(function_arn: str) -> dict[str, Any]:
    return iam.document(iam.statement("InvokeHealthJob", ["lambda:InvokeFunction"], [function_arn]))


@dataclass(frozen=True, kw_only=True)
class ModelHealthJobArgs:
    names: NameContext
    usecase: str
    stage: str
    handler: str
    code: pulumi.Input[pulumi.Archive]
    layer_code: pulumi.Input[pulumi.Archive]
    """The analytics layer (``python/``: duckdb, pandas and what they need), built for
    ``architecture`` and ``runtime``."""
    landing_bucket_name: pulumi.Input[str]
    landing_bucket_arn: pulumi.Input[str]
    data_kms_key_arn: pulumi.Input[str]
    log_kms_key_arn: pulumi.Input[str]
    subnet_ids: pulumi.Input[Sequence[str]]
    security_group_ids: pulumi.Input[Sequence[str]]
    tags: Mapping[str, str]
    layers: Sequence[pulumi.Input[str]] = ()
    """Other layers first (e.g. the use case's dependency layer)."""
    architecture: str = "arm64"
    runtime: str = "python3.12"
    environment: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    schedule_expression: str = "cron(30 5 * * ? *)"
    memory_mb: int = 2048
    timeout_s: int = 600
    log_retention_days: int = 365

    def __post_init__(self) -> None:
        if not self.schedule_expression.startswith(("cron(", "rate(")):
            raise ValueError(
                "ModelHealthJobArgs.schedule_expression must be cron(...) or rate(...)"
            )
        if not 128 <= self.memory_mb <= 10240:
            raise ValueError("ModelHealthJobArgs.memory_mb must be 128..10240")
        if not 1 <= self.timeout_s <= 900:
            raise ValueError("ModelHealthJobArgs.timeout_s must be 1..900 (Lambda's limit)")
        if len(self.layers) + 1 > 5:
            raise ValueError("ModelHealthJobArgs.layers: Lambda takes at most 5 layers")


class ModelHealthJob(pulumi.ComponentResource):
    def __init__(
        self, name: str, args: ModelHealthJobArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mlops:analytics:ModelHealthJob", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        ctx, uc = args.names, args.usecase
        tags = {**args.tags, "component": "analytics", "usecase": uc}
        fn_name = naming.usecase_name(ctx, uc, "model-health", kind="lambda")

        self.log_group = encrypted_log_group(
            f"{name}-logs",
            physical_name=f"/aws/lambda/{fn_name}",
            kms_key_arn=args.log_kms_key_arn,
            retention_days=args.log_retention_days,
            tags=tags,
            opts=child,
        )
        self.role = aws.iam.Role(
            f"{name}-role",
            # `mlops-<env>-<usecase>-analytics-*`: the landing bucket's need-to-know policy
            name=naming.role_name(ctx, uc, "analytics", "health"),
            permissions_boundary=naming.boundary_policy_arn(ctx, uc),
            assume_role_policy=iam.dumps(iam.service_trust("lambda.amazonaws.com", ctx.account_id)),
            tags=tags,
            opts=child,
        )
        self.role_policy = aws.iam.RolePolicy(
            f"{name}-role-policy",
            role=self.role.id,
            policy=pulumi.Output.all(
                args.landing_bucket_arn, args.data_kms_key_arn, self.log_group.arn
            ).apply(
                lambda v: iam.dumps(
                    job_policy(
                        bucket_arn=v[0],
                        usecase=uc,
                        key_arn=v[1],
                        log_group_arn=v[2],
                        region=ctx.region,
                    )
                )
            ),
            opts=child,
        )
        self.layer = aws.lambda_.LayerVersion(
            f"{name}-layer",
            layer_name=naming.usecase_name(ctx, uc, "analytics", kind="lambda"),
            code=args.layer_code,
            compatible_runtimes=[args.runtime],
            compatible_architectures=[args.architecture],
            description=f"{uc} model-health job: duckdb and pandas ({args.architecture} wheels)",
            opts=child,
        )
        self.function = aws.lambda_.Function(
            f"{name}-function",
            name=fn_name,
            role=self.role.arn,
            runtime=args.runtime,
            handler=args.handler,
            code=args.code,
            layers=[*args.layers, self.layer.arn],
            memory_size=args.memory_mb,
            timeout=args.timeout_s,
            reserved_concurrent_executions=1,
            architectures=[args.architecture],
            kms_key_arn=args.data_kms_key_arn,  # the environment (no secrets in it)
            environment={
                "variables": {
                    "HEALTH_BUCKET": args.landing_bucket_name,
                    "HEALTH_USECASE": uc,
                    "HEALTH_STAGE": args.stage,
                    "POWERTOOLS_SERVICE_NAME": f"{uc}-model-health",
                    **args.environment,
                }
            },
            vpc_config={
                "subnet_ids": args.subnet_ids,
                "security_group_ids": args.security_group_ids,
            },
            logging_config={"log_format": "Text", "log_group": self.log_group.name},
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.log_group, self.role_policy]),
        )
        self.scheduler_role = aws.iam.Role(
            f"{name}-scheduler-role",
            name=naming.role_name(ctx, uc, "model-health-scheduler"),
            permissions_boundary=naming.boundary_policy_arn(ctx, uc),
            assume_role_policy=iam.dumps(
                iam.service_trust("scheduler.amazonaws.com", ctx.account_id)
            ),
            tags=tags,
            opts=child,
        )
        self.scheduler_policy = aws.iam.RolePolicy(
            f"{name}-scheduler-policy",
            role=self.scheduler_role.id,
            policy=self.function.arn.apply(lambda arn: iam.dumps(invoke_policy(arn))),
            opts=child,
        )
        self.schedule = aws.scheduler.Schedule(
            f"{name}-schedule",
            name=naming.usecase_name(ctx, uc, "model-health", args.stage),
            description=f"{uc} model health: quality and drift metrics ({NAMESPACE})",
            schedule_expression=args.schedule_expression,
            schedule_expression_timezone="UTC",
            flexible_time_window={"mode": "OFF"},
            target={
                "arn": self.function.arn,
                "role_arn": self.scheduler_role.arn,
                "retry_policy": {"maximum_retry_attempts": 2},
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.scheduler_policy]),
        )
        self._declare(args)
        self.register_outputs(
            {
                "function_name": self.function.name,
                "schedule_name": self.schedule.name,
                "role_arn": self.role.arn,
            }
        )

    def _declare(self, args: ModelHealthJobArgs) -> None:
        """Runtime actors (mlops rehearse, decision flow: the health job over landed events)."""
        ctx, uc = args.names, args.usecase
        acct, region = ctx.account_id, ctx.region
        declare.service_assumes(
            flow="decision",
            step="EventBridge Scheduler takes the health job's scheduler role",
            service="scheduler.amazonaws.com",
            role_arn=self.scheduler_role.arn,
            account=acct,
            order=200,
        )
        declare.actor(
            flow="decision",
            step="the schedule invokes the health job",
            principal=self.scheduler_role.arn,
            account=acct,
            origin=declare.AWS_SERVICE,
            order=201,
            calls=[declare.call("lambda:InvokeFunction", self.function.arn)],
        )
        declare.service_assumes(
            flow="decision",
            step="Lambda takes the health job's role",
            service="lambda.amazonaws.com",
            role_arn=self.role.arn,
            account=acct,
            source_arn=self.function.arn,
            order=202,
        )
        declare.actor(
            flow="decision",
            step="health job function starts (Lambda service)",
            principal=self.role.arn,
            account=acct,
            origin=declare.AWS_SERVICE,
            order=203,
            calls=[
                declare.call(
                    "kms:Decrypt",
                    args.data_kms_key_arn,
                    why="decrypt the environment",
                    context={
                        "kms:ViaService": f"lambda.{region}.amazonaws.com",
                        "kms:EncryptionContext:LambdaFunctionName": self.function.name,
                    },
                ),
            ],
        )
        prefix = landing_prefix(uc)
        obj = pulumi.Output.from_input(args.landing_bucket_arn).apply(
            lambda arn: f"{arn}/{prefix}rehearsal/part-0000.gz"  # what Firehose delivers
        )
        declare.actor(
            flow="decision",
            step="the health job reads landed events and puts the metrics",
            principal=self.role.arn,
            account=acct,
            origin=declare.vpc(None, args.subnet_ids, args.security_group_ids),
            order=204,
            calls=[
                declare.call(
                    "s3:ListBucket",
                    args.landing_bucket_arn,
                    context={"s3:prefix": prefix},
                    why="list the use case's events",
                ),
                declare.call("s3:GetObject", obj, why="read a landed batch"),
                declare.call(
                    "kms:Decrypt",
                    args.data_kms_key_arn,
                    why="S3 decrypts the batch",
                    context={
                        "kms:ViaService": f"s3.{region}.amazonaws.com",
                        "aws:ViaAWSService": True,
                    },
                    destination="s3",
                ),
                declare.call(
                    "cloudwatch:PutMetricData",
                    context={"cloudwatch:namespace": NAMESPACE},
                    why="model-health metrics",
                ),
                declare.call(
                    "cloudwatch:PutMetricData",
                    expect="deny",
                    context={"cloudwatch:namespace": "AWS/Lambda"},
                    why="no other namespace",
                ),
                declare.call(
                    "s3:GetObject",
                    pulumi.Output.from_input(args.landing_bucket_arn).apply(
                        lambda arn: f"{arn}/decision-events/other-usecase/x.gz"
                    ),
                    expect="deny",
                    why="another use case's events",
                ),
                declare.call(
                    "logs:PutLogEvents",
                    self.log_group.arn.apply(lambda arn: f"{arn}:log-stream:rehearsal"),
                    why="function logs",
                ),
            ],
        )
