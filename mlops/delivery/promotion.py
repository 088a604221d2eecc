"""Promotion metadata: each deployment records stage, package ARN/version and approver on the model
package itself (``CustomerMetadataProperties``), so "what is in prod and who approved it" has one
answer: the model registry.

``promotion_metadata`` is pure; ``record_promotion``, ``approver_from_pipeline`` and ``in_stage``
are thin boto3 adapters (tested against moto / stubs).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from mlops.errors import MlopsError

STAGES = ("dev", "staging", "prod")
PREFIX = "mlops"
MAX_KEY, MAX_VALUE, MAX_ENTRIES = 128, 256, 50  # SageMaker limits on customer metadata


class PromotionError(MlopsError):
    """A promotion cannot be recorded (wrong order, bad stage, metadata limits)."""


def _key(stage: str, field: str) -> str:
    return f"{PREFIX}:{stage}:{field}"


def deployed_marker(stage: str) -> str:
    """The key whose presence means "this package has been deployed to `stage`"."""
    return _key(stage, "deployed-at")


@dataclass(frozen=True)
class Promotion:
    stage: str
    package_arn: str
    version: int
    approver: str
    deployed_at: str
    execution_id: str = ""


def promotion_metadata(existing: Mapping[str, str], promotion: Promotion) -> dict[str, str]:
    """`existing` customer metadata plus this promotion; checks the dev → staging → prod order."""
    if promotion.stage not in STAGES:
        raise PromotionError(f"unknown stage {promotion.stage!r}", f"use one of {STAGES}")
    if not promotion.approver:
        raise PromotionError(
            f"no approver for the {promotion.stage} deployment of {promotion.package_arn}",
            "every deployment records who approved it; pass the approver's IAM identity",
        )
    index = STAGES.index(promotion.stage)
    if index and deployed_marker(STAGES[index - 1]) not in existing:
        raise PromotionError(
            f"{promotion.package_arn} was never deployed to {STAGES[index - 1]}; "
            f"it cannot be promoted to {promotion.stage}",
            "promote through dev → staging → prod with the deploy pipeline",
        )
    record = {
        deployed_marker(promotion.stage): promotion.deployed_at,
        _key(promotion.stage, "approved-by"): promotion.approver,
        _key(promotion.stage, "package-arn"): promotion.package_arn,
        _key(promotion.stage, "package-version"): str(promotion.version),
        f"{PREFIX}:current-stage": promotion.stage,
    }
    if promotion.execution_id:
        record[_key(promotion.stage, "pipeline-execution")] = promotion.execution_id
    merged = {**existing, **record}
    for k, v in merged.items():
        if len(k) > MAX_KEY or len(v) > MAX_VALUE:
            raise PromotionError(
                f"customer metadata {k!r} exceeds SageMaker's limits ({MAX_KEY}/{MAX_VALUE} chars)",
                "shorten the value (approver identities are ARNs; trim the session name)",
            )
    if len(merged) > MAX_ENTRIES:
        raise PromotionError(
            f"{len(merged)} customer metadata entries exceed SageMaker's limit of {MAX_ENTRIES}",
            "remove unused metadata keys from the model package",
        )
    return merged


def parse_promotion(metadata: Mapping[str, str], stage: str) -> Promotion | None:
    if deployed_marker(stage) not in metadata:
        return None
    return Promotion(
        stage=stage,
        package_arn=metadata[_key(stage, "package-arn")],
        version=int(metadata[_key(stage, "package-version")]),
        approver=metadata[_key(stage, "approved-by")],
        deployed_at=metadata[deployed_marker(stage)],
        execution_id=metadata.get(_key(stage, "pipeline-execution"), ""),
    )


# --- adapters -------------------------------------------------------------------------------
class SageMakerClient(Protocol):
    def describe_model_package(self, **kwargs: Any) -> dict[str, Any]: ...
    def update_model_package(self, **kwargs: Any) -> dict[str, Any]: ...
    def list_model_packages(self, **kwargs: Any) -> dict[str, Any]: ...


class CodePipelineClient(Protocol):
    def list_action_executions(self, **kwargs: Any) -> dict[str, Any]: ...


def record_promotion(
    client: SageMakerClient,
    package_arn: str,
    stage: str,
    approver: str,
    execution_id: str = "",
    now: datetime | None = None,
) -> dict[str, str]:
    """Write the promotion onto the model package; returns the new customer metadata."""
    described = client.describe_model_package(ModelPackageName=package_arn)
    existing = described.get("CustomerMetadataProperties") or {}
    promotion = Promotion(
        stage=stage,
        package_arn=package_arn,
        version=int(described.get("ModelPackageVersion") or package_arn.rsplit("/", 1)[-1]),
        approver=approver,
        deployed_at=(now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        execution_id=execution_id,
    )
    metadata = promotion_metadata(existing, promotion)
    update: dict[str, Any] = {
        "ModelPackageArn": package_arn,
        "CustomerMetadataProperties": metadata,
    }
    if described.get("ModelApprovalStatus"):
        # restate the status unchanged: some implementations (moto) reset fields left out
        update["ModelApprovalStatus"] = described["ModelApprovalStatus"]
    client.update_model_package(**update)
    return metadata


def approver_from_pipeline(
    client: CodePipelineClient, pipeline: str, execution_id: str, approval_action: str
) -> str:
    """Who approved `approval_action` ("<stage>/<action>") in this pipeline execution (CodePipeline
    records the approver's identity on the action execution)."""
    stage, _, action = approval_action.rpartition("/")
    response = client.list_action_executions(
        pipelineName=pipeline, filter={"pipelineExecutionId": execution_id}
    )
    for detail in response.get("actionExecutionDetails", []):
        if (
            detail.get("actionName") == action
            and detail.get("stageName", stage) == stage
            and detail.get("status") == "Succeeded"
        ):
            who = detail.get("updatedBy") or ""
            if who:
                return who
    raise PromotionError(
        f"no approval by anyone for {approval_action} in {pipeline} execution {execution_id}",
        "the deploy stage must run after its manual approval action succeeded",
    )


def registry_approver(described: Mapping[str, Any]) -> str:
    """Who set the package to Approved in the registry (SageMaker keeps LastModifiedBy)."""
    who = described.get("LastModifiedBy") or {}
    identity = (who.get("IamIdentity") or {}).get("Arn") or who.get("UserProfileName") or ""
    if not identity:
        raise PromotionError(
            f"the registry does not say who approved {described.get('ModelPackageArn')}",
            "approve packages from Studio or with an IAM identity (not anonymously)",
        )
    return identity


def list_packages(client: SageMakerClient, group: str) -> list[dict[str, Any]]:
    """Every package of `group`, described (customer metadata is not in the summaries)."""
    summaries: list[dict[str, Any]] = []
    args: dict[str, Any] = {"ModelPackageGroupName": group, "MaxResults": 100}
    while True:
        page = client.list_model_packages(**args)
        summaries += page.get("ModelPackageSummaryList", [])
        if not page.get("NextToken"):
            break
        args["NextToken"] = page["NextToken"]
    return [client.describe_model_package(ModelPackageName=s["ModelPackageArn"]) for s in summaries]


def in_stage(client: SageMakerClient, group: str, stage: str) -> Promotion | None:
    """The package most recently deployed to `stage` in `group`, with who approved it."""
    latest: Promotion | None = None
    for described in list_packages(client, group):
        found = parse_promotion(described.get("CustomerMetadataProperties") or {}, stage)
        if found and (latest is None or found.deployed_at > latest.deployed_at):
            latest = found
    return latest
