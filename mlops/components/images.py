"""`mlops:images:UseCaseImages` — a use case's container image repositories (dev stack).

Two ECR repositories per use case, named by `mlops.naming` exactly as the training pipeline names
its images (`mlops-dev-<usecase>-training`, `mlops-dev-<usecase>-inference`):

- KMS-encrypted with the stack's artifacts key, scan on push, IMMUTABLE tags (a tag, once pushed,
  always names the same image; the pipeline and the model package pin the digest anyway);
- a lifecycle policy keeps the last `keep_images` images (untagged ones expire after a day);
- the inference repository's policy lets the roles SageMaker endpoints run as in staging and prod
  (the use case's `mlops-<env>-<usecase>-model`, the platform's `mlops-<env>-model-execution`)
  pull — and nothing else; the principal is each account's root,
  narrowed by `aws:PrincipalArn`, so dev can be deployed before those roles exist. The training
  image is only pulled in dev, by the use case's own SageMaker pipeline role (identity policy).

Contract with the image build and the pipeline (docs/deploy.md, "Images"): the images are handed to
the pipeline build as `TRAINING_IMAGE_URI` / `INFERENCE_IMAGE_URI` = `<repo>@sha256:<digest>`
(`image_uri`), so the pipeline definition and the model package pin the digest, never a tag.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from mlops import iam
from mlops.delivery import artifacts
from mlops.naming import NameContext, usecase_name
from mlops.tags import with_component

PULL_ACTIONS = (
    "ecr:BatchCheckLayerAvailability",
    "ecr:BatchGetImage",
    "ecr:GetDownloadUrlForLayer",
)
KINDS = ("training", "inference")
PUSH_ACTIONS = (
    "ecr:BatchCheckLayerAvailability",
    "ecr:InitiateLayerUpload",
    "ecr:UploadLayerPart",
    "ecr:CompleteLayerUpload",
    "ecr:PutImage",
    "ecr:DescribeImages",
)
"""What the image build needs on its own two repositories (push, then read the pushed digest)."""
URI_VARIABLES = {"training": "TRAINING_IMAGE_URI", "inference": "INFERENCE_IMAGE_URI"}
"""The build pipeline's variables carrying each digest-pinned URI from the Images stage to the
TrainingPipeline stage (`mlops.sagemaker_pipelines.SETTINGS_ENV`)."""
EXAMPLE_DIGESTS = {
    "training": "sha256:" + "7d" * 32,
    "inference": "sha256:" + "1f" * 32,
}
"""Stand-ins for a push's digests offline (rehearsal, `mlops pipeline show`): never pushed."""


def repository_name(ctx: NameContext, usecase: str, kind: str) -> str:
    """`mlops-<env>-<usecase>-<training|inference>` (what the pipeline's image URIs name)."""
    if kind not in KINDS:
        raise ValueError(f"image kind must be one of {KINDS}, got {kind!r}")
    return usecase_name(ctx, usecase, kind)


def image_uri(account: str, region: str, repository: str, digest: str) -> str:
    """The digest-pinned URI a build hands to the pipeline (`<registry>/<repo>@sha256:<hex>`)."""
    if not digest.startswith("sha256:") or len(digest) != 71:
        raise ValueError(f"digest must be sha256:<64 hex>, got {digest!r}")
    return f"{account}.dkr.ecr.{region}.amazonaws.com/{repository}@{digest}"


def example_image_uris(ctx: NameContext, usecase: str) -> dict[str, str]:
    """`{TRAINING_IMAGE_URI: ..., INFERENCE_IMAGE_URI: ...}` with `EXAMPLE_DIGESTS` (offline)."""
    return {
        URI_VARIABLES[kind]: image_uri(
            ctx.account_id, ctx.region, repository_name(ctx, usecase, kind), EXAMPLE_DIGESTS[kind]
        )
        for kind in KINDS
    }


def push_statements(ctx: NameContext, usecase: str, key_arn: str) -> list[dict[str, Any]]:
    """The image build's ECR rights: a registry token (ECR authorises it on `*` only), push and
    describe on the use case's two repositories, and the repositories' KMS key through ECR only."""
    repos = [
        f"arn:aws:ecr:{ctx.region}:{ctx.account_id}:repository/{repository_name(ctx, usecase, k)}"
        for k in KINDS
    ]
    return [
        iam.statement("EcrLogin", "ecr:GetAuthorizationToken", "*"),
        iam.statement("PushOwnImages", list(PUSH_ACTIONS), repos),
        iam.statement(
            "ImageKeyThroughEcr",
            ["kms:GenerateDataKey", "kms:Decrypt", "kms:DescribeKey"],
            key_arn,
            condition={"StringEquals": {"kms:ViaService": f"ecr.{ctx.region}.amazonaws.com"}},
        ),
    ]


def pull_policy(puller_arns: Sequence[str]) -> dict[str, Any]:
    """Cross-account pull for exactly the given roles (by `aws:PrincipalArn`, their accounts'
    roots as principals so the policy is valid before the roles exist)."""
    accounts = sorted({arn.split(":")[4] for arn in puller_arns})
    return iam.document(
        iam.statement(
            "PullByModelExecutionRoles",
            list(PULL_ACTIONS),
            iam.NO_RESOURCE,
            principal={"AWS": [f"arn:aws:iam::{a}:root" for a in accounts]},
            condition={"ArnEquals": {"aws:PrincipalArn": sorted(puller_arns)}},
        )
    )


def lifecycle_policy(keep_images: int) -> dict[str, Any]:
    return {
        "rules": [
            {
                "rulePriority": 1,
                "description": "untagged images (superseded builds) expire after a day",
                "selection": {
                    "tagStatus": "untagged",
                    "countType": "sinceImagePushed",
                    "countUnit": "days",
                    "countNumber": 1,
                },
                "action": {"type": "expire"},
            },
            {
                "rulePriority": 2,
                "description": f"keep the last {keep_images} images",
                "selection": {
                    "tagStatus": "any",
                    "countType": "imageCountMoreThan",
                    "countNumber": keep_images,
                },
                "action": {"type": "expire"},
            },
        ]
    }


def model_execution_pullers(
    ctx: NameContext, usecase: str, accounts: Mapping[str, str]
) -> list[str]:
    """Who runs the inference image in staging and prod (its only pullers outside dev): the
    artifact contract's image pullers (`mlops.delivery.artifacts.image_pullers`)."""
    return artifacts.image_pullers(ctx, usecase, accounts)


@dataclass(frozen=True, kw_only=True)
class UseCaseImagesArgs:
    names: NameContext
    usecase: str
    tags: Mapping[str, str]
    kms_key_arn: pulumi.Input[str]
    inference_pullers: Sequence[str]
    """Role ARNs in other accounts that may pull the inference image."""
    keep_images: int = 30

    def __post_init__(self) -> None:
        if self.names.environment != "dev":
            raise ValueError(
                "UseCaseImagesArgs.names: images are built and stored in the dev (governance) "
                f"account, not {self.names.environment}"
            )
        if self.keep_images < 2:
            raise ValueError("UseCaseImagesArgs.keep_images: keep at least 2 (current + previous)")


class UseCaseImages(pulumi.ComponentResource):
    def __init__(
        self, name: str, args: UseCaseImagesArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mlops:images:UseCaseImages", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        tags = with_component(args.tags, "images")
        self.repositories: dict[str, aws.ecr.Repository] = {}
        for kind in KINDS:
            repo = aws.ecr.Repository(
                f"{name}-{kind}",
                name=repository_name(args.names, args.usecase, kind),
                image_tag_mutability="IMMUTABLE",
                image_scanning_configuration=aws.ecr.RepositoryImageScanningConfigurationArgs(
                    scan_on_push=True
                ),
                encryption_configurations=[
                    aws.ecr.RepositoryEncryptionConfigurationArgs(
                        encryption_type="KMS", kms_key=args.kms_key_arn
                    )
                ],
                tags={**tags, "image": kind},
                opts=child,
            )
            aws.ecr.LifecyclePolicy(
                f"{name}-{kind}-lifecycle",
                repository=repo.name,
                policy=json.dumps(lifecycle_policy(args.keep_images), sort_keys=True),
                opts=pulumi.ResourceOptions(parent=repo),
            )
            self.repositories[kind] = repo
        inference = self.repositories["inference"]
        self.inference_policy = None
        if args.inference_pullers:
            self.inference_policy = aws.ecr.RepositoryPolicy(
                f"{name}-inference-policy",
                repository=inference.name,
                policy=json.dumps(pull_policy(args.inference_pullers), sort_keys=True),
                opts=pulumi.ResourceOptions(parent=inference),
            )
        self.register_outputs(
            {f"{kind}_repository_url": r.repository_url for kind, r in self.repositories.items()}
        )
