"""The artifact contract (mlops.delivery.artifacts): where registered models live, who reads them,
both sides of each cross-account grant, and the deploy's check that the model data it is about to
serve is the artifact registered (SHA-256 recorded at registration), against moto."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import sys

import boto3
import pytest
from moto import mock_aws

from mlops.delivery import artifacts
from mlops.delivery.deploy import verify_model_data
from mlops.delivery.promotion import PromotionError
from mlops.naming import NameContext
from mlops.sagemaker_pipelines import publish_script

DEV = NameContext("dev", "111111111111", "eu-west-2")
ACCOUNTS = {"dev": "111111111111", "staging": "222222222222", "prod": "333333333333"}
BUCKET = "mlops-dev-model-artifacts-111111111111-eu-west-2"
KEY_ARN = "arn:aws:kms:eu-west-2:111111111111:key/artifacts"
MODEL = b"\x1f\x8b a registered model" * 1000


def test_registered_models_live_in_devs_model_artifacts_under_the_usecase() -> None:
    assert artifacts.registry_bucket(DEV) == BUCKET
    assert artifacts.model_data_key("remedy", "exec1") == "remedy/models/exec1/model.tar.gz"
    with pytest.raises(ValueError, match="dev"):
        artifacts.registry_bucket(NameContext("staging", "222222222222", "eu-west-2"))
    assert [(r.stage, r.role_arn, r.cross_account) for r in
            artifacts.readers(DEV, "remedy", ACCOUNTS)] == [
        ("dev", "arn:aws:iam::111111111111:role/mlops-dev-remedy-model", False),
        ("staging", "arn:aws:iam::222222222222:role/mlops-staging-remedy-model", True),
        ("prod", "arn:aws:iam::333333333333:role/mlops-prod-remedy-model", True),
    ]  # fmt: skip


def test_both_sides_of_the_cross_account_read_meet_on_one_usecases_models() -> None:
    (staging,) = [s for s in artifacts.bucket_grants(DEV, ACCOUNTS) if "Staging" in s["Sid"]]
    assert staging["Principal"] == {"AWS": "arn:aws:iam::222222222222:root"}
    assert staging["Resource"] == f"arn:aws:s3:::{BUCKET}/*/models/*"
    assert set(staging["Action"]) == {"s3:GetObject", "s3:GetObjectVersion"}
    (key,) = [s for s in artifacts.key_grants(DEV, ACCOUNTS) if "Prod" in s["Sid"]]
    assert key["Action"] == "kms:Decrypt"
    assert key["Condition"]["ArnLike"]["aws:PrincipalArn"] == (
        "arn:aws:iam::333333333333:role/mlops-prod-*-model"
    )
    # no bucket key on the shared bucket: the context is the object's ARN, any use case's models
    # on the resource side, the reader's own use case's on the identity side
    assert key["Condition"]["StringLike"]["kms:EncryptionContext:aws:s3:arn"] == (
        f"arn:aws:s3:::{BUCKET}/*/models/*"
    )
    identity = {
        s["Sid"]: s for s in artifacts.reader_statements(BUCKET, KEY_ARN, "remedy", "eu-west-2")
    }
    assert identity["ReadRegisteredModels"]["Resource"] == f"arn:aws:s3:::{BUCKET}/remedy/models/*"
    assert identity["DecryptRegisteredModels"]["Resource"] == KEY_ARN
    assert identity["DecryptRegisteredModels"]["Condition"]["StringLike"] == {
        "kms:EncryptionContext:aws:s3:arn": f"arn:aws:s3:::{BUCKET}/remedy/models/*"
    }
    # the dev account itself needs no resource-side grant (same account)
    sids = [s["Sid"] for s in artifacts.bucket_grants(DEV, {**ACCOUNTS, "staging": "111111111111"})]
    assert sids == ["OnlyPipelinesPublishModels", "ModelReadProd"]
    (deny,) = [s for s in artifacts.bucket_grants(DEV, ACCOUNTS) if s["Effect"] == "Deny"]
    assert deny["Condition"]["ArnNotLike"]["aws:PrincipalArn"] == (
        "arn:aws:iam::111111111111:role/mlops-dev-*-sm-pipeline"
    )


def test_the_publish_step_hashes_what_it_publishes(tmp_path) -> None:
    (tmp_path / "model").mkdir()
    (tmp_path / "published").mkdir()
    (tmp_path / "model" / "model.tar.gz").write_bytes(MODEL)
    subprocess.run([sys.executable, "-c", publish_script(str(tmp_path))], check=True)
    assert (tmp_path / "published" / "model.tar.gz").read_bytes() == MODEL
    checksum = json.loads((tmp_path / "published" / "checksum.json").read_text())
    assert checksum == {"sha256": hashlib.sha256(MODEL).hexdigest(), "bytes": len(MODEL)}


# --- the deploy's check, against moto -----------------------------------------------------------
@pytest.fixture
def registry(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-2")
    with mock_aws():
        s3 = boto3.client("s3", region_name="eu-west-2")
        sm = boto3.client("sagemaker", region_name="eu-west-2")
        s3.create_bucket(
            Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-2"}
        )
        s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        sm.create_model_package_group(ModelPackageGroupName="mlops-dev-remedy-models")

        def register(key: str, body: bytes, metadata: dict[str, str] | None = None) -> str:
            s3.put_object(Bucket=BUCKET, Key=key, Body=body)
            sha = hashlib.sha256(body).hexdigest()
            return sm.create_model_package(
                ModelPackageGroupName="mlops-dev-remedy-models",
                InferenceSpecification={
                    "Containers": [
                        {
                            "Image": "111111111111.dkr.ecr.eu-west-2.amazonaws.com/x@sha256:1",
                            "ModelDataUrl": f"s3://{BUCKET}/{key}",
                        }
                    ],
                    "SupportedContentTypes": ["application/json"],
                    "SupportedResponseMIMETypes": ["application/json"],
                },
                ModelApprovalStatus="Approved",
                CustomerMetadataProperties=(
                    metadata if metadata is not None else {artifacts.CHECKSUM_PROPERTY: sha}
                ),
            )["ModelPackageArn"]

        yield sm, s3, register


def _verify(sm, s3, arn: str) -> dict[str, str]:
    return verify_model_data(sm, s3, arn, bucket=BUCKET, usecase="remedy")


def test_the_approved_artifact_is_verified(registry) -> None:
    sm, s3, register = registry
    arn = register("remedy/models/exec1/model.tar.gz", MODEL)
    checked = _verify(sm, s3, arn)
    assert checked["sha256"] == hashlib.sha256(MODEL).hexdigest()
    assert checked["model_data"] == f"s3://{BUCKET}/remedy/models/exec1/model.tar.gz"
    assert checked["version_id"]  # the object version that was hashed


def test_a_tampered_artifact_is_refused(registry) -> None:
    sm, s3, register = registry
    arn = register("remedy/models/exec1/model.tar.gz", MODEL)
    s3.put_object(Bucket=BUCKET, Key="remedy/models/exec1/model.tar.gz", Body=MODEL + b"x")
    with pytest.raises(PromotionError) as exc:
        _verify(sm, s3, arn)
    message = str(exc.value)
    assert hashlib.sha256(MODEL).hexdigest() in message
    assert hashlib.sha256(MODEL + b"x").hexdigest() in message
    assert "changed after approval" in message and arn in message


def test_a_package_without_a_recorded_checksum_is_refused(registry) -> None:
    sm, s3, register = registry
    arn = register("remedy/models/exec1/model.tar.gz", MODEL, metadata={"usecase": "remedy"})
    with pytest.raises(PromotionError, match="records no SHA-256"):
        _verify(sm, s3, arn)


@pytest.mark.parametrize(
    "key", ["remedy/tuning/job/output/model.tar.gz", "peer/models/exec1/model.tar.gz"]
)
def test_model_data_outside_the_usecases_registered_models_is_refused(registry, key) -> None:
    sm, s3, register = registry
    arn = register(key, MODEL)
    with pytest.raises(PromotionError, match=r"outside s3://.*/remedy/models/"):
        _verify(sm, s3, arn)


def test_sha256_of_streams() -> None:
    assert artifacts.sha256_of(io.BytesIO(MODEL), chunk=7) == (
        hashlib.sha256(MODEL).hexdigest(),
        len(MODEL),
    )
