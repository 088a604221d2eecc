"""The decision-event stream on embedded AWS (moto): Logs → subscription → Firehose → S3.

The same shape as the cloud component (:mod:`mlops.components.analytics`): the decision API's log
group, a subscription filter with the use case's ``EventRegistry.subscription_filter_pattern``, a
Firehose delivery stream writing to a KMS-encrypted landing bucket, and `refresh` loading new
objects into the embedded DuckDB warehouse. Works against moto server (``endpoint_url``) or
in-process ``moto.mock_aws`` (``endpoint_url=None``).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlops import iam, naming
from mlops.analytics.warehouse import RefreshResult, S3ObjectStore, Warehouse
from mlops.errors import MlopsError
from mlops.events import EventRegistry, landing_prefix

LOCAL_ACCOUNT = "123456789012"  # moto's default account
LOCAL_REGION = "eu-west-2"
MAX_BATCH = 1000  # log events per PutLogEvents call


class StreamError(MlopsError):
    """The local analytics stream is missing or unreachable."""


@dataclass(frozen=True)
class StreamNames:
    log_group: str
    log_stream: str
    filter_name: str
    delivery_stream: str
    bucket: str
    firehose_role: str
    logs_role: str
    kms_alias: str
    prefix: str
    error_prefix: str


def stream_names(ctx: naming.NameContext, usecase: str = "remedy") -> StreamNames:
    """Physical names of the stream's resources (from :mod:`mlops.naming`, cloud and local)."""
    return StreamNames(
        log_group=naming.log_group_name(ctx, usecase, "decisions"),
        log_stream="decision-api",
        filter_name=naming.usecase_name(ctx, usecase, "decision-events"),
        delivery_stream=naming.usecase_name(ctx, usecase, "decision-events"),
        bucket=naming.bucket_name(ctx, "analytics-landing"),
        firehose_role=naming.role_name(ctx, usecase, "analytics-firehose"),
        logs_role=naming.role_name(ctx, usecase, "analytics-logs"),
        kms_alias="alias/" + naming.name(ctx, "analytics"),
        prefix=landing_prefix(usecase),
        error_prefix=f"decision-events-errors/{usecase}/",
    )


def local_context(environment: str = "local") -> naming.NameContext:
    return naming.NameContext(
        environment=environment, account_id=LOCAL_ACCOUNT, region=LOCAL_REGION
    )


def clients(endpoint_url: str | None, region: str = LOCAL_REGION) -> dict[str, Any]:
    """boto3 clients for the stream; fake credentials when talking to a local endpoint."""
    import boto3

    kwargs: dict[str, Any] = {"region_name": region}
    if endpoint_url:
        kwargs |= {
            "endpoint_url": endpoint_url,
            "aws_access_key_id": "testing",
            "aws_secret_access_key": "testing",
        }
    return {svc: boto3.client(svc, **kwargs) for svc in ("logs", "firehose", "s3", "kms", "iam")}


def _trust(service: str) -> str:
    return json.dumps(iam.service_trust(service))


class LocalAnalyticsStream:
    """Provision and use the local stream. All methods are idempotent."""

    def __init__(
        self,
        aws: dict[str, Any],
        names: StreamNames | None = None,
        *,
        events: EventRegistry,
    ) -> None:
        self.aws = aws
        self.events = events
        self.names = names or stream_names(local_context())

    # --- provisioning -----------------------------------------------------------------------

    def _role(self, name: str, service: str) -> str:
        iam = self.aws["iam"]
        try:
            return iam.get_role(RoleName=name)["Role"]["Arn"]
        except iam.exceptions.NoSuchEntityException:
            return iam.create_role(RoleName=name, AssumeRolePolicyDocument=_trust(service))["Role"][
                "Arn"
            ]

    def _kms_key(self) -> str:
        kms = self.aws["kms"]
        aliases = kms.list_aliases()["Aliases"]
        for alias in aliases:
            if alias["AliasName"] == self.names.kms_alias and "TargetKeyId" in alias:
                return kms.describe_key(KeyId=alias["TargetKeyId"])["KeyMetadata"]["Arn"]
        key = kms.create_key(Description="mlops local analytics stream")["KeyMetadata"]
        kms.create_alias(AliasName=self.names.kms_alias, TargetKeyId=key["KeyId"])
        return key["Arn"]

    def provision(self) -> dict[str, str]:
        """Create the key, bucket, roles, delivery stream, log group and subscription filter."""
        n, s3, logs, firehose = self.names, self.aws["s3"], self.aws["logs"], self.aws["firehose"]
        key_arn = self._kms_key()
        region = s3.meta.region_name
        existing = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
        if n.bucket not in existing:
            # The local environment normally creates the platform's landing bucket (with the
            # platform data key); only when it has not do we create one here, just as secure.
            s3.create_bucket(
                Bucket=n.bucket, CreateBucketConfiguration={"LocationConstraint": region}
            )
            s3.put_bucket_encryption(
                Bucket=n.bucket,
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
            s3.put_public_access_block(
                Bucket=n.bucket,
                PublicAccessBlockConfiguration={
                    "BlockPublicAcls": True,
                    "IgnorePublicAcls": True,
                    "BlockPublicPolicy": True,
                    "RestrictPublicBuckets": True,
                },
            )
        firehose_role = self._role(n.firehose_role, "firehose.amazonaws.com")
        logs_role = self._role(n.logs_role, "logs.amazonaws.com")
        streams = firehose.list_delivery_streams()["DeliveryStreamNames"]
        if n.delivery_stream not in streams:
            firehose.create_delivery_stream(
                DeliveryStreamName=n.delivery_stream,
                DeliveryStreamType="DirectPut",
                ExtendedS3DestinationConfiguration={
                    "RoleARN": firehose_role,
                    "BucketARN": f"arn:aws:s3:::{n.bucket}",
                    "Prefix": n.prefix,
                    "ErrorOutputPrefix": n.error_prefix,
                    "EncryptionConfiguration": {"KMSEncryptionConfig": {"AWSKMSKeyARN": key_arn}},
                    "BufferingHints": {"SizeInMBs": 64, "IntervalInSeconds": 60},
                },
            )
        stream_arn = firehose.describe_delivery_stream(DeliveryStreamName=n.delivery_stream)[
            "DeliveryStreamDescription"
        ]["DeliveryStreamARN"]
        groups = logs.describe_log_groups(logGroupNamePrefix=n.log_group)["logGroups"]
        if not any(g["logGroupName"] == n.log_group for g in groups):
            logs.create_log_group(logGroupName=n.log_group)
            logs.put_retention_policy(logGroupName=n.log_group, retentionInDays=90)
        log_streams = logs.describe_log_streams(
            logGroupName=n.log_group, logStreamNamePrefix=n.log_stream
        )["logStreams"]
        if not any(s["logStreamName"] == n.log_stream for s in log_streams):
            logs.create_log_stream(logGroupName=n.log_group, logStreamName=n.log_stream)
        logs.put_subscription_filter(
            logGroupName=n.log_group,
            filterName=n.filter_name,
            filterPattern=self.events.subscription_filter_pattern,
            destinationArn=stream_arn,
            roleArn=logs_role,
        )
        return {
            "bucket": n.bucket,
            "delivery_stream_arn": stream_arn,
            "log_group": n.log_group,
            "kms_key_arn": key_arn,
        }

    # --- use --------------------------------------------------------------------------------

    def emit(self, lines: Iterable[str], batch_size: int = 500) -> int:
        """Write log lines (events from ``mlops.events.to_log_line`` or any other app log lines)
        to the decision API's log stream, ``batch_size`` per PutLogEvents call."""
        if not 1 <= batch_size <= MAX_BATCH:
            raise StreamError(
                f"batch_size must be 1..{MAX_BATCH}, got {batch_size}", fix="pick a smaller batch"
            )
        logs = self.aws["logs"]
        sent, batch = 0, []

        def flush() -> None:
            nonlocal sent, batch
            if batch:
                logs.put_log_events(
                    logGroupName=self.names.log_group,
                    logStreamName=self.names.log_stream,
                    logEvents=batch,
                )
                sent += len(batch)
                batch = []

        for line in lines:
            batch.append({"timestamp": int(time.time() * 1000), "message": line})
            if len(batch) >= batch_size:
                flush()
        flush()
        return sent

    def store(self) -> S3ObjectStore:
        return S3ObjectStore(self.aws["s3"], self.names.bucket)

    def refresh(self, warehouse: Warehouse) -> RefreshResult:
        """Load new landing objects into ``warehouse`` (idempotent; see Warehouse.refresh)."""
        s3 = self.aws["s3"]
        try:
            s3.head_bucket(Bucket=self.names.bucket)
        except s3.exceptions.ClientError as exc:
            raise StreamError(
                f"landing bucket {self.names.bucket} not found",
                fix="start the local environment (`mlops demo`) or pass --endpoint-url of the "
                "running moto server",
            ) from exc
        return warehouse.refresh(self.store(), prefix=self.names.prefix)


def refresh(
    warehouse_path: str | Path,
    endpoint_url: str | None,
    events: EventRegistry,
    usecase: str = "remedy",
) -> RefreshResult:
    """`mlops analytics refresh`: load new landing objects from local S3 into the warehouse."""
    stream = LocalAnalyticsStream(
        clients(endpoint_url), stream_names(local_context(), usecase), events=events
    )
    with Warehouse(warehouse_path, events=events) as wh:
        return stream.refresh(wh)
