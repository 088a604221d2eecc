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

GuardDuty's detector, the Config recorder and delivery channel, the trail and Inspector are one per
account and region, and in an organisation usually belong to Control Tower or a delegated
administrator. `AuditArgs.landing_zone` says per service who owns it: `create` (this stack; a
fresh account), `adopt` (import the existing one with pulumi's `import_` and manage it from then
on; it stays in place if the stack is destroyed) or `organization` (nothing is created for it;
the organisation's trail, recorder and detector do the job). The audit bucket, the Config rules
that check the platform's promises and the runtime actors follow what this stack owns.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import pulumi
import pulumi_aws as aws

from mlops import iam
from mlops.components.logs import encrypted_log_group
from mlops.components.storage import SecureBucket, SecureBucketArgs
from mlops.config import LandingZone
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


def audit_bucket_statements(
    bucket_arn: str,
    account_id: str,
    trail_arn: str | None,
    *,
    config_delivery: bool = True,
) -> list[dict]:
    """Bucket-policy statements letting CloudTrail (when `trail_arn`: the trail this stack
    creates) and AWS Config (when `config_delivery`) deliver (pure)."""
    acl = {"s3:x-amz-acl": "bucket-owner-full-control"}
    trail = [
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
    ] if trail_arn else []  # fmt: skip
    config = [
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
    ] if config_delivery else []  # fmt: skip
    return trail + config


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
    landing_zone: LandingZone = field(default_factory=LandingZone)
    """Who owns each account-level audit service (StackConfig.landing_zone)."""

    def __post_init__(self) -> None:
        if not 1 <= self.audit_years <= 100:
            raise ValueError("AuditArgs.audit_years must be between 1 and 100")
        if self.lock_mode == "GOVERNANCE" and self.names.environment != "dev":
            raise ValueError(
                f"AuditArgs.lock_mode GOVERNANCE in {self.names.environment}: audit records "
                "outside dev are locked in COMPLIANCE mode"
            )


def _owned(mode: str, adopt_id: str | None, parent: pulumi.Resource,
           depends_on: Sequence[pulumi.Resource] = ()) -> pulumi.ResourceOptions:  # fmt: skip
    """Options of a landing-zone singleton: imported (and left in place on destroy) when adopted."""
    if mode == "adopt":
        return pulumi.ResourceOptions(
            parent=parent, depends_on=list(depends_on), import_=adopt_id, retain_on_delete=True
        )
    return pulumi.ResourceOptions(parent=parent, depends_on=list(depends_on))


class Audit(pulumi.ComponentResource):
    def __init__(
        self, name_: str, args: AuditArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mlops:audit:Audit", name_, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        ctx = args.names
        tags = with_component(args.tags, "audit")
        lz = args.landing_zone
        self.landing_zone = lz
        trail_mode, config_mode = lz.cloudtrail.mode, lz.config.mode
        trail_name = lz.cloudtrail.trail_name or name(ctx, "trail")
        trail_arn = f"arn:aws:cloudtrail:{ctx.region}:{ctx.account_id}:trail/{trail_name}"
        # Only what this stack creates delivers to its audit bucket (an adopted trail or recorder
        # keeps delivering where it did; the organisation's deliver to the organisation's bucket).
        own_trail = trail_mode == "create"
        own_config = config_mode == "create"

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
                    arn,
                    ctx.account_id,
                    trail_arn if own_trail else None,
                    config_delivery=own_config,
                ),
            ),
            opts=child,
        )

        # --- CloudTrail -------------------------------------------------------------------
        self.trail_log_group = self.trail_role = self.trail_role_policy = self.trail = None
        if trail_mode != "organization":
            self._trail(name_, args, tags, trail_name, trail_mode)

        # --- GuardDuty --------------------------------------------------------------------
        self.guardduty = self.guardduty_s3 = None
        if lz.guardduty.mode != "organization":
            self.guardduty = aws.guardduty.Detector(
                f"{name_}-guardduty",
                enable=True,
                finding_publishing_frequency="FIFTEEN_MINUTES",
                tags=tags,
                opts=_owned(lz.guardduty.mode, lz.guardduty.detector_id, self),
            )
            # A feature of an existing detector is an update (UpdateDetector), never an import.
            self.guardduty_s3 = aws.guardduty.DetectorFeature(
                f"{name_}-guardduty-s3",
                detector_id=self.guardduty.id,
                name="S3_DATA_EVENTS",
                status="ENABLED",
                opts=child,
            )

        # --- AWS Config -------------------------------------------------------------------
        self.config_role = self.config_role_managed = self.config_role_policy = None
        self.recorder = self.delivery_channel = self.recorder_status = None
        if config_mode != "organization":
            self._config(name_, args, tags, config_mode)
        # The rules check this platform's promises; they use whichever recorder the account has.
        self.rules: dict[str, aws.cfg.Rule] = {}
        for identifier, why in CONFIG_RULES.items():
            slug = identifier.lower().replace("_", "-")
            self.rules[identifier] = aws.cfg.Rule(
                f"{name_}-rule-{slug}",
                name=name(ctx, slug),
                description=f"mlops platform promise: {why}",
                source=aws.cfg.RuleSourceArgs(owner="AWS", source_identifier=identifier),
                tags=tags,
                opts=pulumi.ResourceOptions(
                    parent=self, depends_on=[self.recorder_status] if self.recorder_status else []
                ),
            )

        _declare_audit_delivery(self, ctx, args, trail_arn, trail=own_trail, config=own_config)

        # --- Inspector (Lambda functions and code) ----------------------------------------
        self.inspector = None
        if lz.inspector.mode != "organization":
            resource_types = ["LAMBDA", "LAMBDA_CODE"]
            self.inspector = aws.inspector2.Enabler(
                f"{name_}-inspector",
                account_ids=[ctx.account_id],
                resource_types=resource_types,
                # import id: <account ids>-<resource types>, each sorted (pulumi-aws docs)
                opts=_owned(
                    lz.inspector.mode, f"{ctx.account_id}-{':'.join(sorted(resource_types))}", self
                ),
            )
        self.register_outputs(
            {
                "audit_bucket": self.bucket.name,
                "trail_arn": self.trail.arn if self.trail else None,
                "guardduty_detector_id": self.guardduty.id if self.guardduty else None,
                "landing_zone": {
                    "guardduty": lz.guardduty.mode,
                    "config": config_mode,
                    "cloudtrail": trail_mode,
                    "inspector": lz.inspector.mode,
                },
            }
        )

    def _trail(
        self, name_: str, args: AuditArgs, tags: Mapping[str, str], trail_name: str, mode: str
    ) -> None:
        ctx = args.names
        child = pulumi.ResourceOptions(parent=self)
        adopted = mode == "adopt"
        # An adopted trail keeps delivering where it did (its bucket, log group and role belong
        # to whoever made it): those properties are not ours to change on import.
        delivery = [
            "s3BucketName",
            "s3KeyPrefix",
            "cloudWatchLogsGroupArn",
            "cloudWatchLogsRoleArn",
            "kmsKeyId",
            "advancedEventSelectors",
            "tags",
        ]
        if not adopted:
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
            cloud_watch_logs_group_arn=(
                None if adopted else self.trail_log_group.arn.apply(lambda a: f"{a}:*")
            ),
            cloud_watch_logs_role_arn=None if adopted else self.trail_role.arn,
            advanced_event_selectors=_event_selectors(args.data_event_bucket_arns),
            tags=tags,
            opts=_owned(
                mode,
                args.landing_zone.cloudtrail.trail_arn,
                self,
                depends_on=[] if adopted else [self.bucket.policy, self.trail_role_policy],
            ).merge(pulumi.ResourceOptions(ignore_changes=delivery if adopted else None)),
        )

    def _config(self, name_: str, args: AuditArgs, tags: Mapping[str, str], mode: str) -> None:
        ctx = args.names
        child = pulumi.ResourceOptions(parent=self)
        lz = args.landing_zone.config
        adopted = mode == "adopt"
        if not adopted:
            self.config_role = aws.iam.Role(
                f"{name_}-config-role",
                name=role_name(ctx, "config"),
                description="AWS Config recorder",
                assume_role_policy=iam.dumps(
                    iam.service_trust("config.amazonaws.com", ctx.account_id)
                ),
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
        # An adopted recorder keeps its role and its channel its bucket (not ours to change);
        # recording everything, with global resources, is the platform's bar and stays declared.
        recorder_name = lz.recorder_name or name(ctx, "config")
        self.recorder = aws.cfg.Recorder(
            f"{name_}-config-recorder",
            name=recorder_name,
            role_arn=self.config_role.arn if self.config_role else config_slr_arn(ctx.account_id),
            recording_group=aws.cfg.RecorderRecordingGroupArgs(
                all_supported=True, include_global_resource_types=True
            ),
            opts=_owned(
                mode,
                lz.recorder_name,
                self,
                depends_on=[self.config_role_managed] if not adopted else [],
            ).merge(pulumi.ResourceOptions(ignore_changes=["roleArn"] if adopted else None)),
        )
        self.delivery_channel = aws.cfg.DeliveryChannel(
            f"{name_}-config-delivery-channel",
            name=lz.delivery_channel_name or name(ctx, "config"),
            s3_bucket_name=self.bucket.name,
            s3_key_prefix="config",
            s3_kms_key_arn=args.logs_key_arn,
            opts=_owned(
                mode,
                lz.delivery_channel_name,
                self,
                depends_on=[self.recorder] if adopted else [self.recorder, self.bucket.policy],
            ).merge(
                pulumi.ResourceOptions(
                    ignore_changes=["s3BucketName", "s3KeyPrefix", "s3KmsKeyArn"]
                    if adopted
                    else None
                )
            ),
        )
        self.recorder_status = aws.cfg.RecorderStatus(
            f"{name_}-config-recorder-status",
            name=self.recorder.name,
            is_enabled=True,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.delivery_channel]),
        )


def config_slr_arn(account_id: str) -> str:
    """AWS Config's service-linked role: the declared role of an adopted recorder (the import
    keeps the recorder's own role: `roleArn` is in its ignore_changes)."""
    return (
        f"arn:aws:iam::{account_id}:role/aws-service-role/config.amazonaws.com/"
        "AWSServiceRoleForConfig"
    )


def _declare_audit_delivery(
    audit: Audit, ctx: NameContext, args: AuditArgs, trail_arn: str, *, trail: bool, config: bool
) -> None:
    """Runtime actors (mlops rehearse, audit): CloudTrail and AWS Config deliver to the audit
    bucket with the logs key; CloudTrail also streams to its log group through its role. Only
    for the services this stack creates (`trail`, `config`): an adopted or the organisation's
    trail and recorder deliver where they always did."""
    acct, region = ctx.account_id, ctx.region
    source = {"aws:SourceArn": trail_arn, "aws:SourceAccount": acct}
    trail_object = audit.bucket.arn.apply(
        lambda arn: f"{arn}/cloudtrail/AWSLogs/{acct}/CloudTrail/{region}/r.json.gz"
    )
    if trail:
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
    if config:
        declare.service_assumes(
            flow="audit",
            step="AWS Config takes the recorder role",
            service="config.amazonaws.com",
            role_arn=audit.config_role.arn,
            account=acct,
            order=30,
        )
        declare.actor(
            flow="audit",
            step="AWS Config delivers snapshots and history",
            order=31,
            principal=audit.config_role.arn,
            account=acct,
            origin=declare.AWS_SERVICE,
            calls=[
                declare.call("s3:GetBucketAcl", audit.bucket.arn),
                declare.call(
                    "s3:PutObject",
                    audit.bucket.arn.apply(
                        lambda arn: f"{arn}/config/AWSLogs/{acct}/Config/r.json.gz"
                    ),
                    context={
                        "s3:x-amz-acl": "bucket-owner-full-control",
                        "s3:x-amz-server-side-encryption": "aws:kms",
                        "s3:x-amz-server-side-encryption-aws-kms-key-id": args.logs_key_arn,
                    },
                ),
            ],
        )


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
