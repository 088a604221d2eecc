"""Governance attacks of one use case (issue 23), declared next to the `UseCase` that creates the
roles they turn against the platform (`mlops.rehearsal.declare`; a no-op outside a rehearsal).

Each attack is a call that must be refused (`expect="deny"`); `mlops rehearse --scenario attacks`
shows the statement that refuses it. The data scientist's and the training build's bypasses of the
promotion gates are declared with the gates (`deploy_pipeline.DeployPipeline._declare_people`).
"""

from __future__ import annotations

from typing import Any

import pulumi

from mlops.components.usecase_builds import DeliveryArgs
from mlops.rehearsal import declare

DENY = "deny"


def _status(status: str) -> dict[str, str]:
    return {"sagemaker:ModelApprovalStatus": status}


def declare_registry_attacks(
    a: DeliveryArgs,
    group_name: str,
    pipeline_role_arn: pulumi.Input[str],
    build_role_arn: pulumi.Input[str],
    deploy_build_role_arn: pulumi.Input[str],
) -> None:
    """23.1: the roles that legitimately write to the registry (the SageMaker pipeline registers,
    the deploy build records promotions) can never set an approval status: only the lead can."""
    cfg = a.config
    region, acct = cfg.region, cfg.account_id
    package = f"arn:aws:sagemaker:{region}:{acct}:model-package/{group_name}/99"
    calls: list[tuple[Any, str, list[dict[str, Any]]]] = [
        (
            pipeline_role_arn,
            "a modified training pipeline registers its model as Approved",
            [
                declare.call(
                    "sagemaker:CreateModelPackage", package, expect=DENY,
                    context=_status("Approved"),
                    why="register straight into Approved (fires the deploy to dev)",
                ),
                declare.call(
                    "sagemaker:UpdateModelPackage", package, expect=DENY,
                    context=_status("Approved"),
                    why="approve its own package",
                ),
            ],
        ),
        (
            deploy_build_role_arn,
            "the deploy build approves a package",
            [
                declare.call(
                    "sagemaker:UpdateModelPackage", package, expect=DENY,
                    context=_status("Approved"),
                    why="approve a package while recording a promotion",
                ),
            ],
        ),
        (
            build_role_arn,
            "the training build re-approves a rejected package",
            [
                declare.call(
                    "sagemaker:UpdateModelPackage", package, expect=DENY,
                    context=_status("Approved"),
                    why="approve a package",
                ),
            ],
        ),
    ]  # fmt: skip
    for i, (principal, step, step_calls) in enumerate(calls):
        declare.actor(
            flow="attacks",
            step=step,
            principal=principal,
            account=acct,
            origin=declare.AWS_SERVICE,
            calls=step_calls,
            order=920 + i,
        )
