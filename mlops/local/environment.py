"""The local equivalents of what the platform provisions for one use case, on the embedded AWS.

Same physical names as the cloud (from `mlops.naming`), same shapes: one customer-managed KMS key
per purpose, the platform's buckets with SSE-KMS, bucket keys, versioning and a full public-access
block, and the use case's model package group. The decision-event stream (Logs → Firehose → S3)
comes from `mlops.local.analytics_stream`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mlops import naming
from mlops.components.keys import PURPOSES as KEY_PURPOSES
from mlops.components.storage import BUCKETS
from mlops.local.embedded_aws import EmbeddedAWS

LOCAL_ACCOUNT = "123456789012"  # moto's default account id


@dataclass
class LocalPlatform:
    """What `provision` created: names and ARNs the demo and the rendered repos use."""

    ctx: naming.NameContext
    usecase: str
    key_arns: dict[str, str] = field(default_factory=dict)
    buckets: dict[str, str] = field(default_factory=dict)
    model_package_group: str = ""

    def summary(self) -> dict[str, Any]:
        return {
            "kms_keys": self.key_arns,
            "buckets": self.buckets,
            "model_package_group": self.model_package_group,
        }


def local_context(region: str) -> naming.NameContext:
    return naming.NameContext(environment="local", account_id=LOCAL_ACCOUNT, region=region)


def _create_key(kms: Any, ctx: naming.NameContext, purpose: str) -> str:
    key = kms.create_key(
        Description=f"mlops local: {purpose}",
        Tags=[{"TagKey": "purpose", "TagValue": purpose}],
    )["KeyMetadata"]
    kms.enable_key_rotation(KeyId=key["KeyId"])
    kms.create_alias(AliasName=naming.key_alias(ctx, purpose), TargetKeyId=key["KeyId"])
    return key["Arn"]


def _create_bucket(s3: Any, name: str, key_arn: str, region: str) -> None:
    s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": region})
    s3.put_bucket_encryption(
        Bucket=name,
        ServerSideEncryptionConfiguration={
            "Rules": [
                {
                    "ApplyServerSideEncryptionByDefault": {
                        "SSEAlgorithm": "aws:kms",
                        "KMSMasterKeyID": key_arn,
                    },
                    "BucketKeyEnabled": True,
                }
            ]
        },
    )
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    s3.put_public_access_block(
        Bucket=name,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )


def provision(aws: EmbeddedAWS, usecase: str) -> LocalPlatform:
    """Create keys, buckets and the use case's model package group. Idempotent per server."""
    ctx = local_context(aws.region)
    platform = LocalPlatform(ctx=ctx, usecase=usecase)
    kms, s3, sm = aws.client("kms"), aws.client("s3"), aws.client("sagemaker")
    aliases = {a["AliasName"]: a.get("TargetKeyId") for a in kms.list_aliases()["Aliases"]}
    for purpose in KEY_PURPOSES:
        alias = naming.key_alias(ctx, purpose)
        if alias in aliases:
            platform.key_arns[purpose] = kms.describe_key(KeyId=alias)["KeyMetadata"]["Arn"]
        else:
            platform.key_arns[purpose] = _create_key(kms, ctx, purpose)
    existing = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
    for purpose, (key_purpose, _customer_data) in BUCKETS.items():
        name = naming.bucket_name(ctx, purpose)
        if name not in existing:
            _create_bucket(s3, name, platform.key_arns[key_purpose], aws.region)
        platform.buckets[purpose] = name
    group = naming.model_package_group_name(ctx, usecase)
    groups = sm.list_model_package_groups(NameContains=group)["ModelPackageGroupSummaryList"]
    if not any(g["ModelPackageGroupName"] == group for g in groups):
        sm.create_model_package_group(
            ModelPackageGroupName=group,
            ModelPackageGroupDescription=f"{usecase}: models registered by its training pipeline",
        )
    platform.model_package_group = group
    return platform
