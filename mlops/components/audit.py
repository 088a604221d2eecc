"""Audit baseline, every stack: CloudTrail, GuardDuty, AWS Config (+ rules), Inspector for Lambda.

- CloudTrail: multi-region, global service events, log file validation, KMS (logs key), to an
  audit bucket with Object Lock (COMPLIANCE outside dev, GOVERNANCE allowed in dev) and a
  default retention equal to the configured compliance period, and to a KMS-encrypted CloudWatch
  log group; S3 data events are recorded for the customer-data buckets given in
  `data_event_bucket_arns`.
- GuardDuty detector with S3 protection.
- AWS Config: recorder (all supported resources), delivery channel to the audit bucket (KMS), and
  managed rules that check the promises this platform makes (see `CONFIG_RULES`).
- Amazon Inspector scanning of Lambda functions and Lambda code (the main vulnerability surface).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import pulumi
import pulumi_aws as aws

from mlops import iam
from mlops.components.storage import SecureBucket, SecureBucketArgs
from mlops.naming import NameContext, bucket_name, log_group_name, name, role_name
from mlops.rehearsal import declare
from mlops.tags import with_component

# AWS Config managed rules -> which platform promise each one checks continuously.
CONFIG_RULES: dict[str, str] = {
    "S3_BUCKET_SSL_REQUESTS_ONLY": "buckets refuse plain HTTP (TLS-only bucket policies)",
    "S3_BUCKET_LEVEL_PUBLIC_ACCESS_PROHIBITED": "all four public-access blocks on every bucket",
    "S3_DEFAULT_ENCRYPTION_KMS": "buckets encrypt with KMS by default",
    "S3_BUCKET_VERSIONING_ENABLED": "buckets are versioned",
    "CMK_BACKING_KEY_ROTATION_ENABLED": "customer-managed keys rotate",
    "CLOUD_TRAIL_ENCRYPTION_ENABLED": "CloudTrail logs are KMS-encrypted",
    "CLOUD_TRAIL_LOG_FILE_VALIDATION_ENABLED": "CloudTrail log files are tamper-evident",
    "MULTI_REGION_CLOUD_TRAIL_ENABLED": "a multi-region trail records every region",
    "VPC_FLOW_LOGS_ENABLED": "VPC flow logs are on",
    "CLOUDWATCH_LOG_GROUP_ENCRYPTED": "log groups are KMS-encrypted",
    "IAM_POLICY_NO_STATEMENTS_WITH_ADMIN_ACCESS": "no IAM policy grants * on *",
    "SAGEMAKER_ENDPOINT_CONFIGURATION_KMS_KEY_CONFIGURED": "endpoint volumes use our KMS keys",
    "SAGEMAKER_NOTEBOOK_NO_DIRECT_INTERNET_ACCESS": "notebooks have no direct internet access",
    "GUARDDUTY_ENABLED_CENTRALIZED": "GuardDuty is enabled",
}
AWS_CONFIG_ROLE_POLICY = "arn:aws:iam::aws:policy/service-role/AWS_ConfigRole"


def encrypted_log_group(
    resource_name: str,
    *,
    physical_name: str,
    kms_key_arn: pulumi.Input[str],
    retention_days: int,
    tags: Mapping[str, str],
    opts: pulumi.ResourceOptions,
) -> aws.cloudwatch.LogGroup:
    """A CloudWatch log group with our logs key and the configured retention (reusable)."""
    return aws.cloudwatch.LogGroup(
        resource_name,
        name=physical_name,
        kms_key_id=kms_key_arn,
        retention_in_days=retention_days,
        tags=dict(tags),
        opts=opts,
    )


def audit_bucket_statements(bucket_arn: str, account_id: str, trail_arn: str) -> list[dict]:
    """Bucket-policy statements letting CloudTrail and AWS Config deliver (pure)."""
    acl = {"s3:x-amz-acl": "bucket-owner-full-control"}
    return [
        iam.statement(
            "CloudTrailAclCheck", "s3:GetBucketAcl", bucket_arn,
            principal={"Service": "cloudtrail.amazonaws.com"},
            condition={"StringEquals": {"aws:SourceArn": trail_arn}},
        ),
        iam.statement(
            "CloudTrailWrite", "s3:PutObject", f"{bucket_arn}/cloudtrail/AWSLogs/{account_id}/*",
            principal={"Service": "cloudtrail.amazonaws.com"},
            condition={"StringEquals": {**acl, "aws:SourceArn": trail_arn}},
        ),
        iam.statement(
            "ConfigAclCheck", ["s3:GetBucketAcl", "s3:ListBucket"], bucket_arn,
            principal={"Service": "config.amazonaws.com"},
            condition={"StringEquals": {"aws:SourceAccount": account_id}},
        ),
        iam.statement(
            "ConfigWrite", "s3:PutObject",
            f"{bucket_arn}/config/AWSLogs/{account_id}/Config/*",
            principal={"Service": "config.amazonaws.com"},
            condition={"StringEquals": {**acl, "aws:SourceAccount": account_id}},
        ),
    ]  # fmt: skip


@dataclass(frozen=True, kw_only=True)
class AuditArgs:
    names: NameContext
    tags: Mapping[str, str]
    logs_key_arn: pulumi.Input[str]
    access_logs_bucket: pulumi.Input[str]
    log_retention_days: int
    audit_years: int
    lock_mode: Literal["GOVERNANCE", "COMPLIANCE"] = "COMPLIANCE"
    """Object Lock mode of the audit bucket (StackConfig.audit_lock_mode)."""
    data_event_bucket_arns: Sequence[pulumi.Input[str]] = ()
    """Customer-data buckets whose object reads and writes CloudTrail records (S3 data events)."""

    def __post_init__(self) -> None:
        if not 1 <= self.audit_years <= 100:
            raise ValueError("AuditArgs.audit_years must be between 1 and 100")
        if self.lock_mode == "GOVERNANCE" and self.names.environment != "dev":
            raise ValueError(
                f"AuditArgs.lock_mode GOVERNANCE in {self.names.environment}: audit records "
                "outside dev are locked in COMPLIANCE mode"
            )


class Audit(pulumi.ComponentResource):
    def __init__(
        self, name_: str, args: AuditArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mlops:audit:Audit", name_, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        ctx = args.names
        tags = with_component(args.tags, "audit")
        trail_name = name(ctx, "trail")
        trail_arn = f"arn:aws:cloudtrail:{ctx.region}:{ctx.account_id}:trail/{trail_name}"

        self.bucket = SecureBucket(
            f"{name_}-bucket",
            SecureBucketArgs(
                bucket_name=bucket_name(ctx, "audit"),
                purpose="audit",
                kms_key_arn=args.logs_key_arn,
                tags=args.tags,
                component="audit",
                access_logs_bucket=args.access_logs_bucket,
                object_lock_retention_years=args.audit_years,
                object_lock_mode=args.lock_mode,
                noncurrent_days=args.audit_years * 365 + 1,
                extra_statements=lambda arn: audit_bucket_statements(
                    arn, ctx.account_id, trail_arn
                ),
            ),
            opts=child,
        )

        # --- CloudTrail -------------------------------------------------------------------
        self.trail_log_group = encrypted_log_group(
            f"{name_}-trail-logs",
            physical_name=log_group_name(ctx, "cloudtrail"),
            kms_key_arn=args.logs_key_arn,
            retention_days=args.log_retention_days,
            tags=tags,
            opts=child,
        )
        self.trail_role = aws.iam.Role(
            f"{name_}-trail-role",
            name=role_name(ctx, "cloudtrail-logs"),
            description="CloudTrail delivery to CloudWatch Logs",
            assume_role_policy=iam.dumps(
                iam.service_trust("cloudtrail.amazonaws.com", ctx.account_id)
            ),
            tags=tags,
            opts=child,
        )
        self.trail_role_policy = aws.iam.RolePolicy(
            f"{name_}-trail-role-policy",
            role=self.trail_role.id,
            policy=self.trail_log_group.arn.apply(
                lambda arn: iam.dumps(
                    iam.document(
                        iam.statement(
                            "DeliverTrailToLogs",
                            ["logs:CreateLogStream", "logs:PutLogEvents"],
                            f"{arn}:log-stream:*",
                        )
                    )
                )
            ),
            opts=child,
        )
        self.trail = aws.cloudtrail.Trail(
            f"{name_}-trail",
            name=trail_name,
            s3_bucket_name=self.bucket.name,
            s3_key_prefix="cloudtrail",
            is_multi_region_trail=True,
            include_global_service_events=True,
            enable_log_file_validation=True,
            enable_logging=True,
            kms_key_id=args.logs_key_arn,
            cloud_watch_logs_group_arn=self.trail_log_group.arn.apply(lambda a: f"{a}:*"),
            cloud_watch_logs_role_arn=self.trail_role.arn,
            advanced_event_selectors=_event_selectors(args.data_event_bucket_arns),
            tags=tags,
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=[self.bucket.policy, self.trail_role_policy]
            ),
        )

        # --- GuardDuty --------------------------------------------------------------------
        self.guardduty = aws.guardduty.Detector(
            f"{name_}-guardduty",
            enable=True,
            finding_publishing_frequency="FIFTEEN_MINUTES",
            tags=tags,
            opts=child,
        )
        self.guardduty_s3 = aws.guardduty.DetectorFeature(
            f"{name_}-guardduty-s3",
            detector_id=self.guardduty.id,
            name="S3_DATA_EVENTS",
            status="ENABLED",
            opts=child,
        )

        # --- AWS Config -------------------------------------------------------------------
        self.config_role = aws.iam.Role(
            f"{name_}-config-role",
            name=role_name(ctx, "config"),
            description="AWS Config recorder",
            assume_role_policy=iam.dumps(iam.service_trust("config.amazonaws.com", ctx.account_id)),
            tags=tags,
            opts=child,
        )
        # AWS-managed, read-only recorder permissions (not a FullAccess policy).
        self.config_role_managed = aws.iam.RolePolicyAttachment(
            f"{name_}-config-role-managed",
            role=self.config_role.name,
            policy_arn=AWS_CONFIG_ROLE_POLICY,
            opts=child,
        )
        self.config_role_policy = aws.iam.RolePolicy(
            f"{name_}-config-delivery",
            role=self.config_role.id,
            policy=pulumi.Output.all(self.bucket.arn, args.logs_key_arn).apply(
                lambda v: iam.dumps(
                    iam.document(
                        iam.statement("ConfigBucketAcl", "s3:GetBucketAcl", v[0]),
                        iam.statement(
                            "ConfigDeliver",
                            "s3:PutObject",
                            f"{v[0]}/config/AWSLogs/{ctx.account_id}/Config/*",
                        ),
                        iam.statement(
                            "ConfigEncrypt", ["kms:GenerateDataKey", "kms:DescribeKey"], v[1]
                        ),
                    )
                )
            ),
            opts=child,
        )
        self.recorder = aws.cfg.Recorder(
            f"{name_}-config-recorder",
            name=name(ctx, "config"),
            role_arn=self.config_role.arn,
            recording_group=aws.cfg.RecorderRecordingGroupArgs(
                all_supported=True, include_global_resource_types=True
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.config_role_managed]),
        )
        self.delivery_channel = aws.cfg.DeliveryChannel(
            f"{name_}-config-delivery-channel",
            name=name(ctx, "config"),
            s3_bucket_name=self.bucket.name,
            s3_key_prefix="config",
            s3_kms_key_arn=args.logs_key_arn,
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=[self.recorder, self.bucket.policy]
            ),
        )
        self.recorder_status = aws.cfg.RecorderStatus(
            f"{name_}-config-recorder-status",
            name=self.recorder.name,
            is_enabled=True,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.delivery_channel]),
        )
        self.rules: dict[str, aws.cfg.Rule] = {}
        for identifier, why in CONFIG_RULES.items():
            slug = identifier.lower().replace("_", "-")
            self.rules[identifier] = aws.cfg.Rule(
                f"{name_}-rule-{slug}",
                name=name(ctx, slug),
                description=f"mlops platform promise: {why}",
                source=aws.cfg.RuleSourceArgs(owner="AWS", source_identifier=identifier),
                tags=tags,
                opts=pulumi.ResourceOptions(parent=self, depends_on=[self.recorder]),
            )

        _declare_audit_delivery(self, ctx, args, trail_arn)

        # --- Inspector (Lambda functions and code) ----------------------------------------
        self.inspector = aws.inspector2.Enabler(
            f"{name_}-inspector",
            account_ids=[ctx.account_id],
            resource_types=["LAMBDA", "LAMBDA_CODE"],
            opts=child,
        )
        self.register_outputs(
            {
                "audit_bucket": self.bucket.name,
                "trail_arn": self.trail.arn,
                "guardduty_detector_id": self.guardduty.id,
            }
        )


def _declare_audit_delivery(
    audit: Audit, ctx: NameContext, args: AuditArgs, trail_arn: str
) -> None:
    """Runtime actors (mlops rehearse, audit): CloudTrail and AWS Config deliver to the audit
    bucket with the logs key; CloudTrail also streams to its log group through its role."""
    acct, region = ctx.account_id, ctx.region
    source = {"aws:SourceArn": trail_arn, "aws:SourceAccount": acct}
    trail_object = audit.bucket.arn.apply(
        lambda arn: f"{arn}/cloudtrail/AWSLogs/{acct}/CloudTrail/{region}/r.json.gz"
    )
    declare.actor(
        flow="audit",
        step="CloudTrail delivers log files",
        order=10,
        principal=declare.service_principal("cloudtrail.amazonaws.com"),
        account=acct,
        origin=declare.AWS_SERVICE,
        context=source,
        calls=[
            declare.call("s3:GetBucketAcl", audit.bucket.arn),
            declare.call(
                "s3:PutObject",
                trail_object,
                context={
                    "s3:x-amz-acl": "bucket-owner-full-control",
                    "s3:x-amz-server-side-encryption": "aws:kms",
                    "s3:x-amz-server-side-encryption-aws-kms-key-id": args.logs_key_arn,
                },
            ),
            declare.call(
                "kms:GenerateDataKey",
                args.logs_key_arn,
                context={"kms:EncryptionContext:aws:cloudtrail:arn": trail_arn},
                why="log files are SSE-KMS with the logs key",
            ),
            declare.call("kms:DescribeKey", args.logs_key_arn),
        ],
    )
    declare.service_assumes(
        flow="audit",
        step="CloudTrail takes its CloudWatch Logs role",
        service="cloudtrail.amazonaws.com",
        role_arn=audit.trail_role.arn,
        account=acct,
        source_arn=trail_arn,
        order=20,
    )
    declare.actor(
        flow="audit",
        step="CloudTrail streams events to its log group",
        order=21,
        principal=audit.trail_role.arn,
        account=acct,
        origin=declare.AWS_SERVICE,
        calls=[
            declare.call(
                "logs:CreateLogStream",
                audit.trail_log_group.arn.apply(
                    lambda arn: f"{arn}:log-stream:{acct}_CloudTrail_{region}"
                ),
            ),
            declare.call(
                "logs:PutLogEvents",
                audit.trail_log_group.arn.apply(
                    lambda arn: f"{arn}:log-stream:{acct}_CloudTrail_{region}"
                ),
            ),
        ],
    )
    declare.service_assumes(
        flow="audit",
        step="AWS Config takes the recorder role",
        service="config.amazonaws.com",
        role_arn=audit.config_role.arn,
        account=acct,
        order=30,
    )
    declare.actor(
        flow="audit", step="AWS Config delivers snapshots and history", order=31,
        principal=audit.config_role.arn, account=acct, origin=declare.AWS_SERVICE,
        calls=[
            declare.call("s3:GetBucketAcl", audit.bucket.arn),
            declare.call(
                "s3:PutObject",
                audit.bucket.arn.apply(lambda arn: f"{arn}/config/AWSLogs/{acct}/Config/r.json.gz"),
                context={
                    "s3:x-amz-acl": "bucket-owner-full-control",
                    "s3:x-amz-server-side-encryption": "aws:kms",
                    "s3:x-amz-server-side-encryption-aws-kms-key-id": args.logs_key_arn,
                },
            ),
        ],
    )  # fmt: skip


def _event_selectors(
    data_bucket_arns: Sequence[pulumi.Input[str]],
) -> list[aws.cloudtrail.TrailAdvancedEventSelectorArgs]:
    field = aws.cloudtrail.TrailAdvancedEventSelectorFieldSelectorArgs
    selectors = [
        aws.cloudtrail.TrailAdvancedEventSelectorArgs(
            name="all management events",
            field_selectors=[field(field="eventCategory", equals=["Management"])],
        )
    ]
    if data_bucket_arns:
        selectors.append(
            aws.cloudtrail.TrailAdvancedEventSelectorArgs(
                name="customer-data object access",
                field_selectors=[
                    field(field="eventCategory", equals=["Data"]),
                    field(field="resources.type", equals=["AWS::S3::Object"]),
                    field(
                        field="resources.ARN",
                        starts_withs=[
                            pulumi.Output.from_input(arn).apply(lambda a: f"{a}/")
                            for arn in data_bucket_arns
                        ],
                    ),
                ],
            )
        )
    return selectors
