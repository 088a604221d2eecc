"""`mlops promotions <usecase>`: what is deployed in each stage, who approved it and the stage's
rollbacks, and the packages awaiting approval with their backtest reports, read from the model
registry (the one source of that answer); `mlops rollback`."""

from __future__ import annotations

from typing import Any

from mlops.delivery.promotion import STAGES, Promotion
from mlops.delivery.rollback import Rollback, RollbackResult
from mlops.errors import UsageError


def group_for(usecase: str) -> tuple[str, str]:
    """(model package group, region) of a use case, from the dev stack file and its manifest."""
    from mlops.config import load_stack_config
    from mlops.naming import model_package_group_name, names_for
    from mlops.usecases import is_valid_name, load_manifests

    if not is_valid_name(usecase):
        raise UsageError(
            f"{usecase!r} is not a use-case name", "use e.g. `mlops promotions remedy`"
        )
    known = [m.name for m in load_manifests()]
    if usecase not in known:
        raise UsageError(f"no manifest usecases/{usecase}.yaml", f"use one of {', '.join(known)}")
    cfg = load_stack_config("dev")
    return model_package_group_name(names_for(cfg, "dev"), usecase), cfg.region


def rollback_line(r: Rollback) -> str:
    state = "done" if r.completed else f"pending: deploy pipeline execution {r.execution_id}"
    return (
        f"  rollback {r.stage}: version {r.from_version} -> version {r.to_version} by "
        f"{r.requested_by} at {r.requested_at} ({state}): {r.reason}"
    )


def promotion_lines(
    found: dict[str, Promotion | None], rolled: dict[str, list[Rollback]] | None = None
) -> list[str]:
    """One line per stage (what is live, who approved it), then that stage's rollbacks indented
    under it, oldest first."""
    lines = []
    for stage in STAGES:
        p = found.get(stage)
        if p is None:
            lines.append(f"{stage}: nothing deployed")
        else:
            lines.append(
                f"{stage}: version {p.version} ({p.package_arn}) approved by {p.approver}, "
                f"deployed {p.deployed_at}"
            )
        lines += [rollback_line(r) for r in (rolled or {}).get(stage, [])]
    return lines


#: what the governed pipeline's Register step records on a package (mlops.sagemaker_pipelines)
REPORT_KEYS = ("backtest_report", "backtest_json")


def pending_lines(packages: list[dict[str, Any]]) -> list[str]:
    """The packages awaiting the lead's decision, newest first, each with the backtest report the
    training pipeline attached (what the lead reads before approving)."""
    waiting = [p for p in packages if p.get("ModelApprovalStatus") == "PendingManualApproval"]
    if not waiting:
        return ["awaiting approval: none"]
    lines = ["awaiting approval:"]
    for p in sorted(waiting, key=lambda p: p.get("ModelPackageVersion", 0), reverse=True):
        lines.append(f"  version {p.get('ModelPackageVersion', '?')} ({p['ModelPackageArn']})")
        meta = p.get("CustomerMetadataProperties") or {}
        reports = [f"{k} {meta[k]}" for k in REPORT_KEYS if meta.get(k)]
        lines.append("    " + ("; ".join(reports) if reports else "no backtest report attached"))
    return lines


def _sagemaker(region: str, endpoint_url: str | None) -> Any:
    import boto3

    return boto3.client("sagemaker", region_name=region, endpoint_url=endpoint_url)


def local_group_for(usecase: str, region: str = "eu-west-2") -> tuple[str, str]:
    """(model package group, region) of a use case in local mode (`mlops demo`'s registry)."""
    from mlops.local.environment import local_context
    from mlops.naming import model_package_group_name
    from mlops.usecases import is_valid_name

    if not is_valid_name(usecase):
        raise UsageError(f"{usecase!r} is not a use-case name", "use e.g. remedy")
    return model_package_group_name(local_context(region), usecase), region


def promotions_command(
    usecase: str, endpoint_url: str | None, client: Any = None, local: bool = False
) -> list[str]:
    from mlops.delivery.promotion import list_packages
    from mlops.delivery.rollback import live_in, rollbacks

    group, region = local_group_for(usecase) if local else group_for(usecase)
    client = client or _sagemaker(region, endpoint_url)
    packages = list_packages(client, group)
    return [
        *promotion_lines(
            {stage: live_in(packages, stage) for stage in STAGES},
            {stage: rollbacks(packages, stage) for stage in STAGES},
        ),
        *pending_lines(packages),
    ]


def rollback_command(
    usecase: str,
    stage: str,
    reason: str,
    to: str | None,
    endpoint_url: str | None,
    local: bool = False,
) -> RollbackResult:
    """`mlops rollback`: as the caller's AWS identity (the use case's approver role: a lead),
    start the deploy pipeline with the previous or named package for `stage` and record it.
    `local`: the embedded registry (`--endpoint-url`), recorded at once (`LocalDeployer`)."""
    import boto3

    from mlops.delivery.rollback import LocalDeployer, PipelineDeployer, check_stage, rollback

    check_stage(stage)
    if local and not endpoint_url:
        raise UsageError(
            "--local needs --endpoint-url", "pass the embedded AWS URL that `mlops demo` prints"
        )
    group, region = local_group_for(usecase) if local else group_for(usecase)
    sagemaker = _sagemaker(region, endpoint_url)
    sts = boto3.client("sts", region_name=region, endpoint_url=endpoint_url)
    who = sts.get_caller_identity()["Arn"]
    if local:
        deployer: Any = LocalDeployer(sagemaker, approver=who)
    else:
        deployer = PipelineDeployer(
            boto3.client("codepipeline", region_name=region, endpoint_url=endpoint_url),
            deploy_pipeline_for(usecase),
        )
    return rollback(
        sagemaker, deployer, group, stage, reason=reason, requested_by=who, to=to,
        restate_status=endpoint_url is not None,  # the embedded AWS is moto (rollback._write)
    )  # fmt: skip


def deploy_pipeline_for(usecase: str) -> str:
    """The use case's deploy pipeline (dev account), named as `DeployPipeline` names it."""
    from mlops.config import load_stack_config
    from mlops.naming import names_for, usecase_name

    return usecase_name(names_for(load_stack_config("dev"), "dev"), usecase, "deploy")


def rollback_lines(result: RollbackResult) -> list[str]:
    return [
        f"{result.stage}: rolling back version {result.live.version} -> version "
        f"{result.target_version} ({result.target_arn})",
        f"  deploy pipeline execution {result.execution_id}, requested by {result.requested_by} "
        f"at {result.requested_at}: {result.reason}",
    ]
