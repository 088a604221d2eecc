"""Embedded AWS (moto server) lifecycle and the local provisioning of one use case."""

from __future__ import annotations

import os
import socket

import pytest

from mlops import naming
from mlops.local.embedded_aws import EmbeddedAWS, EmbeddedAWSError, port_in_use
from mlops.local.environment import local_context, provision


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_server_starts_answers_and_always_stops() -> None:
    with pytest.raises(RuntimeError, match="boom"), EmbeddedAWS() as aws:
        pid = aws._proc.pid
        port = aws.port
        assert port_in_use(port)
        aws.client("s3").list_buckets()
        raise RuntimeError("boom")
    assert not _alive(pid)
    assert not port_in_use(port)


def test_busy_port_is_a_clear_error_and_starts_nothing() -> None:
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        port = blocker.getsockname()[1]
        aws = EmbeddedAWS(port=port)
        with pytest.raises(EmbeddedAWSError) as info:
            aws.start()
        assert f"port {port} on 127.0.0.1 is already in use" in info.value.message
        assert "--aws-port" in info.value.fix
        assert not aws.running


@pytest.fixture(scope="module")
def embedded_aws():
    with EmbeddedAWS() as aws:
        yield aws


def test_provision_creates_the_platform_shapes(embedded_aws: EmbeddedAWS) -> None:
    platform = provision(embedded_aws, "remedy")
    s3 = embedded_aws.client("s3")
    assert set(platform.buckets) == {
        "data",
        "model-artifacts",
        "pipeline-artifacts",
        "analytics-landing",
    }
    for purpose, bucket in platform.buckets.items():
        assert bucket == naming.bucket_name(local_context(embedded_aws.region), purpose)
        rule = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"][
            "Rules"
        ][0]
        assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms", bucket
        assert rule["BucketKeyEnabled"] is True, bucket
        assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled", bucket
        block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
        assert all(block.values()) and len(block) == 4, bucket
    kms = embedded_aws.client("kms")
    for arn in platform.key_arns.values():
        assert kms.get_key_rotation_status(KeyId=arn)["KeyRotationEnabled"] is True
    groups = embedded_aws.client("sagemaker").list_model_package_groups()
    names = [g["ModelPackageGroupName"] for g in groups["ModelPackageGroupSummaryList"]]
    assert names == ["mlops-local-remedy-models"]


def test_provision_is_idempotent(embedded_aws: EmbeddedAWS) -> None:
    first = provision(embedded_aws, "remedy")
    second = provision(embedded_aws, "remedy")
    assert first.summary() == second.summary()
    assert len(embedded_aws.client("kms").list_keys()["Keys"]) == 4
