"""Storage: every bucket is KMS-encrypted, versioned, private, TLS-only, lifecycled and logged."""

from __future__ import annotations

import pytest

from components._helpers import by_bucket, ctx_of, of_type, policy, statements, tags_of
from mlops.components.storage import BUCKETS, SecureBucket, SecureBucketArgs, Storage, StorageArgs
from mlops.config import StackConfig
from mlops.naming import bucket_name, is_shared_bucket
from mlops.testing.mocks import RecordingMocks, run

KEYS = {p: f"arn:aws:kms:eu-west-2:111111111111:key/{p}" for p in ("data", "artifacts", "logs")}
READER = "arn:aws:iam::{acct}:role/mlops-{env}-model-execution"
DEPLOYER = "arn:aws:iam::{acct}:role/mlops-pulumi-deployer"


def _storage(cfg: StackConfig) -> Storage:
    roles = [READER.format(acct=cfg.account_id, env=cfg.environment)]
    return Storage(
        "storage",
        StorageArgs(
            names=ctx_of(cfg),
            tags=tags_of(cfg),
            key_arns=KEYS,
            noncurrent_days=cfg.retention.data_noncurrent_days,
            access_log_days=cfg.retention.log_days,
            need_to_know_roles=(
                {} if cfg.is_governance else {p: roles for p, (_, pii) in BUCKETS.items() if pii}
            ),
            bucket_managers=[DEPLOYER.format(acct=cfg.account_id)],
        ),
    )


def assert_secure_buckets(mocks: RecordingMocks) -> None:
    """The bucket baseline, reused by the whole-program test."""
    buckets = of_type(mocks, "aws:s3/bucket:Bucket")
    sse = by_bucket(
        mocks,
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    )
    pab = by_bucket(mocks, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
    ver = by_bucket(mocks, "aws:s3/bucketVersioning:BucketVersioning")
    pol = by_bucket(mocks, "aws:s3/bucketPolicy:BucketPolicy")
    life = by_bucket(mocks, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration")
    own = by_bucket(mocks, "aws:s3/bucketOwnershipControls:BucketOwnershipControls")
    for b in buckets:
        name = b.inputs["bucket"]
        assert name in sse, f"{b.name}: no encryption configuration"
        rule = sse[name].inputs["rules"][0]
        default = rule["applyServerSideEncryptionByDefault"]
        assert default["sseAlgorithm"] == "aws:kms" and default["kmsMasterKeyId"], b.name
        # the shared multi-tenant buckets have none: each object's KMS context is its own ARN
        assert rule["bucketKeyEnabled"] is (not is_shared_bucket(name)), b.name
        flags = (
            "blockPublicAcls",
            "blockPublicPolicy",
            "ignorePublicAcls",
            "restrictPublicBuckets",
        )
        assert name in pab and all(pab[name].inputs.get(f) is True for f in flags), b.name
        assert ver[name].inputs["versioningConfiguration"]["status"] == "Enabled", b.name
        assert own[name].inputs["rule"]["objectOwnership"] == "BucketOwnerEnforced", b.name
        tls = statements(policy(pol[name]))["DenyInsecureTransport"]
        assert tls["Effect"] == "Deny" and tls["Principal"] == "*", b.name
        assert tls["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}, b.name
        assert "DenyNonKmsUploads" in statements(policy(pol[name])), b.name
        rules = {r["id"] for r in life[name].inputs["rules"]}
        assert {"abort-incomplete-multipart", "expire-noncurrent-versions"} <= rules, b.name


def test_every_bucket_is_secure(stack_config: StackConfig, pulumi_mocks: RecordingMocks) -> None:
    run(lambda: _storage(stack_config))
    assert len(pulumi_mocks.of_type("aws:s3/bucket:Bucket")) == 5
    assert_secure_buckets(pulumi_mocks)


def test_names_include_account_region_and_stack(
    stack_config: StackConfig, pulumi_mocks: RecordingMocks
) -> None:
    run(lambda: _storage(stack_config))
    for b in of_type(pulumi_mocks, "aws:s3/bucket:Bucket"):
        name = b.inputs["bucket"]
        assert f"-{stack_config.environment}-" in name, name
        assert name.endswith(f"-{stack_config.account_id}-{stack_config.region}"), name


def test_access_logging_goes_to_the_log_bucket(
    stack_config: StackConfig, pulumi_mocks: RecordingMocks
) -> None:
    run(lambda: _storage(stack_config))
    logs_bucket = bucket_name(ctx_of(stack_config), "access-logs")
    logging = by_bucket(pulumi_mocks, "aws:s3/bucketLogging:BucketLogging")
    logged = {b.inputs["bucket"] for b in pulumi_mocks.of_type("aws:s3/bucket:Bucket")}
    assert set(logging) == logged - {logs_bucket}  # the log bucket does not log into itself
    assert {r.inputs["targetBucket"] for r in logging.values()} == {logs_bucket}
    pol = by_bucket(pulumi_mocks, "aws:s3/bucketPolicy:BucketPolicy")[logs_bucket]
    delivery = statements(policy(pol))["AllowS3ServerAccessLogs"]
    assert delivery["Principal"] == {"Service": "logging.s3.amazonaws.com"}
    assert delivery["Condition"]["StringEquals"]["aws:SourceAccount"] == stack_config.account_id


def test_customer_data_is_need_to_know_outside_dev(
    stack_config: StackConfig, pulumi_mocks: RecordingMocks
) -> None:
    run(lambda: _storage(stack_config))
    policies = by_bucket(pulumi_mocks, "aws:s3/bucketPolicy:BucketPolicy")
    for purpose, (_, pii) in BUCKETS.items():
        sids = statements(policy(policies[bucket_name(ctx_of(stack_config), purpose)]))
        expected = pii and not stack_config.is_governance
        assert ("DenyAllButNamedRoles" in sids) == expected, purpose
        if expected:
            st = sids["DenyAllButNamedRoles"]
            assert st["Effect"] == "Deny" and st["Principal"] == "*"
            assert "s3:GetObject" in st["Action"]
            allowed = st["Condition"]["ArnNotLike"]["aws:PrincipalArn"]
            assert allowed == READER.format(
                acct=stack_config.account_id, env=stack_config.environment
            )
            assert "s3:ListBucket" not in st["Action"], "listing is governed separately"
            listing = sids["DenyListingButNamedRoles"]
            bucket_arn = sids["DenyInsecureTransport"]["Resource"][0]
            assert listing["Resource"] == bucket_arn and st["Resource"] == f"{bucket_arn}/*"
            assert set(listing["Action"]) == {"s3:ListBucket", "s3:ListBucketVersions"}
            listers = listing["Condition"]["ArnNotLike"]["aws:PrincipalArn"]
            assert DEPLOYER.format(acct=stack_config.account_id) in listers, purpose
            assert allowed in listers, purpose


def test_staging_and_prod_refuse_data_buckets_without_readers(stack_config: StackConfig) -> None:
    args = dict(names=ctx_of(stack_config), tags={}, key_arns=KEYS, noncurrent_days=30,
                access_log_days=30)  # fmt: skip
    if stack_config.is_governance:
        assert StorageArgs(**args).need_to_know_roles == {}
    else:
        with pytest.raises(ValueError, match=r"need_to_know_roles.*customer data"):
            StorageArgs(**args)
        readers = {p: [READER] for p, (_, pii) in BUCKETS.items() if pii}
        with pytest.raises(ValueError, match=r"bucket_managers.*HeadBucket"):
            StorageArgs(**args, need_to_know_roles=readers)


@pytest.mark.parametrize("stack_config", ["dev"], indirect=True)
def test_object_lock_and_cross_account_read(
    stack_config: StackConfig, pulumi_mocks: RecordingMocks
) -> None:
    reader = "arn:aws:iam::333333333333:role/mlops-prod-model-execution"

    def build() -> None:
        SecureBucket(
            "locked",
            SecureBucketArgs(
                bucket_name=bucket_name(ctx_of(stack_config), "locked"),
                purpose="locked",
                kms_key_arn=KEYS["logs"],
                tags=tags_of(stack_config),
                access_logs_bucket="logs",
                object_lock_retention_years=7,
                cross_account_readers={"333333333333": [reader]},
            ),
        )

    run(build)
    assert pulumi_mocks.named("locked-bucket").inputs["objectLockEnabled"] is True
    lock = pulumi_mocks.named("locked-object-lock").inputs["rule"]["defaultRetention"]
    assert lock == {"mode": "GOVERNANCE", "years": 7}
    st = statements(policy(pulumi_mocks.named("locked-policy")))["CrossAccountRead333333333333"]
    assert st["Principal"] == {"AWS": "arn:aws:iam::333333333333:root"}
    assert st["Condition"]["ArnLike"]["aws:PrincipalArn"] == reader
    assert not {a for a in st["Action"] if "Put" in a or "Delete" in a}


def test_bucket_without_log_target_is_refused() -> None:
    with pytest.raises(ValueError, match="access_logs_bucket is required"):
        SecureBucketArgs(bucket_name="x", purpose="x", kms_key_arn="k", tags={})


def test_only_the_shared_buckets_go_without_a_bucket_key(stack_config: StackConfig) -> None:
    names = {purpose: bucket_name(ctx_of(stack_config), purpose) for purpose in BUCKETS}
    shared = {p for p, n in names.items() if is_shared_bucket(n)}
    assert shared == {"model-artifacts", "pipeline-artifacts"}
    with pytest.raises(ValueError, match=r"bucket_key=False .* only the shared"):
        SecureBucketArgs(
            bucket_name=names["data"], purpose="data", kms_key_arn="arn:aws:kms:eu-west-2:1:key/k",
            tags={}, access_logs_bucket="logs", bucket_key=False,
        )  # fmt: skip
