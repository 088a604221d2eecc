"""S3 storage: `SecureBucket` (one secure bucket, reusable) and `Storage` (the platform's buckets).

Every `SecureBucket` has, as separate pulumi-aws 7 resources: SSE-KMS with a bucket key (not in
the shared multi-tenant buckets: there each object's encryption context is its ARN), versioning,
all four public-access blocks, object ownership enforced (ACLs off), a bucket policy (TLS only,
KMS-only uploads, optional need-to-know and cross-account read), lifecycle rules and server
access logging to the access-logs bucket.

Uploads that name an encryption must name `aws:kms` and this bucket's key by its ARN (the
policy compares ARNs); uploads without SSE headers get the default (this key) and are accepted.

Reuse it for any bucket::

    from mlops.components.storage import SecureBucket, SecureBucketArgs
    bucket = SecureBucket("remedy-features", SecureBucketArgs(
        bucket_name=naming.bucket_name(ctx, "remedy-features"), purpose="remedy-features",
        kms_key_arn=keys.data.arn, access_logs_bucket=storage.access_logs.name, tags=tags))
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import pulumi
import pulumi_aws as aws

from mlops import iam
from mlops.naming import SHARED_BUCKET_PURPOSES, NameContext, bucket_name, is_shared_bucket
from mlops.tags import with_component

ABORT_MULTIPART_DAYS = 7


@dataclass(frozen=True, kw_only=True)
class SecureBucketArgs:
    bucket_name: str
    """Physical name, from `mlops.naming.bucket_name` (includes account, region and stack)."""
    purpose: str
    kms_key_arn: pulumi.Input[str]
    tags: Mapping[str, str]
    access_logs_bucket: pulumi.Input[str] | None = None
    """Target of server access logs. None only for the access-logs bucket itself."""
    is_access_log_target: bool = False
    """This bucket receives S3 server access logs (the logging service may write to it)."""
    noncurrent_days: int = 90
    expire_days: int | None = None
    """Expire current objects after this many days (logs); None keeps them."""
    need_to_know_roles: Sequence[str] = ()
    """Role ARNs that alone may read/write objects; every other principal is denied (customer
    data in staging/prod)."""
    need_to_know_managers: Sequence[str] = ()
    """Principal ARNs that may also list a need-to-know bucket (the deployer: the provider reads
    the bucket back with HeadBucket, i.e. s3:ListBucket); never its objects."""
    cross_account_readers: Mapping[str, Sequence[str]] = field(default_factory=dict)
    """{account_id: [role ARNs]} with read-only access (dev artifacts read by staging/prod)."""
    extra_statements: Callable[[str], list[iam.Statement]] | None = None
    """Extra bucket-policy statements, given the bucket ARN (e.g. CloudTrail delivery)."""
    object_lock_retention_years: int | None = None
    """Object Lock with this default retention (audit bucket), in `object_lock_mode`."""
    object_lock_mode: Literal["GOVERNANCE", "COMPLIANCE"] = "GOVERNANCE"
    bucket_key: bool = True
    """S3 Bucket Key (fewer KMS requests; the encryption context is then the bucket ARN). False
    only for the shared multi-tenant buckets (`naming.is_shared_bucket`): each object's context is
    its own ARN, so key grants can be scoped to a use case's prefix."""
    component: str = "storage"
    force_destroy: bool = False

    def __post_init__(self) -> None:
        if not self.bucket_name or len(self.bucket_name) > 63:
            raise ValueError(f"SecureBucketArgs.bucket_name {self.bucket_name!r}: 1-63 chars")
        if self.access_logs_bucket is None and not self.is_access_log_target:
            raise ValueError(
                f"SecureBucketArgs.access_logs_bucket is required for {self.bucket_name!r}: pass "
                "the access-logs bucket name (Storage.access_logs.name)"
            )
        if self.noncurrent_days < 1:
            raise ValueError("SecureBucketArgs.noncurrent_days must be >= 1")
        if not self.bucket_key and not is_shared_bucket(self.bucket_name):
            raise ValueError(
                f"SecureBucketArgs.bucket_key=False for {self.bucket_name!r}: only the shared "
                f"multi-tenant buckets ({', '.join(SHARED_BUCKET_PURPOSES)}) turn it off"
            )
        lock_days = (self.object_lock_retention_years or 0) * 365
        if self.expire_days is not None and self.expire_days < lock_days:
            raise ValueError("expire_days is shorter than the Object Lock retention")


class SecureBucket(pulumi.ComponentResource):
    """One S3 bucket with the platform's security baseline."""

    def __init__(
        self, name: str, args: SecureBucketArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mlops:storage:SecureBucket", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        locked = args.object_lock_retention_years is not None

        self.bucket = aws.s3.Bucket(
            f"{name}-bucket",
            bucket=args.bucket_name,
            object_lock_enabled=True if locked else None,
            force_destroy=args.force_destroy,
            tags=with_component(args.tags, args.component, purpose=args.purpose),
            opts=child,
        )
        self.name: pulumi.Output[str] = self.bucket.bucket
        self.arn: pulumi.Output[str] = self.bucket.arn

        self.ownership = aws.s3.BucketOwnershipControls(
            f"{name}-ownership",
            bucket=self.bucket.id,
            rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"),
            opts=child,
        )
        self.public_access_block = aws.s3.BucketPublicAccessBlock(
            f"{name}-public-access-block",
            bucket=self.bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=child,
        )
        self.encryption = aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-encryption",
            # the physical name (the bucket's id), known at preview: CrossGuard's bucket-key rule
            # admits the shared buckets by it
            bucket=args.bucket_name,
            rules=[
                aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                    apply_server_side_encryption_by_default=aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                        sse_algorithm="aws:kms", kms_master_key_id=args.kms_key_arn
                    ),
                    bucket_key_enabled=args.bucket_key,
                )
            ],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.bucket]),
        )
        self.versioning = aws.s3.BucketVersioning(
            f"{name}-versioning",
            bucket=self.bucket.id,
            versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(
                status="Enabled"
            ),
            opts=child,
        )
        self.object_lock = None
        if locked:
            self.object_lock = aws.s3.BucketObjectLockConfiguration(
                f"{name}-object-lock",
                bucket=self.bucket.id,
                object_lock_enabled="Enabled",
                rule=aws.s3.BucketObjectLockConfigurationRuleArgs(
                    default_retention=aws.s3.BucketObjectLockConfigurationRuleDefaultRetentionArgs(
                        mode=args.object_lock_mode, years=args.object_lock_retention_years
                    )
                ),
                opts=pulumi.ResourceOptions(parent=self, depends_on=[self.versioning]),
            )

        def policy_json(values: list) -> str:
            arn, key_arn = values
            extra = list(args.extra_statements(arn)) if args.extra_statements else []
            if args.is_access_log_target:
                # The logging service writes without SSE headers; default encryption applies.
                extra.insert(0, iam.access_log_delivery(arn, _account_of(args)))
            return iam.dumps(
                iam.bucket_policy(
                    arn,
                    key_arn,
                    need_to_know_roles=args.need_to_know_roles,
                    need_to_know_managers=args.need_to_know_managers,
                    cross_account_readers=args.cross_account_readers,
                    extra=extra,
                )
            )

        self.policy = aws.s3.BucketPolicy(
            f"{name}-policy",
            bucket=self.bucket.id,
            policy=pulumi.Output.all(self.bucket.arn, args.kms_key_arn).apply(policy_json),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.public_access_block]),
        )

        self.lifecycle = aws.s3.BucketLifecycleConfiguration(
            f"{name}-lifecycle",
            bucket=self.bucket.id,
            rules=_lifecycle_rules(args),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.versioning]),
        )

        self.logging = None
        if args.access_logs_bucket is not None:
            self.logging = aws.s3.BucketLogging(
                f"{name}-logging",
                bucket=self.bucket.id,
                target_bucket=args.access_logs_bucket,
                target_prefix=f"{args.purpose}/",
                opts=child,
            )
        self.register_outputs({"bucket": self.name, "arn": self.arn})


def _account_of(args: SecureBucketArgs) -> str:
    """Account id from the physical name (`...-<account>-<region>`), made by naming.bucket_name."""
    for part in args.bucket_name.split("-"):
        if len(part) == 12 and part.isdigit():
            return part
    raise ValueError(
        f"bucket {args.bucket_name!r} has no account id; make names with naming.bucket_name"
    )


def _lifecycle_rules(args: SecureBucketArgs) -> list[aws.s3.BucketLifecycleConfigurationRuleArgs]:
    every = aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix="")
    rules = [
        aws.s3.BucketLifecycleConfigurationRuleArgs(
            id="abort-incomplete-multipart",
            status="Enabled",
            filter=every,
            abort_incomplete_multipart_upload=aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
                days_after_initiation=ABORT_MULTIPART_DAYS
            ),
        ),
        aws.s3.BucketLifecycleConfigurationRuleArgs(
            id="expire-noncurrent-versions",
            status="Enabled",
            filter=every,
            noncurrent_version_expiration=aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
                noncurrent_days=args.noncurrent_days
            ),
        ),
    ]
    if args.expire_days is not None:
        rules.append(
            aws.s3.BucketLifecycleConfigurationRuleArgs(
                id="expire-current",
                status="Enabled",
                filter=every,
                expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(
                    days=args.expire_days
                ),
            )
        )
    return rules


# --- the platform's buckets -------------------------------------------------------------------
# purpose -> (key purpose, holds customer data)
BUCKETS: dict[str, tuple[str, bool]] = {
    "data": ("data", True),
    "model-artifacts": ("artifacts", False),
    "pipeline-artifacts": ("artifacts", False),
    "analytics-landing": ("data", True),
}


@dataclass(frozen=True, kw_only=True)
class StorageArgs:
    names: NameContext
    tags: Mapping[str, str]
    key_arns: Mapping[str, pulumi.Input[str]]
    """KMS key ARN per key purpose: data, artifacts, logs (Keys.arns())."""
    noncurrent_days: int
    access_log_days: int
    need_to_know_roles: Mapping[str, Sequence[str]] = field(default_factory=dict)
    """{bucket purpose: [role ARNs]}; staging/prod customer-data buckets must have an entry."""
    bucket_managers: Sequence[str] = ()
    """Who deploys the buckets (the deployer role): may list need-to-know buckets, not read them."""
    model_reader_grants: Sequence[iam.Statement] = ()
    """Bucket-policy side of the artifact contract (dev only): who in other accounts may read
    registered models in model-artifacts (`mlops.delivery.artifacts.bucket_grants`)."""

    def __post_init__(self) -> None:
        missing = {"data", "artifacts", "logs"} - set(self.key_arns)
        if missing:
            raise ValueError(f"StorageArgs.key_arns is missing {sorted(missing)}")
        unknown = set(self.need_to_know_roles) - set(BUCKETS)
        if unknown:
            raise ValueError(f"StorageArgs.need_to_know_roles: unknown buckets {sorted(unknown)}")
        if self.names.environment != "dev":
            lacking = [
                p for p, (_, pii) in BUCKETS.items() if pii and not self.need_to_know_roles.get(p)
            ]
            if lacking:
                raise ValueError(
                    f"StorageArgs.need_to_know_roles: {self.names.environment} buckets {lacking} "
                    "hold customer data and must name the roles that may read them"
                )
            if not self.bucket_managers:
                raise ValueError(
                    "StorageArgs.bucket_managers: name the deployer role of this stack (it reads "
                    "the need-to-know buckets back with HeadBucket, which needs s3:ListBucket)"
                )


class Storage(pulumi.ComponentResource):
    """Access-logs, data, model-artifacts, pipeline-artifacts and analytics-landing buckets."""

    def __init__(
        self, name: str, args: StorageArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mlops:storage:Storage", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        ctx = args.names
        self.access_logs = SecureBucket(
            f"{name}-access-logs",
            SecureBucketArgs(
                bucket_name=bucket_name(ctx, "access-logs"),
                purpose="access-logs",
                kms_key_arn=args.key_arns["logs"],
                tags=args.tags,
                is_access_log_target=True,
                noncurrent_days=args.noncurrent_days,
                expire_days=args.access_log_days,
            ),
            opts=child,
        )
        self.buckets: dict[str, SecureBucket] = {"access-logs": self.access_logs}
        for purpose, (key_purpose, _pii) in BUCKETS.items():
            self.buckets[purpose] = SecureBucket(
                f"{name}-{purpose}",
                SecureBucketArgs(
                    bucket_name=bucket_name(ctx, purpose),
                    purpose=purpose,
                    kms_key_arn=args.key_arns[key_purpose],
                    tags=args.tags,
                    access_logs_bucket=self.access_logs.name,
                    noncurrent_days=args.noncurrent_days,
                    need_to_know_roles=tuple(args.need_to_know_roles.get(purpose, ())),
                    need_to_know_managers=tuple(args.bucket_managers),
                    bucket_key=purpose not in SHARED_BUCKET_PURPOSES,
                    extra_statements=(
                        (lambda _arn, grants=tuple(args.model_reader_grants): list(grants))
                        if purpose == "model-artifacts" and args.model_reader_grants
                        else None
                    ),
                ),
                opts=child,
            )
        self.register_outputs({p: b.name for p, b in self.buckets.items()})

    @property
    def data(self) -> SecureBucket:
        return self.buckets["data"]

    @property
    def model_artifacts(self) -> SecureBucket:
        return self.buckets["model-artifacts"]

    @property
    def pipeline_artifacts(self) -> SecureBucket:
        return self.buckets["pipeline-artifacts"]

    @property
    def analytics_landing(self) -> SecureBucket:
        return self.buckets["analytics-landing"]

    def names(self) -> dict[str, pulumi.Output[str]]:
        return {p: b.name for p, b in self.buckets.items()}
