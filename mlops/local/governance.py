"""Model approval on the embedded AWS, under the platform's real IAM policies.

moto does not enforce IAM by default, so local mode evaluates the same identity policies the
platform gives each persona with moto's IAM policy engine before it calls `UpdateModelPackage`: a
data scientist acts with their Studio role's policy (`mlops.components.identity.studio_policy`) and
is refused by its explicit `DenyApproveModelPackages` statement; a lead acts as the use case's
approver role (`mlops.components.approvers.approver_policy`, the role leads assume from IAM
Identity Center), which may approve this use case's packages only. The approval records who
approved, as which persona and when, on the package (customer metadata).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from mlops.components.approvers import approver_policy
from mlops.components.identity import APPROVE_ACTIONS, studio_policy
from mlops.errors import MlopsError
from mlops.local.environment import LOCAL_ACCOUNT, LocalPlatform
from mlops.naming import usecase_name


class ApprovalDenied(MlopsError):
    """The caller's IAM policy does not allow approving model packages."""


@dataclass(frozen=True)
class ApprovalResult:
    package_arn: str
    persona: str
    user: str
    status: str
    approved_at: str


def persona_policy(platform: LocalPlatform, persona: str) -> dict[str, Any]:
    if persona == "lead-data-scientist":
        return approver_policy(
            platform.ctx,
            usecase_name(platform.ctx, platform.usecase, "deploy"),
            platform.model_package_group,
        )
    return studio_policy(
        persona,
        region=platform.ctx.region,
        account_id=LOCAL_ACCOUNT,
        bucket_arns=[f"arn:aws:s3:::{b}" for b in platform.buckets.values()],
        key_arns=list(platform.key_arns.values()),
        passable_role_arns=[f"arn:aws:iam::{LOCAL_ACCOUNT}:role/mlops-local-studio-execution"],
    )


def evaluate(policy: dict[str, Any], action: str, resource: str) -> str:
    """'allowed', 'explicitly denied' or 'not allowed' (implicit deny), by moto's IAM engine."""
    from moto.iam.access_control import IAMPolicy, PermissionResult

    result = IAMPolicy(json.dumps(policy)).is_action_permitted(action, resource)
    return {
        PermissionResult.PERMITTED: "allowed",
        PermissionResult.DENIED: "explicitly denied",
    }.get(result, "not allowed")


def approve(
    sagemaker: Any,
    platform: LocalPlatform,
    package_arn: str,
    *,
    persona: str,
    user: str,
    now: datetime | None = None,
) -> ApprovalResult:
    """Approve `package_arn` as `user` acting as `persona`; raises ApprovalDenied if IAM says no."""
    policy = persona_policy(platform, persona)
    for action in APPROVE_ACTIONS:
        verdict = evaluate(policy, action, package_arn)
        if verdict != "allowed":
            raise ApprovalDenied(
                f"{user} ({persona}) may not approve {package_arn}: {action} is {verdict} "
                "by the platform's IAM policy for that persona",
                "ask a lead data scientist to review and approve the model package",
            )
    approved_at = (now or datetime.now(UTC)).isoformat(timespec="seconds")
    sagemaker.update_model_package(
        ModelPackageArn=package_arn,
        ModelApprovalStatus="Approved",
        ApprovalDescription=f"approved by {user} ({persona})",
        CustomerMetadataProperties={
            "mlops:approved-by": user,
            "mlops:approved-as": persona,
            "mlops:approved-at": approved_at,
        },
    )
    status = sagemaker.describe_model_package(ModelPackageName=package_arn)["ModelApprovalStatus"]
    return ApprovalResult(package_arn, persona, user, status, approved_at)
