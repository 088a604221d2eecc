"""Build UseCase components under the recording mocks with stand-in platform inputs."""

from __future__ import annotations

import copy
from typing import Any

import yaml

from mlops.components.usecase import UseCase, UseCaseArgs
from mlops.config import StackConfig
from mlops.tags import base_tags
from mlops.usecases import USECASES_DIR, UseCaseManifest, parse_manifest

REMEDY: dict[str, Any] = yaml.safe_load((USECASES_DIR / "remedy.yaml").read_text())


def manifest(name: str = "remedy", **changes: Any) -> UseCaseManifest:
    data = copy.deepcopy(REMEDY)
    data["name"] = name
    data["git"] = {
        **data["git"],
        "training_repo": f"{name}-training",
        "inference_repo": f"{name}-inference",
    }
    data.update(changes)
    return parse_manifest(data)


def args_for(cfg: StackConfig, m: UseCaseManifest, **overrides: Any) -> UseCaseArgs:
    values: dict[str, Any] = dict(
        manifest=m,
        config=cfg,
        tags=base_tags(cfg),
        kms_key_arn=f"arn:aws:kms:{cfg.region}:{cfg.account_id}:key/artifacts",
    )
    if not cfg.is_governance:  # dev endpoints run as the use case's own model role
        values["model_execution_role_arn"] = (
            f"arn:aws:iam::{cfg.account_id}:role/mlops-{cfg.environment}-model-execution"
        )
    if cfg.is_governance:
        values.update(
            artifact_bucket=f"mlops-dev-pipeline-artifacts-{cfg.account_id}-{cfg.region}",
            model_artifacts_bucket=f"mlops-dev-model-artifacts-{cfg.account_id}-{cfg.region}",
            vpc_id="vpc-0a1b2c3d",
            subnet_ids=["subnet-0a", "subnet-0b"],
            security_group_ids=["sg-0build"],
            git_connection_arn=cfg.git.connection_arn,
            lead_data_scientist_role_name="mlops-dev-lead-data-scientist",
            data_scientist_role_name="mlops-dev-data-scientist",
        )
    values.update(overrides)
    return UseCaseArgs(**values)


def build(cfg: StackConfig, manifests: list[UseCaseManifest]) -> list[UseCase]:
    return [UseCase(f"usecase-{m.name}", args_for(cfg, m)) for m in manifests]
