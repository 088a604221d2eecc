"""S3 buckets, their configuration resources, objects and notifications."""

from __future__ import annotations

from mlops.rehearsal.model import Call
from mlops.testing.mocks import RecordedResource

from .base import (
    CALLER,
    ProgramView,
    ServiceCall,
    as_json,
    block,
    c,
    kms_via,
    policy_principals,
    reads,
    register,
    tag_context,
    tagged,
    value,
)

SAR = "Service Authorization Reference (parliament iam_definition.json)"
TF_BUCKET = "terraform-provider-aws internal/service/s3/bucket.go (create, read)"

# What pulumi-aws 7's Bucket (the former BucketV2) reads back: every sub-configuration it still
# exposes as a (deprecated) attribute.
BUCKET_READS = (
    "s3:ListBucket",  # HeadBucket
    "s3:GetBucketPolicy",
    "s3:GetBucketAcl",
    "s3:GetBucketCORS",
    "s3:GetBucketWebsite",
    "s3:GetBucketVersioning",
    "s3:GetAccelerateConfiguration",
    "s3:GetBucketRequestPayment",
    "s3:GetBucketLogging",
    "s3:GetLifecycleConfiguration",
    "s3:GetReplicationConfiguration",
    "s3:GetEncryptionConfiguration",
    "s3:GetBucketObjectLockConfiguration",
    "s3:GetBucketTagging",
)


def bucket_arn(v: ProgramView, name: str) -> str:
    return f"arn:{v.partition}:s3:::{name}"


def _bucket_arn(r: RecordedResource, v: ProgramView) -> str:
    return bucket_arn(v, v.physical_name(r))


@register(
    "aws:s3/bucket:Bucket",
    arn=_bucket_arn,
    name_field="bucket",
    source=(
        TF_BUCKET,
        SAR,
        "S3 user guide: creating a bucket with Object Lock needs "
        "s3:PutBucketObjectLockConfiguration and s3:PutBucketVersioning",
    ),
    unverified=(
        "the exact read-back list (HeadBucket + every Get*Configuration the Bucket resource "
        "exposes) is from the provider's documented behaviour, not re-read in its source here",
    ),
)
def _bucket(r: RecordedResource, v: ProgramView) -> list[Call]:
    arn = _bucket_arn(r, v)
    ctx = {"s3:LocationConstraint": v.region, **tag_context(r)}
    calls = [c("s3:CreateBucket", arn, "create the bucket", ctx)]
    if value(r, "objectLockEnabled"):
        calls += [
            c("s3:PutBucketObjectLockConfiguration", arn, "bucket created with Object Lock"),
            c("s3:PutBucketVersioning", arn, "Object Lock turns versioning on"),
        ]
    calls += tagged(r, "s3:PutBucketTagging", arn)
    return calls + reads(arn, *BUCKET_READS)


def _of_bucket(r: RecordedResource, v: ProgramView) -> str:
    return bucket_arn(v, str(value(r, "bucket")))


def _config(put: str, get: str, what: str, extra: tuple[str, ...] = ()):
    def fn(r: RecordedResource, v: ProgramView) -> list[Call]:
        arn = _of_bucket(r, v)
        return [c(put, arn, what), *reads(arn, get, *extra)]

    return fn


for _typ, _put, _get, _what in (
    (
        "aws:s3/bucketVersioning:BucketVersioning",
        "s3:PutBucketVersioning",
        "s3:GetBucketVersioning",
        "versioning",
    ),
    (
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        "s3:PutEncryptionConfiguration",
        "s3:GetEncryptionConfiguration",
        "default encryption (S3 does not check the key here; uploads do)",
    ),
    (
        "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
        "s3:PutBucketPublicAccessBlock",
        "s3:GetBucketPublicAccessBlock",
        "block public access",
    ),
    (
        "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
        "s3:PutBucketOwnershipControls",
        "s3:GetBucketOwnershipControls",
        "object ownership",
    ),
    (
        "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
        "s3:PutLifecycleConfiguration",
        "s3:GetLifecycleConfiguration",
        "lifecycle rules",
    ),
    (
        "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration",
        "s3:PutBucketObjectLockConfiguration",
        "s3:GetBucketObjectLockConfiguration",
        "default retention",
    ),
    (
        "aws:s3/bucketCorsConfiguration:BucketCorsConfiguration",
        "s3:PutBucketCORS",
        "s3:GetBucketCORS",
        "CORS rules",
    ),
):
    register(_typ, source=(f"terraform-provider-aws internal/service/s3 ({_put})", SAR))(
        _config(_put, _get, _what)
    )


def _logging_service(r: RecordedResource, v: ProgramView) -> list[ServiceCall]:
    target = str(value(r, "targetBucket"))
    prefix = str(value(r, "targetPrefix") or "")
    ctx = {"aws:SourceArn": _of_bucket(r, v), "aws:SourceAccount": v.account}
    put = c("s3:PutObject", f"{bucket_arn(v, target)}/{prefix}*", "server access log delivery", ctx)
    return [ServiceCall("service:logging.s3.amazonaws.com", put, "runtime")]


@register(
    "aws:s3/bucketLogging:BucketLogging",
    service=_logging_service,
    source=(
        "S3 user guide 'Permissions for log delivery': logging.s3.amazonaws.com s3:PutObject with "
        "aws:SourceArn (source bucket) and aws:SourceAccount in the target bucket policy",
        SAR,
    ),
    unverified=(
        "whether a target bucket with SSE-KMS default encryption is accepted, and then which KMS "
        "calls logging.s3.amazonaws.com makes, is not modelled",
    ),
)
def _logging(r: RecordedResource, v: ProgramView) -> list[Call]:
    arn = _of_bucket(r, v)
    return [
        c("s3:PutBucketLogging", arn, "server access logging"),
        *reads(arn, "s3:GetBucketLogging"),
    ]


@register(
    "aws:s3/bucketPolicy:BucketPolicy",
    principals=lambda r: policy_principals(r.inputs.get("policy")),
    source=(
        "S3 rejects a bucket policy naming a principal that does not exist (Invalid principal "
        "in policy)",
        SAR,
    ),
)
def _bucket_policy(r: RecordedResource, v: ProgramView) -> list[Call]:
    arn = _of_bucket(r, v)
    return [c("s3:PutBucketPolicy", arn, "bucket policy"), *reads(arn, "s3:GetBucketPolicy")]


# --- objects -------------------------------------------------------------------------------------
def _object_arn(r: RecordedResource, v: ProgramView) -> str:
    return f"{_of_bucket(r, v)}/{value(r, 'key')}"


def _object_key(r: RecordedResource, v: ProgramView) -> str | None:
    if value(r, "serverSideEncryption") == "aws:kms" or value(r, "kmsKeyId"):
        return v.key_arn(str(value(r, "kmsKeyId") or "")) or None
    return None


def s3_encryption_context(bucket_arn_: str, object_arn: str, bucket_key: bool) -> dict[str, str]:
    """S3's KMS encryption context: the bucket ARN with S3 Bucket Keys, else the object ARN."""
    return {"kms:EncryptionContext:aws:s3:arn": bucket_arn_ if bucket_key else object_arn}


def _object_service(r: RecordedResource, v: ProgramView) -> list[ServiceCall]:
    key = _object_key(r, v)
    if key is None:
        return []
    ctx = s3_encryption_context(
        _of_bucket(r, v), _object_arn(r, v), bool(value(r, "bucketKeyEnabled"))
    )
    calls = kms_via(
        key,
        ["kms:GenerateDataKey"],
        "s3",
        v,
        ctx,
        "SSE-KMS upload: S3 asks KMS with the caller's credentials",
    )
    return [ServiceCall(CALLER, x, "create") for x in calls]


def _object_ctx(r: RecordedResource, v: ProgramView) -> dict[str, object]:
    ctx: dict[str, object] = {}
    if value(r, "serverSideEncryption"):
        ctx["s3:x-amz-server-side-encryption"] = value(r, "serverSideEncryption")
    key = _object_key(r, v)
    if key:
        ctx["s3:x-amz-server-side-encryption-aws-kms-key-id"] = key
    return ctx


OBJECT_SOURCE = (
    "S3 user guide 'Using SSE-KMS': the requester needs kms:GenerateDataKey (kms:Decrypt for "
    "multipart); encryption context aws:s3:arn is the object ARN, or the bucket ARN with S3 Bucket "
    "Keys ('Reducing the cost of SSE-KMS with Amazon S3 Bucket Keys')",
    "terraform-provider-aws internal/service/s3/object.go (HeadObject, GetObjectTagging)",
    SAR,
)


def _object(r: RecordedResource, v: ProgramView) -> list[Call]:
    arn = _object_arn(r, v)
    calls = [c("s3:PutObject", arn, "upload the object", _object_ctx(r, v))]
    calls += tagged(r, "s3:PutObjectTagging", arn)
    return calls + reads(
        arn,
        "s3:GetObject",
        "s3:GetObjectTagging",
        why="provider reads the object back (HeadObject)",
    )


for _typ in ("aws:s3/bucketObjectv2:BucketObjectv2", "aws:s3/bucketObject:BucketObject"):
    register(
        _typ, arn=_object_arn, service=_object_service, source=OBJECT_SOURCE, name_field="key"
    )(_object)


def _notification_service(r: RecordedResource, v: ProgramView) -> list[ServiceCall]:
    src = {"aws:SourceArn": _of_bucket(r, v), "aws:SourceAccount": v.account}
    out: list[ServiceCall] = []
    for q in as_json(r.inputs.get("queues")) or []:
        # A Snowflake pipe's queue is known only once the pipe exists, in Snowflake's account,
        # under Snowflake's queue policy: nothing here can evaluate it (unverified).
        arn = v.canonical(q.get("queueArn"))
        if not arn:
            continue
        why = "S3 validates the destination with a test message (queue policy must allow S3)"
        out.append(
            ServiceCall("service:s3.amazonaws.com", c("sqs:SendMessage", arn, why, src), "create")
        )
    for t in as_json(r.inputs.get("topics")) or []:
        why = "S3 validates the destination (topic policy must allow S3)"
        out.append(
            ServiceCall(
                "service:s3.amazonaws.com",
                c("sns:Publish", v.canonical(t.get("topicArn")) or "*", why, src),
                "create",
            )
        )
    for f in as_json(r.inputs.get("lambdaFunctions")) or []:
        why = "S3 validates the destination (the function's resource policy must allow S3)"
        fn = v.canonical(f.get("lambdaFunctionArn")) or "*"
        out.append(
            ServiceCall(
                "service:s3.amazonaws.com", c("lambda:InvokeFunction", fn, why, src), "create"
            )
        )
    return out


@register(
    "aws:s3/bucketNotification:BucketNotification",
    service=_notification_service,
    source=(
        "S3 user guide 'Granting permissions to publish event notification messages': S3 checks "
        "each destination when the configuration is put (Unable to validate the following "
        "destination configurations)",
        SAR,
    ),
)
def _notification(r: RecordedResource, v: ProgramView) -> list[Call]:
    arn = _of_bucket(r, v)
    return [
        c("s3:PutBucketNotification", arn, "event notifications"),
        *reads(arn, "s3:GetBucketNotification"),
    ]


def bucket_encryption_key(v: ProgramView, bucket: str) -> tuple[str | None, bool]:
    """(default SSE-KMS key ARN, bucket keys on) of a bucket recorded in the program."""
    for r in v.of_type(
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
    ):
        if value(r, "bucket") != bucket:
            continue
        for rule in as_json(r.inputs.get("rules")) or []:
            default = (rule or {}).get("applyServerSideEncryptionByDefault") or {}
            if default.get("sseAlgorithm") in ("aws:kms", "aws:kms:dsse"):
                return v.key_arn(default.get("kmsMasterKeyId")), bool(rule.get("bucketKeyEnabled"))
    return None, False


__all__ = ["block", "bucket_arn", "bucket_encryption_key", "s3_encryption_context"]
