"""Rollback: put the previous (or a named) approved model package back into a stage, through the
deploy pipeline — never by editing the endpoint — and record who, when and why in the registry.

The registry (customer metadata on the model packages) is the one record:

- the package rolled back *to* gets ``mlops:<stage>:rollback-at|-by|-reason|-from|-execution``
  (when, who, why, the version it replaces, the deploy pipeline execution that redeploys it);
- the package rolled back *from* gets ``mlops:<stage>:rolled-back-at|-to``, so it is never again
  chosen as "the previous package" of that stage and a second request for the same live package
  (a repeated registry event) starts nothing.

Once the pipeline has redeployed the target, its ordinary promotion record
(``mlops:<stage>:deployed-at``, ``mlops.delivery.promotion``) makes it the live package again.

The same code path serves three callers:

- ``mlops rollback <usecase> --stage S [--to ARN] --reason "..."`` (``rollback`` with a
  ``PipelineDeployer``: ``codepipeline:StartPipelineExecution`` with the pipeline variables
  ``PACKAGE_ARN`` and ``ROLLBACK_STAGE``; the pipeline skips every other stage's gate, deploy and
  smoke test, and the stage's own gate and smoke test still apply);
- the registry: rejecting a package that is live in a stage (``lambda_handler``, behind the
  EventBridge rule of ``mlops.components.deploy_pipeline``) rolls back every stage it is live in;
- local mode (``LocalDeployer``): the embedded registry records the rollback and the redeploy
  at once; the caller's callback serves the package (the demo restarts its local services).

Stand-alone: stdlib plus ``mlops.delivery.promotion`` (itself stdlib-only), so the Lambda ships
these modules as they are; boto3 comes from the Lambda runtime.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from mlops.delivery.promotion import (
    MAX_ENTRIES,
    MAX_VALUE,
    PREFIX,
    STAGES,
    Promotion,
    PromotionError,
    deployed_marker,
    list_packages,
    parse_promotion,
    record_promotion,
)

NONE = "none"
"""Value of the pipeline variables ``PACKAGE_ARN`` and ``ROLLBACK_STAGE`` in an ordinary run."""
PACKAGE_VARIABLE, STAGE_VARIABLE = "PACKAGE_ARN", "ROLLBACK_STAGE"
REASON_MAX = MAX_VALUE
# SageMaker accepts customer metadata values of letters, digits, spaces and _.:/=+-@ only
_METADATA_VALUE = re.compile(r"^[\w\s.:/=+\-@]*$")
_PACKAGE_ARN = re.compile(r"^arn:aws[a-z-]*:sagemaker:[a-z0-9-]+:\d{12}:model-package/[^/]+/\d+$")


class RollbackError(PromotionError):
    """A rollback cannot be started (nothing to roll back to, a bad target, a bad reason)."""


def _key(stage: str, name: str) -> str:
    return f"{PREFIX}:{stage}:{name}"


@dataclass(frozen=True)
class Rollback:
    """One recorded rollback of `stage`: from `from_version` to the package `to_arn`."""

    stage: str
    to_arn: str
    to_version: int
    from_version: int
    requested_by: str
    requested_at: str
    reason: str
    execution_id: str
    completed: bool
    """The deploy pipeline has redeployed the target since (its deployed-at is later)."""


@dataclass(frozen=True)
class RollbackResult:
    stage: str
    live: Promotion
    target_arn: str
    target_version: int
    execution_id: str
    requested_by: str
    requested_at: str
    reason: str
    metadata: dict[str, dict[str, str]] = field(default_factory=dict)
    """What was written to the registry, per package ARN."""


class Deployer(Protocol):
    """Starts the redeploy of `package_arn` to `stage`; returns the execution's id."""

    def start(self, package_arn: str, stage: str) -> str: ...


# --- pure ------------------------------------------------------------------------------------
def _meta(package: Mapping[str, Any]) -> Mapping[str, str]:
    return package.get("CustomerMetadataProperties") or {}


def _version(package: Mapping[str, Any]) -> int:
    return int(package.get("ModelPackageVersion") or package["ModelPackageArn"].rsplit("/", 1)[1])


def check_stage(stage: str) -> str:
    if stage not in STAGES:
        raise RollbackError(f"--stage {stage!r} is not a stage", f"use one of {', '.join(STAGES)}")
    return stage


def check_reason(reason: str) -> str:
    """The reason is recorded in the registry: required, at most 256 characters, and only the
    characters SageMaker accepts in customer metadata."""
    reason = " ".join(reason.split())
    if not reason:
        raise RollbackError(
            "--reason is required: a rollback records why",
            'say why, e.g. --reason "p99 latency doubled after version 7"',
        )
    if len(reason) > REASON_MAX:
        raise RollbackError(
            f"--reason is {len(reason)} characters; the registry keeps at most {REASON_MAX}",
            "shorten the reason (link a ticket id for the details)",
        )
    if not _METADATA_VALUE.match(reason):
        bad = sorted({c for c in reason if not _METADATA_VALUE.match(c)})
        raise RollbackError(
            f"--reason contains {' '.join(repr(c) for c in bad)}, which the model registry "
            "does not accept",
            "use letters, digits, spaces and _ . : / = + - @ only",
        )
    return reason


def live_in(packages: Sequence[Mapping[str, Any]], stage: str) -> Promotion | None:
    """The package most recently deployed to `stage` (what `mlops promotions` shows)."""
    found = [p for p in (parse_promotion(_meta(pkg), stage) for pkg in packages) if p]
    return max(found, key=lambda p: p.deployed_at, default=None)


def rolled_back(package: Mapping[str, Any], stage: str) -> bool:
    """The package was rolled back out of `stage` after its latest deployment there."""
    meta = _meta(package)
    return meta.get(_key(stage, "rolled-back-at"), "") >= meta.get(deployed_marker(stage), "~")


def choose_target(
    packages: Sequence[Mapping[str, Any]], stage: str, to: str | None = None
) -> tuple[Promotion, Mapping[str, Any]]:
    """(the live promotion, the package to roll back to). Without `to`: the Approved package
    deployed to `stage` most recently before the live one, skipping packages rolled back out of
    it. With `to`: that package, which must be Approved, of this group, not the live one, and
    deployed to the stage before `stage` (so the promotion order still holds)."""
    check_stage(stage)
    live = live_in(packages, stage)
    if live is None:
        raise RollbackError(
            f"nothing is deployed to {stage}: there is nothing to roll back",
            "deploy a package through the deploy pipeline first",
        )
    if rolled_back(_by_arn(packages)[live.package_arn], stage):
        raise RollbackError(
            f"version {live.version} in {stage} is already being rolled back",
            "wait for the deploy pipeline execution recorded on the package "
            "(`mlops promotions` shows it)",
        )
    if to is not None:
        return live, _named_target(packages, stage, live, to)
    candidates = [
        p
        for p in packages
        if p.get("ModelApprovalStatus") == "Approved"
        and p["ModelPackageArn"] != live.package_arn
        and deployed_marker(stage) in _meta(p)
        and not rolled_back(p, stage)
    ]
    if not candidates:
        raise RollbackError(
            f"no earlier Approved package was deployed to {stage} (live: version {live.version})",
            "name the package to deploy with --to <model-package-arn>",
        )
    return live, max(candidates, key=lambda p: _meta(p)[deployed_marker(stage)])


def _by_arn(packages: Sequence[Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
    return {p["ModelPackageArn"]: p for p in packages}


def _named_target(
    packages: Sequence[Mapping[str, Any]], stage: str, live: Promotion, to: str
) -> Mapping[str, Any]:
    if not _PACKAGE_ARN.match(to):
        raise RollbackError(
            f"--to {to!r} is not a model package ARN",
            "give arn:aws:sagemaker:<region>:<account>:model-package/<group>/<version> "
            "(`mlops promotions` lists them)",
        )
    target = _by_arn(packages).get(to)
    if target is None:
        raise RollbackError(
            f"--to {to} is not a package of this use case's model package group",
            "pick a package of the use case's group",
        )
    if to == live.package_arn:
        raise RollbackError(
            f"--to {to} is what {stage} runs already", "name an earlier package, or leave out --to"
        )
    if target.get("ModelApprovalStatus") != "Approved":
        raise RollbackError(
            f"--to {to} is {target.get('ModelApprovalStatus')}, not Approved",
            "only Approved packages are deployed; pick another or have the lead approve it",
        )
    index = STAGES.index(stage)
    needed = STAGES[index - 1] if index else stage
    if index and deployed_marker(needed) not in _meta(target):
        raise RollbackError(
            f"--to {to} was never deployed to {needed}, so it cannot go to {stage}",
            "pick a package that went through the earlier stages",
        )
    return target


def rollback_metadata(
    target: Mapping[str, Any],
    live_package: Mapping[str, Any],
    stage: str,
    *,
    requested_by: str,
    requested_at: str,
    reason: str,
    execution_id: str,
) -> dict[str, dict[str, str]]:
    """The customer metadata of both packages after the rollback is recorded (checked against
    SageMaker's limits before anything is started)."""
    if not requested_by:
        raise RollbackError("no identity for the rollback", "run it with an IAM identity")
    to_record = {
        _key(stage, "rollback-at"): requested_at,
        _key(stage, "rollback-by"): requested_by,
        _key(stage, "rollback-reason"): reason,
        _key(stage, "rollback-from"): str(_version(live_package)),
        _key(stage, "rollback-execution"): execution_id,
    }
    from_record = {
        _key(stage, "rolled-back-at"): requested_at,
        _key(stage, "rolled-back-to"): str(_version(target)),
    }
    out = {
        target["ModelPackageArn"]: {**_meta(target), **to_record},
        live_package["ModelPackageArn"]: {**_meta(live_package), **from_record},
    }
    for arn, merged in out.items():
        too_long = [k for k, v in merged.items() if len(v) > MAX_VALUE]
        if too_long or len(merged) > MAX_ENTRIES:
            raise RollbackError(
                f"the rollback record of {arn} exceeds SageMaker's metadata limits "
                f"({MAX_ENTRIES} entries, {MAX_VALUE} characters): {too_long or len(merged)}",
                "remove unused metadata keys from the model package",
            )
    return out


def rollback_package(
    packages: Sequence[Mapping[str, Any]],
    stage: str,
    execution_id: str,
    package_arn: str,
    rollback_stage: str,
) -> str:
    """The deploy build's choice in a rollback execution: exactly the package whose recorded
    rollback of `stage` names this execution (a pipeline started with made-up variables deploys
    nothing)."""
    if rollback_stage != stage:
        raise RollbackError(
            f"this execution rolls back {rollback_stage}, not {stage}",
            f"the stage conditions skip every stage but {rollback_stage}: check the pipeline",
        )
    package = _by_arn(packages).get(package_arn)
    recorded = _meta(package).get(_key(stage, "rollback-execution")) if package else None
    if package is None or recorded != execution_id:
        raise RollbackError(
            f"no rollback of {stage} to {package_arn} is recorded for execution {execution_id}",
            "roll back with `mlops rollback` (it records the request, then the pipeline runs it)",
        )
    if package.get("ModelApprovalStatus") != "Approved":
        raise RollbackError(
            f"{package_arn} is {package.get('ModelApprovalStatus')} now, not Approved",
            "roll back to another package",
        )
    return package_arn


def rollbacks(packages: Sequence[Mapping[str, Any]], stage: str) -> list[Rollback]:
    """The rollbacks of `stage` recorded in the registry, oldest first (the latest per target)."""
    found = []
    for p in packages:
        meta = _meta(p)
        at = meta.get(_key(stage, "rollback-at"))
        if not at:
            continue
        found.append(
            Rollback(
                stage=stage,
                to_arn=p["ModelPackageArn"],
                to_version=_version(p),
                from_version=int(meta.get(_key(stage, "rollback-from"), "0")),
                requested_by=meta.get(_key(stage, "rollback-by"), ""),
                requested_at=at,
                reason=meta.get(_key(stage, "rollback-reason"), ""),
                execution_id=meta.get(_key(stage, "rollback-execution"), ""),
                completed=meta.get(deployed_marker(stage), "") >= at,
            )
        )
    return sorted(found, key=lambda r: r.requested_at)


def _now(now: datetime | None) -> str:
    return (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- adapters ---------------------------------------------------------------------------------
def _write(
    sagemaker: Any, package: Mapping[str, Any], metadata: Mapping[str, str], restate_status: bool
) -> None:
    """Metadata only. AWS keeps what an update leaves out, and the group's resource policy
    refuses an approval status from anyone but the leads (the rollback function is not one), so
    the status is never sent — except to moto (`restate_status`), which resets what is left out."""
    update: dict[str, Any] = {
        "ModelPackageArn": package["ModelPackageArn"],
        "CustomerMetadataProperties": dict(metadata),
    }
    if restate_status and package.get("ModelApprovalStatus"):
        update["ModelApprovalStatus"] = package["ModelApprovalStatus"]
    sagemaker.update_model_package(**update)


@dataclass(frozen=True)
class PipelineDeployer:
    """The use case's deploy pipeline (dev account): one execution that deploys `package_arn`
    to `stage` only (`PACKAGE_ARN`, `ROLLBACK_STAGE`; the other stages are skipped)."""

    codepipeline: Any
    pipeline: str

    def start(self, package_arn: str, stage: str) -> str:
        response = self.codepipeline.start_pipeline_execution(
            name=self.pipeline,
            variables=[
                {"name": PACKAGE_VARIABLE, "value": package_arn},
                {"name": STAGE_VARIABLE, "value": stage},
            ],
        )
        return response["pipelineExecutionId"]


@dataclass
class LocalDeployer:
    """Local mode: no pipeline; `serve(package_arn, stage)` serves the package (the demo restarts
    its services with it) and the registry records the redeploy at once, as the deploy
    pipeline's record step would."""

    sagemaker: Any
    approver: str
    serve: Callable[[str, str], None] = lambda package_arn, stage: None
    started: list[tuple[str, str]] = field(default_factory=list)

    def start(self, package_arn: str, stage: str) -> str:
        execution_id = f"local-{len(self.started) + 1}"
        self.serve(package_arn, stage)
        self.started.append((package_arn, stage))
        return execution_id

    def complete(self, package_arn: str, stage: str, execution_id: str, now: datetime) -> None:
        record_promotion(
            self.sagemaker, package_arn, stage, self.approver, execution_id=execution_id, now=now
        )


def rollback(
    sagemaker: Any,
    deployer: Deployer,
    group: str,
    stage: str,
    *,
    reason: str,
    requested_by: str,
    to: str | None = None,
    now: datetime | None = None,
    restate_status: bool = False,
) -> RollbackResult:
    """Roll `stage` back to the previous (or the named) Approved package: checks everything,
    starts the deploy, then records who, when and why on both packages. `restate_status`: the
    registry is moto (local mode, tests; see `_write`)."""
    check_stage(stage)
    reason = check_reason(reason)
    packages = list_packages(sagemaker, group)
    live, target = choose_target(packages, stage, to)
    live_package = _by_arn(packages)[live.package_arn]
    moment = now or datetime.now(UTC)
    at = _now(moment)
    # dry run of the record: a limit breach must stop the rollback before the deploy starts
    rollback_metadata(target, live_package, stage, requested_by=requested_by, requested_at=at,
                      reason=reason, execution_id="x" * 64)  # fmt: skip
    execution_id = deployer.start(target["ModelPackageArn"], stage)
    metadata = rollback_metadata(
        target, live_package, stage, requested_by=requested_by, requested_at=at, reason=reason,
        execution_id=execution_id,
    )  # fmt: skip
    restate = restate_status or isinstance(deployer, LocalDeployer)
    _write(sagemaker, target, metadata[target["ModelPackageArn"]], restate)
    _write(sagemaker, live_package, metadata[live.package_arn], restate)
    if isinstance(deployer, LocalDeployer):
        deployer.complete(target["ModelPackageArn"], stage, execution_id, moment)
    return RollbackResult(
        stage=stage,
        live=live,
        target_arn=target["ModelPackageArn"],
        target_version=_version(target),
        execution_id=execution_id,
        requested_by=requested_by,
        requested_at=at,
        reason=reason,
        metadata=metadata,
    )


def rollback_rejected(
    sagemaker: Any,
    deployer: Deployer,
    group: str,
    package_arn: str,
    now: datetime | None = None,
    restate_status: bool = False,
) -> list[RollbackResult]:
    """A package was rejected in the registry: roll back every stage it is live in (prod first).
    A stage it is not live in, or one whose rollback is already under way, is left alone."""
    packages = list_packages(sagemaker, group)
    rejected = _by_arn(packages).get(package_arn)
    if rejected is None or rejected.get("ModelApprovalStatus") != "Rejected":
        return []
    who = rejected.get("LastModifiedBy") or {}
    identity = (who.get("IamIdentity") or {}).get("Arn") or who.get("UserProfileName") or ""
    results = []
    for stage in reversed(STAGES):
        live = live_in(packages, stage)
        if live is None or live.package_arn != package_arn or rolled_back(rejected, stage):
            continue
        results.append(
            rollback(
                sagemaker, deployer, group, stage, now=now, restate_status=restate_status,
                reason=f"version {live.version} rejected in the model registry",
                requested_by=f"registry rejection by {identity or 'an unknown identity'}",
            )
        )  # fmt: skip
        packages = list_packages(sagemaker, group)
        rejected = _by_arn(packages)[package_arn]
    return results


def lambda_handler(event: Mapping[str, Any], context: Any) -> dict[str, Any]:  # pragma: no cover
    """EventBridge: a package of this group was rejected (``rejected_package_pattern``)."""
    import boto3

    detail = event.get("detail") or {}
    group = os.environ["MODEL_PACKAGE_GROUP"]
    if detail.get("ModelPackageGroupName") != group:
        return {"rolled_back": []}
    deployer = PipelineDeployer(boto3.client("codepipeline"), os.environ["DEPLOY_PIPELINE_NAME"])
    results = rollback_rejected(
        boto3.client("sagemaker"), deployer, group, str(detail.get("ModelPackageArn", ""))
    )
    return {
        "rolled_back": [
            {"stage": r.stage, "to": r.target_arn, "execution": r.execution_id} for r in results
        ]
    }
