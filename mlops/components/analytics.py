"""Decision analytics in the cloud: `DecisionAnalytics` (`mlops:analytics:DecisionAnalytics`).

The decision API writes one JSON line per analytics event to its encrypted log group; the use
case's events, tables and views come in as an :class:`mlops.events.EventRegistry` (``events``).
This component adds, per use case and stack:

    log group ──subscription filter (decision events only)──▶ Firehose (SSE-KMS)
      ├─ processors: decompress CloudWatch payload → extract messages → [transformation Lambda
      │  (packages the registry's module): validate + flatten + partition keys] or [JQ partition
      │  keys] → newline delimiter
      ├─▶ S3 landing bucket  decision-events/<usecase>/event_type=…/dt=YYYY-MM-DD/
      │                      (dynamic partitioning; the platform's shared bucket or its own)
      └─▶ S3 error prefix    decision-events-errors/<usecase>/<error-type>/dt=…/ (bad records)
    optional Snowflake (pulumi-snowflake): storage integration → external stage → one table per
      event type → Snowpipe (auto-ingest, S3 event notification) → the analytics views
      (the registry's SQL files, as in DuckDB, translated by sqlglot).

Model monitoring (data capture → Model Monitor schedule → drift alarm) is
:class:`mlops.components.analytics_monitor.ModelMonitor`. The local twin of the stream is
:mod:`mlops.local.analytics_stream`.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pulumi
import pulumi_aws as aws

from mlops import iam, naming
from mlops.components.analytics_monitor import ModelMonitor, ModelMonitorArgs
from mlops.components.logs import encrypted_log_group
from mlops.components.storage import SecureBucket, SecureBucketArgs
from mlops.events import REGISTRY_ENV, EventRegistry, landing_prefix
from mlops.naming import NameContext
from mlops.rehearsal import declare
from mlops.tags import with_component

if TYPE_CHECKING:
    from mlops.components.analytics_snowflake import SnowflakeArgs

# Short names for pulumi-aws's long Firehose argument classes.
_S3 = "FirehoseDeliveryStreamExtendedS3Configuration"
ParamArgs = getattr(aws.kinesis, _S3 + "ProcessingConfigurationProcessorParameterArgs")
ProcessorArgs = getattr(aws.kinesis, _S3 + "ProcessingConfigurationProcessorArgs")
ProcessingArgs = getattr(aws.kinesis, _S3 + "ProcessingConfigurationArgs")
PartitioningArgs = getattr(aws.kinesis, _S3 + "DynamicPartitioningConfigurationArgs")
DeliveryLoggingArgs = getattr(aws.kinesis, _S3 + "CloudwatchLoggingOptionsArgs")
ExtendedS3Args = getattr(aws.kinesis, _S3 + "Args")


def data_prefix(usecase: str, source: str) -> str:
    """Firehose prefix with dynamic partitions; ``source`` is ``Query`` (JQ) or ``Lambda``."""
    key = f"partitionKeyFrom{source}"
    return landing_prefix(usecase) + f"event_type=!{{{key}:event_type}}/dt=!{{{key}:dt}}/"


def error_prefix(usecase: str) -> str:
    return (
        f"decision-events-errors/{usecase}/!{{firehose:error-output-type}}/"
        "dt=!{timestamp:yyyy-MM-dd}/"
    )


# Powertools v3 layer (bundles pydantic v2) published by AWS in every commercial region.
POWERTOOLS_LAYER = (
    "arn:aws:lambda:{region}:017000801446:layer:"
    "AWSLambdaPowertoolsPythonV3-python312-x86_64:{version}"
)
POWERTOOLS_LAYER_VERSION = 27  # per the Powertools installation docs; layers are immutable
_SRC = Path(__file__).resolve().parent.parent


@dataclass(frozen=True, kw_only=True)
class DecisionAnalyticsArgs:
    names: NameContext
    usecase: str
    events: EventRegistry
    """The use case's events, tables and views (e.g. ``remedy_core.events.REGISTRY``)."""
    log_group_name: pulumi.Input[str]
    """The decision API's (KMS-encrypted) log group."""
    kms_key_arn: pulumi.Input[str]
    access_logs_bucket: pulumi.Input[str]
    tags: Mapping[str, str]
    log_kms_key_arn: pulumi.Input[str] | None = None
    """Key of the transformation Lambda's log group (its policy must admit CloudWatch Logs for
    ``/aws/lambda/...``, as the platform's logs key does); default ``kms_key_arn``."""
    landing_bucket_name: pulumi.Input[str] | None = None
    landing_bucket_arn: pulumi.Input[str] | None = None
    """The platform's shared analytics landing bucket (``Storage.analytics_landing``); when not
    given, the component creates a secure bucket of its own."""
    log_retention_days: int = 90
    data_retention_days: int = 2557
    """Landing objects expire after this many days (config: retention; default ~7 years)."""
    transform_lambda: bool = False
    lambda_subnet_ids: Sequence[str] = ()
    lambda_security_group_ids: Sequence[str] = ()
    buffer_size_mb: int = 64
    buffer_interval_seconds: int = 300
    snowflake: SnowflakeArgs | None = None
    monitoring: ModelMonitorArgs | None = None
    """Model Monitor on the use case's endpoint (data capture is set by the serving component
    with ``analytics_monitor.data_capture_config``)."""
    powertools_layer_version: int = POWERTOOLS_LAYER_VERSION
    extra: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not 64 <= self.buffer_size_mb <= 128:
            raise ValueError(
                "DecisionAnalyticsArgs.buffer_size_mb: dynamic partitioning needs 64-128 MB"
            )
        if not 0 <= self.buffer_interval_seconds <= 900:
            raise ValueError("DecisionAnalyticsArgs.buffer_interval_seconds must be 0..900")
        if self.snowflake is not None and not self.transform_lambda:
            raise ValueError(
                "DecisionAnalyticsArgs.snowflake needs transform_lambda=True: Snowpipe loads the "
                "flat rows the transformation Lambda writes"
            )
        if bool(self.lambda_subnet_ids) != bool(self.lambda_security_group_ids):
            raise ValueError("give both lambda_subnet_ids and lambda_security_group_ids, or none")
        if (self.landing_bucket_name is None) != (self.landing_bucket_arn is None):
            raise ValueError("give both landing_bucket_name and landing_bucket_arn, or neither")
        if self.data_retention_days < 1:
            raise ValueError("DecisionAnalyticsArgs.data_retention_days must be >= 1")
        if self.transform_lambda and self.events.module not in sys.modules:
            raise ValueError(
                f"DecisionAnalyticsArgs.events.module {self.events.module!r} is not an imported "
                "module: the transformation Lambda packages it (set module=__name__ where "
                "REGISTRY is defined)"
            )


def lambda_code(events: EventRegistry) -> pulumi.AssetArchive:
    """The transformation Lambda's code: the generic event base, the transform and the use
    case's schema module (``events.module``, its packages as empty ``__init__``), nothing else."""
    files = ["errors.py", "events.py", "analytics/records.py", "analytics/firehose_transform.py"]
    assets: dict[str, pulumi.Asset | pulumi.Archive] = {
        "mlops/__init__.py": pulumi.StringAsset(""),
        "mlops/analytics/__init__.py": pulumi.StringAsset(""),
    }
    for f in files:
        assets[f"mlops/{f}"] = pulumi.FileAsset(str(_SRC / f))
    parts = events.module.split(".")
    for i in range(1, len(parts)):
        assets["/".join(parts[:i]) + "/__init__.py"] = pulumi.StringAsset("")
    module_file = sys.modules[events.module].__file__
    assets["/".join(parts) + ".py"] = pulumi.FileAsset(str(module_file))
    return pulumi.AssetArchive(assets)


def firehose_policy(
    bucket_arn: str, key_arn: str, log_group_arn: str, lambda_arn: str | None
) -> dict:
    """Least privilege for the delivery stream's role (pure; unit-tested)."""
    statements = [
        iam.statement(
            "WriteLandingBucket",
            [
                "s3:AbortMultipartUpload",
                "s3:GetBucketLocation",
                "s3:GetObject",
                "s3:ListBucket",
                "s3:ListBucketMultipartUploads",
                "s3:PutObject",
            ],
            iam.bucket_arns(bucket_arn),
        ),
        iam.kms_use("UseAnalyticsKey", [key_arn]),
        iam.statement("WriteDeliveryErrors", ["logs:PutLogEvents"], [f"{log_group_arn}:*"]),
    ]
    if lambda_arn:
        statements.append(
            iam.statement(
                "InvokeTransform",
                ["lambda:InvokeFunction", "lambda:GetFunctionConfiguration"],
                [lambda_arn, f"{lambda_arn}:*"],
            )
        )
    return iam.document(statements)


class DecisionAnalytics(pulumi.ComponentResource):
    """Subscription filter → Firehose → S3 landing bucket [→ Snowflake] for one use case."""

    def __init__(
        self, name: str, args: DecisionAnalyticsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mlops:analytics:DecisionAnalytics", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        ctx, uc = args.names, args.usecase
        tags = with_component(args.tags, "analytics", usecase=uc, **args.extra)

        self.landing = None
        if args.landing_bucket_name is None:
            self.landing = SecureBucket(
                f"{name}-landing",
                SecureBucketArgs(
                    bucket_name=naming.bucket_name(ctx, f"{uc}-analytics"),
                    purpose=f"{uc}-analytics",
                    kms_key_arn=args.kms_key_arn,
                    access_logs_bucket=args.access_logs_bucket,
                    tags=tags,
                    expire_days=args.data_retention_days,
                    component="analytics",
                ),
                opts=child,
            )
        bucket_name = args.landing_bucket_name or self.landing.name
        bucket_arn = args.landing_bucket_arn or self.landing.arn
        self.landing_bucket_name = pulumi.Output.from_input(bucket_name)

        self.delivery_log_group = encrypted_log_group(
            f"{name}-delivery-logs",
            physical_name=f"/aws/kinesisfirehose/{naming.usecase_name(ctx, uc, 'decision-events')}",
            kms_key_arn=args.kms_key_arn,
            retention_days=args.log_retention_days,
            tags=tags,
            opts=child,
        )
        self.delivery_log_stream = aws.cloudwatch.LogStream(
            f"{name}-delivery-log-stream",
            log_group_name=self.delivery_log_group.name,
            name="S3Delivery",
            opts=child,
        )

        self.transform = None
        self.transform_role = None
        self.transform_log_group = None
        if args.transform_lambda:
            self._transform_lambda(name, args, tags, child)

        self.firehose_role = aws.iam.Role(
            f"{name}-firehose-role",
            name=naming.role_name(ctx, uc, "analytics-firehose"),
            permissions_boundary=naming.boundary_policy_arn(ctx, uc),
            assume_role_policy=iam.dumps(
                iam.service_trust("firehose.amazonaws.com", ctx.account_id)
            ),
            tags=tags,
            opts=child,
        )
        self.firehose_policy = aws.iam.RolePolicy(
            f"{name}-firehose-policy",
            role=self.firehose_role.id,
            policy=pulumi.Output.all(
                bucket_arn,
                args.kms_key_arn,
                self.delivery_log_group.arn,
                self.transform.arn if self.transform else None,
            ).apply(lambda v: iam.dumps(firehose_policy(*v))),
            opts=child,
        )

        source = "Lambda" if self.transform else "Query"
        processors = [
            ProcessorArgs(
                type="Decompression",
                parameters=[_param("CompressionFormat", "GZIP")],
            ),
            ProcessorArgs(
                type="CloudWatchLogProcessing",
                parameters=[_param("DataMessageExtraction", "true")],
            ),
        ]
        if self.transform:
            processors.append(
                ProcessorArgs(
                    type="Lambda",
                    parameters=[
                        _param("LambdaArn", self.transform.arn.apply(lambda a: f"{a}:$LATEST")),
                        _param("BufferSizeInMBs", "1"),
                        _param("BufferIntervalInSeconds", "60"),
                    ],
                )
            )
        else:
            processors.append(
                ProcessorArgs(
                    type="MetadataExtraction",
                    parameters=[
                        _param("JsonParsingEngine", "JQ-1.6"),
                        _param("MetadataExtractionQuery", args.events.partition_query),
                    ],
                )
            )
        processors.append(
            ProcessorArgs(type="AppendDelimiterToRecord", parameters=[_param("Delimiter", "\\n")])
        )
        self.delivery_stream = aws.kinesis.FirehoseDeliveryStream(
            f"{name}-firehose",
            name=naming.usecase_name(ctx, uc, "decision-events"),
            destination="extended_s3",
            server_side_encryption=aws.kinesis.FirehoseDeliveryStreamServerSideEncryptionArgs(
                enabled=True, key_type="CUSTOMER_MANAGED_CMK", key_arn=args.kms_key_arn
            ),
            extended_s3_configuration=ExtendedS3Args(
                role_arn=self.firehose_role.arn,
                bucket_arn=bucket_arn,
                kms_key_arn=args.kms_key_arn,
                prefix=data_prefix(uc, source),
                error_output_prefix=error_prefix(uc),
                buffering_size=args.buffer_size_mb,
                buffering_interval=args.buffer_interval_seconds,
                compression_format="GZIP",
                dynamic_partitioning_configuration=PartitioningArgs(
                    enabled=True, retry_duration=300
                ),
                processing_configuration=ProcessingArgs(
                    enabled=True, processors=processors
                ),
                cloudwatch_logging_options=DeliveryLoggingArgs(
                    enabled=True,
                    log_group_name=self.delivery_log_group.name,
                    log_stream_name=self.delivery_log_stream.name,
                ),
            ),
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.firehose_policy]),
        )  # fmt: skip

        self.logs_role = aws.iam.Role(
            f"{name}-logs-role",
            name=naming.role_name(ctx, uc, "analytics-logs"),
            permissions_boundary=naming.boundary_policy_arn(ctx, uc),
            assume_role_policy=iam.dumps(
                iam.service_trust(f"logs.{ctx.region}.amazonaws.com", ctx.account_id)
            ),
            tags=tags,
            opts=child,
        )
        self.logs_policy = aws.iam.RolePolicy(
            f"{name}-logs-policy",
            role=self.logs_role.id,
            policy=self.delivery_stream.arn.apply(
                lambda arn: iam.dumps(
                    iam.document(
                        iam.statement(
                            "PutToDecisionStream",
                            ["firehose:PutRecord", "firehose:PutRecordBatch"],
                            [arn],
                        )
                    )
                )
            ),
            opts=child,
        )  # fmt: skip
        self.subscription = aws.cloudwatch.LogSubscriptionFilter(
            f"{name}-subscription",
            name=naming.usecase_name(ctx, uc, "decision-events"),
            log_group=args.log_group_name,
            filter_pattern=args.events.subscription_filter_pattern,
            destination_arn=self.delivery_stream.arn,
            role_arn=self.logs_role.arn,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.logs_policy]),
        )

        self.snowflake = None
        if args.snowflake is not None:
            from mlops.components.analytics_snowflake import SnowflakeIngest, SnowflakeIngestArgs

            self.snowflake = SnowflakeIngest(
                f"{name}-snowflake",
                SnowflakeIngestArgs(
                    names=ctx,
                    usecase=uc,
                    events=args.events,
                    settings=args.snowflake,
                    bucket_name=bucket_name,
                    bucket_arn=bucket_arn,
                    kms_key_arn=args.kms_key_arn,
                    prefix=landing_prefix(uc),
                    tags=tags,
                ),
                opts=child,
            )

        self.monitor = None
        if args.monitoring is not None:
            self.monitor = ModelMonitor(f"{name}-monitor", args.monitoring, opts=child)
        self._declare_delivery(args, bucket_arn)

        self.register_outputs(
            {
                "landing_bucket": self.landing_bucket_name,
                "delivery_stream_arn": self.delivery_stream.arn,
                "subscription_filter": self.subscription.name,
            }
        )

    def _declare_delivery(self, args: DecisionAnalyticsArgs, bucket_arn: pulumi.Input[str]) -> None:
        """Runtime actors: CloudWatch Logs -> Firehose -> S3 (mlops rehearse, analytics)."""
        ctx, uc = args.names, args.usecase
        acct, region = ctx.account_id, ctx.region
        declare.service_assumes(
            flow="analytics",
            step="CloudWatch Logs takes the subscription's role",
            service=f"logs.{region}.amazonaws.com",
            role_arn=self.logs_role.arn,
            account=acct,
            order=10,
        )
        declare.actor(
            flow="analytics",
            step="the subscription forwards decision events",
            principal=self.logs_role.arn,
            account=acct,
            origin=declare.AWS_SERVICE,
            order=11,
            calls=[declare.call("firehose:PutRecordBatch", self.delivery_stream.arn)],
        )
        declare.service_assumes(
            flow="analytics",
            step="Firehose takes its role",
            service="firehose.amazonaws.com",
            role_arn=self.firehose_role.arn,
            account=acct,
            source_arn=self.delivery_stream.arn,
            order=20,
        )
        obj = pulumi.Output.from_input(bucket_arn).apply(
            lambda arn: f"{arn}/{landing_prefix(uc)}rehearsal/part-0000.gz"
        )
        calls = [
            declare.call("s3:PutObject", obj, why="deliver a batch (SSE-KMS)", context={
                "s3:x-amz-server-side-encryption": "aws:kms",
                "s3:x-amz-server-side-encryption-aws-kms-key-id": args.kms_key_arn}),
            declare.call("logs:PutLogEvents", self.delivery_log_group.arn.apply(
                lambda arn: f"{arn}:log-stream:S3Delivery"), why="delivery errors"),
        ]  # fmt: skip
        if self.transform is not None:
            calls.append(declare.call("lambda:InvokeFunction", self.transform.arn, why="transform"))
        declare.actor(
            flow="analytics",
            step="Firehose delivers to S3",
            principal=self.firehose_role.arn,
            account=acct,
            origin=declare.AWS_SERVICE,
            order=21,
            calls=calls,
        )

    def _transform_lambda(
        self,
        name: str,
        args: DecisionAnalyticsArgs,
        tags: Mapping[str, str],
        child: pulumi.ResourceOptions,
    ) -> None:
        ctx, uc = args.names, args.usecase
        fn_name = naming.usecase_name(ctx, uc, "analytics-transform", kind="lambda")
        self.transform_log_group = encrypted_log_group(
            f"{name}-transform-logs",
            physical_name=f"/aws/lambda/{fn_name}",
            kms_key_arn=args.log_kms_key_arn or args.kms_key_arn,
            retention_days=args.log_retention_days,
            tags=tags,
            opts=child,
        )
        self.transform_role = aws.iam.Role(
            f"{name}-transform-role",
            name=naming.role_name(ctx, uc, "analytics-transform"),
            permissions_boundary=naming.boundary_policy_arn(ctx, uc),
            assume_role_policy=iam.dumps(iam.service_trust("lambda.amazonaws.com", ctx.account_id)),
            tags=tags,
            opts=child,
        )
        statements = [
            iam.statement(
                "WriteOwnLogs",
                ["logs:CreateLogStream", "logs:PutLogEvents"],
                [f"arn:aws:logs:{ctx.region}:{ctx.account_id}:log-group:/aws/lambda/{fn_name}:*"],
            )
        ]
        if args.lambda_subnet_ids:
            statements.append(
                iam.statement(
                    "VpcNetworkInterfaces",
                    ["ec2:CreateNetworkInterface", "ec2:DescribeNetworkInterfaces",
                     "ec2:DeleteNetworkInterface", "ec2:AssignPrivateIpAddresses",
                     "ec2:UnassignPrivateIpAddresses"],
                    "*",
                )
            )  # fmt: skip
        self.transform_policy = aws.iam.RolePolicy(
            f"{name}-transform-policy",
            role=self.transform_role.id,
            policy=iam.dumps(iam.document(statements)),
            opts=child,
        )
        vpc = (
            aws.lambda_.FunctionVpcConfigArgs(
                subnet_ids=list(args.lambda_subnet_ids),
                security_group_ids=list(args.lambda_security_group_ids),
            )
            if args.lambda_subnet_ids
            else None
        )
        self.transform = aws.lambda_.Function(
            f"{name}-transform",
            name=fn_name,
            runtime="python3.12",
            handler="mlops.analytics.firehose_transform.handler",
            code=lambda_code(args.events),
            environment=aws.lambda_.FunctionEnvironmentArgs(
                variables={REGISTRY_ENV: args.events.module}
            ),
            role=self.transform_role.arn,
            timeout=60,
            memory_size=256,
            kms_key_arn=args.kms_key_arn,
            layers=[
                POWERTOOLS_LAYER.format(region=ctx.region, version=args.powertools_layer_version)
            ],
            vpc_config=vpc,
            tracing_config=aws.lambda_.FunctionTracingConfigArgs(mode="Active"),
            tags=dict(tags),
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=[self.transform_log_group, self.transform_policy]
            ),
        )


def _param(name: str, value: pulumi.Input[str]) -> ParamArgs:
    return ParamArgs(parameter_name=name, parameter_value=value)
