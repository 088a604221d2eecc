"""UseCaseImages: per-use-case ECR repositories (KMS, scan on push, immutable tags, lifecycle) and a
cross-account pull policy naming only the roles that run the inference image in staging and prod."""

from __future__ import annotations

import json

import pytest

from components._helpers import ctx_of, tags_of
from mlops.components.images import (
    UseCaseImages,
    UseCaseImagesArgs,
    image_uri,
    model_execution_pullers,
    repository_name,
)
from mlops.config import StackConfig
from mlops.testing.mocks import RecordingMocks, run

KEY = "arn:aws:kms:eu-west-2:111111111111:key/artifacts"
DEV = pytest.mark.parametrize("stack_config", ["dev"], indirect=True)


def _args(cfg: StackConfig, **kw) -> UseCaseImagesArgs:
    ctx = ctx_of(cfg)
    values = dict(
        names=ctx,
        usecase="remedy",
        tags=tags_of(cfg),
        kms_key_arn=KEY,
        inference_pullers=model_execution_pullers(ctx, "remedy", cfg.accounts.model_dump()),
    )
    values.update(kw)
    return UseCaseImagesArgs(**values)


@DEV
def test_repositories_are_encrypted_scanned_and_immutable(
    stack_config: StackConfig, pulumi_mocks: RecordingMocks
) -> None:
    run(lambda: UseCaseImages("images", _args(stack_config)))
    repos = {r.inputs["name"]: r for r in pulumi_mocks.of_type("aws:ecr/repository:Repository")}
    assert set(repos) == {"mlops-dev-remedy-training", "mlops-dev-remedy-inference"}
    for name, r in repos.items():
        assert r.inputs["imageTagMutability"] == "IMMUTABLE", name
        assert r.inputs["imageScanningConfiguration"] == {"scanOnPush": True}, name
        assert r.inputs["encryptionConfigurations"] == [{"encryptionType": "KMS", "kmsKey": KEY}], (
            name
        )
    lifecycles = pulumi_mocks.of_type("aws:ecr/lifecyclePolicy:LifecyclePolicy")
    assert len(lifecycles) == 2
    rules = json.loads(lifecycles[0].inputs["policy"])["rules"]
    assert rules[-1]["selection"]["countNumber"] == 30


@DEV
def test_only_the_staging_and_prod_serving_roles_may_pull_the_inference_image(
    stack_config: StackConfig, pulumi_mocks: RecordingMocks
) -> None:
    run(lambda: UseCaseImages("images", _args(stack_config)))
    [policy] = pulumi_mocks.of_type("aws:ecr/repositoryPolicy:RepositoryPolicy")
    assert policy.inputs["repository"] == "mlops-dev-remedy-inference"
    [statement] = json.loads(policy.inputs["policy"])["Statement"]
    assert statement["Principal"] == {
        "AWS": ["arn:aws:iam::222222222222:root", "arn:aws:iam::333333333333:root"]
    }
    assert sorted(statement["Action"]) == [
        "ecr:BatchCheckLayerAvailability",
        "ecr:BatchGetImage",
        "ecr:GetDownloadUrlForLayer",
    ]
    assert statement["Condition"]["ArnEquals"]["aws:PrincipalArn"] == [
        "arn:aws:iam::222222222222:role/mlops-staging-model-execution",
        "arn:aws:iam::222222222222:role/mlops-staging-remedy-model",
        "arn:aws:iam::333333333333:role/mlops-prod-model-execution",
        "arn:aws:iam::333333333333:role/mlops-prod-remedy-model",
    ]


@pytest.mark.parametrize("stack_config", ["staging", "prod"], indirect=True)
def test_images_live_in_dev_only(stack_config: StackConfig) -> None:
    with pytest.raises(ValueError, match="dev \\(governance\\) account"):
        UseCaseImagesArgs(
            names=ctx_of(stack_config), usecase="remedy", tags={}, kms_key_arn=KEY,
            inference_pullers=[],
        )  # fmt: skip


def test_digest_pinned_uri_contract() -> None:
    digest = "sha256:" + "a" * 64
    assert image_uri("111111111111", "eu-west-2", "mlops-dev-remedy-training", digest) == (
        f"111111111111.dkr.ecr.eu-west-2.amazonaws.com/mlops-dev-remedy-training@{digest}"
    )
    with pytest.raises(ValueError, match="sha256"):
        image_uri("111111111111", "eu-west-2", "r", "latest")
    with pytest.raises(ValueError, match="training"):
        repository_name(ctx_of_dev(), "remedy", "notebook")


def ctx_of_dev():
    from mlops.naming import NameContext

    return NameContext("dev", "111111111111", "eu-west-2")


def test_the_platform_program_creates_both_repositories_per_use_case() -> None:
    from mlops.program import build_stack

    dev = build_stack("dev")
    names = {r.inputs["name"] for r in dev.of_type("aws:ecr/repository:Repository")}
    assert {"mlops-dev-remedy-training", "mlops-dev-remedy-inference"} <= names
