"""Model monitoring of a use case's endpoint: `ModelMonitor` (`mlops:analytics:ModelMonitor`).

* :func:`data_capture_config` — the endpoint configuration's data capture block (requests and
  responses to the KMS-encrypted data bucket); the serving component passes it to its
  ``aws.sagemaker.EndpointConfiguration``.
* ``ModelMonitor`` — a SageMaker Model Monitor data-quality job definition (VPC-only, network
  isolation, inter-container encryption, KMS for volumes and outputs) against the training
  baseline, an hourly monitoring schedule, and one CloudWatch alarm per key feature on the
  ``feature_baseline_drift_<feature>`` metric the job publishes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from mlops import iam, naming
from mlops.analytics.drift import DEFAULT_PSI_THRESHOLD
from mlops.naming import NameContext

# AWS accounts publishing the Model Monitor analyzer image, per region.
MODEL_MONITOR_ACCOUNTS = {
    "eu-west-1": "468650794304",
    "eu-west-2": "749857270468",
    "eu-central-1": "048819808253",
    "us-east-1": "156813124566",
    "us-east-2": "777275614652",
    "us-west-2": "159807026194",
}
DRIFT_METRIC_NAMESPACE = "aws/sagemaker/Endpoints/data-metrics"


def model_monitor_image(region: str) -> str:
    try:
        account = MODEL_MONITOR_ACCOUNTS[region]
    except KeyError:
        raise ValueError(
            f"no Model Monitor image known for region {region!r}; pass ModelMonitorArgs.image_uri"
        ) from None
    return f"{account}.dkr.ecr.{region}.amazonaws.com/sagemaker-model-monitor-analyzer"


def data_capture_config(
    bucket_name: pulumi.Input[str],
    kms_key_arn: pulumi.Input[str],
    usecase: str,
    sampling_percentage: int = 100,
) -> aws.sagemaker.EndpointConfigurationDataCaptureConfigArgs:
    """Endpoint data capture (input and output) to ``s3://<bucket>/data-capture/<usecase>/``."""
    if not 1 <= sampling_percentage <= 100:
        raise ValueError("sampling_percentage must be 1..100")
    return aws.sagemaker.EndpointConfigurationDataCaptureConfigArgs(
        enable_capture=True,
        initial_sampling_percentage=sampling_percentage,
        destination_s3_uri=pulumi.Output.concat("s3://", bucket_name, f"/data-capture/{usecase}"),
        kms_key_id=kms_key_arn,
        capture_options=[
            aws.sagemaker.EndpointConfigurationDataCaptureConfigCaptureOptionArgs(
                capture_mode="Input"
            ),
            aws.sagemaker.EndpointConfigurationDataCaptureConfigCaptureOptionArgs(
                capture_mode="Output"
            ),
        ],
        capture_content_type_header=aws.sagemaker.EndpointConfigurationDataCaptureConfigCaptureContentTypeHeaderArgs(
            json_content_types=["application/json"]
        ),
    )  # fmt: skip


def monitor_policy(bucket_arn: str, usecase: str, key_arn: str) -> dict:
    """Least privilege for the monitoring job (pure; unit-tested)."""
    return iam.document(
        iam.statement(
            "ReadCaptureAndBaseline",
            ["s3:GetObject"],
            [f"{bucket_arn}/data-capture/{usecase}/*", f"{bucket_arn}/monitoring/{usecase}/*"],
        ),
        iam.statement(
            "WriteReports", ["s3:PutObject"], [f"{bucket_arn}/monitoring/{usecase}/reports/*"]
        ),
        iam.statement("ListBucket", ["s3:ListBucket"], [bucket_arn]),
        iam.kms_use("UseDataKey", [key_arn]),
        iam.statement(
            "PublishDriftMetrics",
            ["cloudwatch:PutMetricData"],
            "*",
            condition={"StringEquals": {"cloudwatch:namespace": DRIFT_METRIC_NAMESPACE}},
        ),
        iam.statement(
            "JobLogs",
            ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
            "arn:aws:logs:*:*:log-group:/aws/sagemaker/ProcessingJobs*",
        ),
        iam.statement(
            "VpcNetworkInterfaces",
            ["ec2:CreateNetworkInterface", "ec2:CreateNetworkInterfacePermission",
             "ec2:DeleteNetworkInterface", "ec2:DeleteNetworkInterfacePermission",
             "ec2:DescribeNetworkInterfaces", "ec2:DescribeVpcs", "ec2:DescribeDhcpOptions",
             "ec2:DescribeSubnets", "ec2:DescribeSecurityGroups"],
            "*",
        ),
    )  # fmt: skip


@dataclass(frozen=True, kw_only=True)
class ModelMonitorArgs:
    names: NameContext
    usecase: str
    endpoint_name: pulumi.Input[str]
    data_bucket_name: pulumi.Input[str]
    data_bucket_arn: pulumi.Input[str]
    kms_key_arn: pulumi.Input[str]
    subnet_ids: Sequence[pulumi.Input[str]] | pulumi.Output[Sequence[str]]
    security_group_ids: Sequence[pulumi.Input[str]]
    tags: Mapping[str, str]
    features: Sequence[str]
    """The captured inputs to alarm on (baseline drift per feature); the use case names them."""
    drift_threshold: float = DEFAULT_PSI_THRESHOLD
    schedule_expression: str = "cron(0 * ? * * *)"
    instance_type: str = "ml.m5.large"
    alarm_topic_arns: Sequence[pulumi.Input[str]] = ()
    image_uri: str | None = None
    role_arn: pulumi.Input[str] | None = None
    """Run the job as this existing role (e.g. the model execution role, which need-to-know
    data-bucket policies already admit); by default the component creates a least-privilege
    role."""

    def __post_init__(self) -> None:
        if not self.subnet_ids or not self.security_group_ids:
            raise ValueError("ModelMonitorArgs.subnet_ids and security_group_ids: VPC-only jobs")
        if not self.features:
            raise ValueError("ModelMonitorArgs.features: name at least one feature to alarm on")
        if not 0 < self.drift_threshold < 10:
            raise ValueError("ModelMonitorArgs.drift_threshold must be in (0, 10)")
        if not self.schedule_expression.startswith("cron("):
            raise ValueError("ModelMonitorArgs.schedule_expression must be a cron(...) expression")
        if self.image_uri is None:
            model_monitor_image(self.names.region)  # raises a clear error for unknown regions


class ModelMonitor(pulumi.ComponentResource):
    def __init__(
        self, name: str, args: ModelMonitorArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mlops:analytics:ModelMonitor", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        ctx, uc = args.names, args.usecase
        tags = {**args.tags, "component": "analytics", "usecase": uc}
        base = pulumi.Output.concat("s3://", args.data_bucket_name, f"/monitoring/{uc}")

        self.role = None
        self.role_policy = None
        if args.role_arn is None:
            self.role = aws.iam.Role(
                f"{name}-role",
                name=naming.role_name(ctx, uc, "model-monitor"),
                assume_role_policy=iam.dumps(
                    iam.service_trust("sagemaker.amazonaws.com", ctx.account_id)
                ),
                tags=tags,
                opts=child,
            )
            self.role_policy = aws.iam.RolePolicy(
                f"{name}-role-policy",
                role=self.role.id,
                policy=pulumi.Output.all(args.data_bucket_arn, args.kms_key_arn).apply(
                    lambda v: iam.dumps(monitor_policy(v[0], uc, v[1]))
                ),
                opts=child,
            )
        job_name = naming.usecase_name(ctx, uc, "data-quality", kind="sagemaker")
        self.job_definition = aws.sagemaker.DataQualityJobDefinition(
            f"{name}-job",
            name=job_name,
            role_arn=args.role_arn or self.role.arn,
            data_quality_app_specification=aws.sagemaker.DataQualityJobDefinitionDataQualityAppSpecificationArgs(
                image_uri=args.image_uri or model_monitor_image(ctx.region),
                environment={"publish_cloudwatch_metrics": "Enabled"},
            ),
            data_quality_baseline_config=aws.sagemaker.DataQualityJobDefinitionDataQualityBaselineConfigArgs(
                constraints_resource=aws.sagemaker.DataQualityJobDefinitionDataQualityBaselineConfigConstraintsResourceArgs(
                    s3_uri=pulumi.Output.concat(base, "/baseline/constraints.json")
                ),
                statistics_resource=aws.sagemaker.DataQualityJobDefinitionDataQualityBaselineConfigStatisticsResourceArgs(
                    s3_uri=pulumi.Output.concat(base, "/baseline/statistics.json")
                ),
            ),
            data_quality_job_input=aws.sagemaker.DataQualityJobDefinitionDataQualityJobInputArgs(
                endpoint_input=aws.sagemaker.DataQualityJobDefinitionDataQualityJobInputEndpointInputArgs(
                    endpoint_name=args.endpoint_name, local_path="/opt/ml/processing/input"
                )
            ),
            data_quality_job_output_config=aws.sagemaker.DataQualityJobDefinitionDataQualityJobOutputConfigArgs(
                kms_key_id=args.kms_key_arn,
                monitoring_outputs=aws.sagemaker.DataQualityJobDefinitionDataQualityJobOutputConfigMonitoringOutputsArgs(
                    s3_output=aws.sagemaker.DataQualityJobDefinitionDataQualityJobOutputConfigMonitoringOutputsS3OutputArgs(
                        s3_uri=pulumi.Output.concat(base, "/reports"),
                        local_path="/opt/ml/processing/output",
                        s3_upload_mode="EndOfJob",
                    )
                ),
            ),
            job_resources=aws.sagemaker.DataQualityJobDefinitionJobResourcesArgs(
                cluster_config=aws.sagemaker.DataQualityJobDefinitionJobResourcesClusterConfigArgs(
                    instance_count=1, instance_type=args.instance_type, volume_size_in_gb=20,
                    volume_kms_key_id=args.kms_key_arn,
                )
            ),
            network_config=aws.sagemaker.DataQualityJobDefinitionNetworkConfigArgs(
                enable_inter_container_traffic_encryption=True,
                enable_network_isolation=True,
                vpc_config=aws.sagemaker.DataQualityJobDefinitionNetworkConfigVpcConfigArgs(
                    subnets=(args.subnet_ids if isinstance(args.subnet_ids, pulumi.Output)
                             else list(args.subnet_ids)),
                    security_group_ids=list(args.security_group_ids),
                ),
            ),
            stopping_condition=aws.sagemaker.DataQualityJobDefinitionStoppingConditionArgs(
                max_runtime_in_seconds=3600
            ),
            tags=tags,
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=[self.role_policy] if self.role_policy else []
            ),
        )  # fmt: skip
        schedule_name = naming.usecase_name(ctx, uc, "data-quality-hourly", kind="sagemaker")
        self.schedule = aws.sagemaker.MonitoringSchedule(
            f"{name}-schedule",
            name=schedule_name,
            monitoring_schedule_config=aws.sagemaker.MonitoringScheduleMonitoringScheduleConfigArgs(
                monitoring_job_definition_name=self.job_definition.name,
                monitoring_type="DataQuality",
                schedule_config=aws.sagemaker.MonitoringScheduleMonitoringScheduleConfigScheduleConfigArgs(
                    schedule_expression=args.schedule_expression
                ),
            ),
            tags=tags,
            opts=child,
        )  # fmt: skip
        self.alarms: dict[str, aws.cloudwatch.MetricAlarm] = {}
        for feature in args.features:
            self.alarms[feature] = aws.cloudwatch.MetricAlarm(
                f"{name}-drift-{feature.replace('_', '-')}",
                name=naming.usecase_name(ctx, uc, "drift", feature),
                alarm_description=(
                    f"Input drift on {feature} for {uc}: baseline drift above "
                    f"{args.drift_threshold:g} (Model Monitor data quality)"
                ),
                namespace=DRIFT_METRIC_NAMESPACE,
                metric_name=f"feature_baseline_drift_{feature}",
                dimensions={"Endpoint": args.endpoint_name, "MonitoringSchedule": schedule_name},
                statistic="Maximum",
                period=3600,
                evaluation_periods=1,
                threshold=args.drift_threshold,
                comparison_operator="GreaterThanThreshold",
                treat_missing_data="notBreaching",
                alarm_actions=list(args.alarm_topic_arns),
                tags=tags,
                opts=pulumi.ResourceOptions(parent=self, depends_on=[self.schedule]),
            )
        self.register_outputs(
            {"schedule": self.schedule.name, "alarms": [a.name for a in self.alarms.values()]}
        )
