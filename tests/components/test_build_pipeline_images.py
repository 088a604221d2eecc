"""The build pipeline's Images stage: a privileged CodeBuild project (docker needs it; no other
project is privileged) outside the VPC, running as its own role that may push to exactly the use
case's two ECR repositories; the digests it resolves from the push reach the TrainingPipeline
build as `#{Images.TRAINING_IMAGE_URI}` / `#{Images.INFERENCE_IMAGE_URI}`. The buildspec itself
runs here against stand-in `docker` and `aws` commands."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path

import pytest
import yaml

from mlops.config import StackConfig
from mlops.delivery.buildspecs import build_and_push_images
from mlops.testing.mocks import RecordingMocks, policy_documents, run

from .usecase_helpers import build, manifest

DEV = pytest.mark.parametrize("stack_config", ["dev"], indirect=True)
PROJECT = "aws:codebuild/project:Project"


def _policy(mocks: RecordingMocks, name: str) -> dict:
    [doc] = [d for n, d in policy_documents(mocks.resources) if n == f"{name}.policy"]
    return doc


def _named(mocks: RecordingMocks, typ: str, name: str):
    [r] = [r for r in mocks.of_type(typ) if r.name == name]
    return r


@DEV
def test_only_the_image_build_is_privileged_and_it_runs_outside_the_vpc(
    pulumi_mocks: RecordingMocks, stack_config: StackConfig
) -> None:
    run(lambda: build(stack_config, [manifest("remedy")]))
    privileged = {
        p.name
        for p in pulumi_mocks.of_type(PROJECT)
        if p.inputs["environment"].get("privilegedMode")
    }
    assert privileged == {"usecase-remedy-images"}
    images = _named(pulumi_mocks, PROJECT, "usecase-remedy-images")
    assert images.inputs.get("vpcConfig") is None
    assert images.inputs["serviceRole"].endswith(":role/mlops-dev-remedy-image-build")
    env = {v["name"]: v["value"] for v in images.inputs["environment"]["environmentVariables"]}
    assert env["TRAINING_REPOSITORY_URI"].endswith("/mlops-dev-remedy-training"), env
    assert env["INFERENCE_REPOSITORY_URI"].endswith("/mlops-dev-remedy-inference"), env


@DEV
def test_images_stage_builds_both_repos_and_hands_the_digests_to_the_training_build(
    pulumi_mocks: RecordingMocks, stack_config: StackConfig
) -> None:
    run(lambda: build(stack_config, [manifest("remedy")]))
    pipeline = _named(
        pulumi_mocks, "aws:codepipeline/pipeline:Pipeline", "usecase-remedy-build-pipeline"
    )
    stages = {s["name"]: s["actions"] for s in pipeline.inputs["stages"]}
    sources = {a["name"]: a for a in stages["Source"]}
    assert sources["InferenceSource"]["configuration"]["FullRepositoryId"].endswith(
        "/remedy-inference"
    )
    assert sources["InferenceSource"]["configuration"]["DetectChanges"] == "false"
    [images] = stages["Images"]
    assert images["inputArtifacts"] == ["training_source", "inference_source"]
    assert images["configuration"]["PrimarySource"] == "training_source"
    assert images["namespace"] == "Images"
    [train] = stages["TrainingPipeline"]
    handed = {
        v["name"]: v["value"] for v in json.loads(train["configuration"]["EnvironmentVariables"])
    }
    assert handed == {
        "TRAINING_IMAGE_URI": "#{Images.TRAINING_IMAGE_URI}",
        "INFERENCE_IMAGE_URI": "#{Images.INFERENCE_IMAGE_URI}",
    }


@DEV
def test_image_build_role_pushes_only_to_its_use_cases_repositories(
    pulumi_mocks: RecordingMocks, stack_config: StackConfig
) -> None:
    run(lambda: build(stack_config, [manifest("remedy")]))
    doc = _policy(pulumi_mocks, "usecase-remedy-image-build-policy")
    by_sid = {s["Sid"]: s for s in doc["Statement"]}
    acct, region = stack_config.account_id, stack_config.region
    assert sorted(by_sid["PushOwnImages"]["Resource"]) == [
        f"arn:aws:ecr:{region}:{acct}:repository/mlops-dev-remedy-{k}"
        for k in ("inference", "training")
    ]
    assert "ecr:PutImage" in by_sid["PushOwnImages"]["Action"]
    assert by_sid["ImageKeyThroughEcr"]["Condition"] == {
        "StringEquals": {"kms:ViaService": f"ecr.{region}.amazonaws.com"}
    }
    actions = {
        a
        for s in doc["Statement"]
        for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    }
    assert not {a for a in actions if a.startswith(("iam:", "sagemaker:"))}, actions
    # the Test/TrainingPipeline build role cannot push images
    other = _policy(pulumi_mocks, "usecase-remedy-build-policy")
    assert not [s for s in other["Statement"] if "ecr:PutImage" in json.dumps(s)]


FAKE_DOCKER = """#!/bin/sh
echo "docker $*" >> "$CALLS"
"""
FAKE_AWS = """#!/bin/sh
echo "aws $*" >> "$CALLS"
case "$*" in
  *"codeartifact get-authorization-token"*) echo token ;;
  *"ecr describe-images --repository-name mlops-dev-remedy-training"*) echo "$TRAINING_DIGEST" ;;
  *"ecr describe-images --repository-name mlops-dev-remedy-inference"*) echo "$INFERENCE_DIGEST" ;;
esac
"""
# uv by hash with the image's pip, then `uv export` of each repo's locked `image` group
FAKE_PYTHON = """#!/bin/sh
echo "python $*" >> "$CALLS"
"""
FAKE_UV = """#!/bin/sh
echo "uv $* (in $PWD)" >> "$CALLS"
out=""; prev=""
for arg in "$@"; do [ "$prev" = "-o" ] && out="$arg"; prev="$arg"; done
[ -n "$out" ] && echo "numpy==2.0.0 --hash=sha256:00" > "$out"
exit 0
"""
REGISTRY = "111111111111.dkr.ecr.eu-west-2.amazonaws.com"


def _run_buildspec(tmp_path: Path, **digests: str) -> tuple[subprocess.CompletedProcess, str]:
    """Every phase's commands in one shell (as CodeBuild runs buildspec 0.2), then the exported
    variables printed as JSON."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fakes = (("docker", FAKE_DOCKER), ("aws", FAKE_AWS), ("python", FAKE_PYTHON), ("uv", FAKE_UV))
    for context in ("training", "inference"):
        (tmp_path / context).mkdir()
    for name, body in fakes:
        (bin_dir / name).write_text(body)
        (bin_dir / name).chmod(stat.S_IRWXU)
    spec = yaml.safe_load(build_and_push_images())
    exported = spec["env"]["exported-variables"]
    commands = [c for phase in ("pre_build", "build") for c in spec["phases"][phase]["commands"]]
    script = (
        "set -e\n"
        + "\n".join(commands)
        + "\n"
        + (
            "printf '{' ; "
            + " ; printf ',' ; ".join(f'printf \'"{v}": "%s"\' "${v}"' for v in exported)
            + " ; printf '}\\n'\n"
        )
    )
    calls = tmp_path / "calls.txt"
    env = {
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "CALLS": str(calls),
        "AWS_REGION": "eu-west-2",
        "CODEARTIFACT_DOMAIN": "mlops-dev-packages",
        "CODEARTIFACT_DOMAIN_OWNER": "111111111111",
        "CODEARTIFACT_REPOSITORY": "mlops-dev-pypi",
        "CODEBUILD_SRC_DIR": str(tmp_path / "training"),
        "CODEBUILD_SRC_DIR_inference_source": str(tmp_path / "inference"),
        "CODEBUILD_RESOLVED_SOURCE_VERSION": "abc123",
        "CODEBUILD_BUILD_NUMBER": "7",
        "TRAINING_REPOSITORY_URI": f"{REGISTRY}/mlops-dev-remedy-training",
        "INFERENCE_REPOSITORY_URI": f"{REGISTRY}/mlops-dev-remedy-inference",
        "TRAINING_DIGEST": digests.get("training", ""),
        "INFERENCE_DIGEST": digests.get("inference", ""),
    }
    out = subprocess.run(
        ["bash", "-c", script], env=env, capture_output=True, text=True, check=False, cwd=tmp_path
    )
    return out, calls.read_text() if calls.exists() else ""


def test_buildspec_pushes_both_images_and_exports_the_digests_the_registry_recorded(
    tmp_path: Path,
) -> None:
    training, inference = "sha256:" + "7d" * 32, "sha256:" + "1f" * 32
    out, calls = _run_buildspec(tmp_path, training=training, inference=inference)
    assert out.returncode == 0, out.stderr
    exported = json.loads(out.stdout.strip().splitlines()[-1])
    assert exported == {
        "TRAINING_IMAGE_URI": f"{REGISTRY}/mlops-dev-remedy-training@{training}",
        "INFERENCE_IMAGE_URI": f"{REGISTRY}/mlops-dev-remedy-inference@{inference}",
    }
    lines = calls.splitlines()
    tag = "abc123-7"
    assert f"docker push {REGISTRY}/mlops-dev-remedy-training:{tag}" in lines
    assert f"docker push {REGISTRY}/mlops-dev-remedy-inference:{tag}" in lines
    builds = [line for line in lines if line.startswith("docker build")]
    assert builds[0].endswith(str(tmp_path / "training"))
    assert builds[1].endswith(str(tmp_path / "inference"))
    assert all("--secret id=pip_index_url,src=/tmp/pip_index_url" in b for b in builds)
    # uv itself installed by hash, then each image's hashed requirements exported into its context
    bootstrap = next(line for line in lines if line.startswith("python -m pip install"))
    assert "--require-hashes" in bootstrap and "--no-deps" in bootstrap
    assert lines.index(bootstrap) < next(i for i, c in enumerate(lines) if c.startswith("uv "))
    for context in ("training", "inference"):
        export = next(line for line in lines if line.endswith(f"(in {tmp_path / context})"))
        assert "export --locked --no-emit-project --only-group image" in export
        assert (tmp_path / context / "image-requirements.txt").read_text().startswith("numpy==")
        assert lines.index(export) < next(
            i for i, c in enumerate(lines) if c.startswith("docker build")
        )
    assert (
        "aws ecr describe-images --repository-name mlops-dev-remedy-inference "
        f"--image-ids imageTag={tag} --query imageDetails[0].imageDigest --output text"
    ) in lines


def test_buildspec_fails_when_the_registry_has_no_digest_for_the_push(tmp_path: Path) -> None:
    out, _ = _run_buildspec(tmp_path, training="sha256:" + "7d" * 32, inference="None")
    assert out.returncode != 0
    assert f"no digest for {REGISTRY}/mlops-dev-remedy-inference:abc123-7" in out.stderr
