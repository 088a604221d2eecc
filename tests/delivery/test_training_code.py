"""The TrainingPipeline build uploads the training code content-addressed and points the pipeline
at exactly that version."""

from __future__ import annotations

import hashlib
import io
import tarfile
import time
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from mlops.delivery import run_pipeline
from mlops.delivery.training_code import locate, package, upload

BUCKET = "mlops-dev-pipeline-artifacts-111111111111-eu-west-2"


def _repo(root: Path) -> Path:
    pkg = root / "src" / "demo_training"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "train.py").write_text("print('train')\n")
    (pkg / "pipeline.py").write_text("")
    (pkg / "__pycache__").mkdir()
    (pkg / "__pycache__" / "train.cpython-311.pyc").write_bytes(b"\0")
    return root


def test_the_tarball_is_reproducible_and_its_sha256_is_in_the_key(tmp_path: Path) -> None:
    repo = _repo(tmp_path / "repo")
    first = package(repo)
    time.sleep(1.1)
    (repo / "src" / "demo_training" / "train.py").touch()  # a new mtime changes nothing
    location, body = locate(repo, "demo")
    assert body == first
    assert location.digest == hashlib.sha256(body).hexdigest()
    assert location.tarball_key == f"demo/code/{location.digest}/source.tar.gz"
    with tarfile.open(fileobj=io.BytesIO(body)) as tar:
        assert tar.getnames() == [
            "demo_training/__init__.py",
            "demo_training/pipeline.py",
            "demo_training/train.py",
        ]
    (repo / "src" / "demo_training" / "train.py").write_text("print('changed')\n")
    assert locate(repo, "demo")[0].digest != location.digest


@mock_aws
def test_upload_writes_every_file_with_the_platform_key_then_skips_the_same_version(
    tmp_path: Path,
) -> None:
    s3 = boto3.client("s3", region_name="eu-west-2")
    kms = boto3.client("kms", region_name="eu-west-2")
    key = kms.create_key()["KeyMetadata"]["Arn"]
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-2"})
    repo = _repo(tmp_path / "repo")
    location = upload(s3, repo, bucket=BUCKET, usecase="demo", kms_key_arn=key)
    listed = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"])
    assert listed == sorted(location.keys())
    assert f"{location.prefix}/src/demo_training/train.py" in listed
    head = s3.head_object(Bucket=BUCKET, Key=location.tarball_key)
    assert head["ServerSideEncryption"] == "aws:kms" and head["SSEKMSKeyId"] == key
    body = s3.get_object(Bucket=BUCKET, Key=location.tarball_key)["Body"].read()
    assert hashlib.sha256(body).hexdigest() == location.digest

    class NoWrites:
        def __init__(self) -> None:
            self.head_object = s3.head_object

        def put_object(self, **_: Any) -> None:
            raise AssertionError("the same version is uploaded twice")

    assert upload(NoWrites(), repo, bucket=BUCKET, usecase="demo", kms_key_arn=key) == location


def test_the_build_points_the_pipeline_at_the_uploaded_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import mlops.sagemaker_pipelines as governed

    repo = _repo(tmp_path / "repo")
    (repo / "src" / "demo_training" / "recipe.py").write_text("RECIPE = 'demo recipe'\n")
    uploaded: list[Path] = []
    built: list[Any] = []

    class Pipeline:
        def upsert(self, role_arn: str) -> None:
            built.append(("upsert", role_arn))

        def start(self) -> str:
            return "arn:execution"

    def fake_upload(repo_: Path, env: Any, s3: Any = None) -> Any:
        uploaded.append(repo_)
        return locate(repo_, env["USECASE"])[0]

    def fake_build(settings: Any, recipe: Any) -> Pipeline:
        built.append((settings, recipe))
        return Pipeline()

    monkeypatch.setattr(run_pipeline, "upload_code", fake_upload)
    monkeypatch.setattr(governed, "governed_pipeline", fake_build)
    env = {
        "USECASE": "demo",
        "ENVIRONMENT": "dev",
        "ACCOUNT_ID": "111111111111",
        "AWS_REGION": "eu-west-2",
        "ARTIFACT_BUCKET": BUCKET,
        "KMS_KEY_ARN": "arn:k",
        "SUBNET_IDS": "subnet-a",
        "SECURITY_GROUP_IDS": "sg-a",
        "EVAL_METRIC": "auc",
        "EVAL_THRESHOLD": "0.7",
        "SM_PIPELINE_ROLE_ARN": "arn:r",
        "SM_PIPELINE_NAME": "mlops-dev-demo-training",
        "TRAINING_IMAGE_URI": "1.dkr.ecr.eu-west-2.amazonaws.com/t@sha256:" + "a" * 64,
        "INFERENCE_IMAGE_URI": "1.dkr.ecr.eu-west-2.amazonaws.com/i@sha256:" + "b" * 64,
    }
    monkeypatch.delenv("CODE_PREFIX", raising=False)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    monkeypatch.syspath_prepend(str(repo / "src"))
    result = run_pipeline.main(["--repo", str(repo), "--upload-code", "--upsert", "--start"])

    location = locate(repo, "demo")[0]
    settings, recipe = built[0]
    assert uploaded == [repo] and recipe == "demo recipe"
    assert settings.code_prefix == f"demo/code/{location.digest}"
    assert settings.code("source.tar.gz") == f"s3://{BUCKET}/{location.tarball_key}"
    assert result["code"] == f"s3://{BUCKET}/{location.tarball_key}"
    assert built[1:] == [("upsert", "arn:r")] and result["execution"] == "arn:execution"


def test_upload_needs_the_platform_settings(tmp_path: Path) -> None:
    from mlops.errors import MlopsError

    with pytest.raises(MlopsError, match="USECASE, KMS_KEY_ARN not set"):
        run_pipeline.upload_code(_repo(tmp_path / "repo"), {"ARTIFACT_BUCKET": BUCKET})


def test_the_training_build_uploads_before_it_upserts() -> None:
    from mlops.delivery.buildspecs import upsert_and_start_pipeline

    assert "run_pipeline --upload-code --upsert --start" in upsert_and_start_pipeline()
