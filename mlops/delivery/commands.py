"""`mlops promotions <usecase>`: what is deployed in each stage and who approved it, read from the
model registry (the one source of that answer)."""

from __future__ import annotations

from typing import Any

from mlops.delivery.promotion import STAGES, Promotion, in_stage
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


def promotion_lines(found: dict[str, Promotion | None]) -> list[str]:
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
    return lines


def promotions_command(usecase: str, endpoint_url: str | None, client: Any = None) -> list[str]:
    group, region = group_for(usecase)
    if client is None:
        import boto3

        client = boto3.client("sagemaker", region_name=region, endpoint_url=endpoint_url)
    return promotion_lines({stage: in_stage(client, group, stage) for stage in STAGES})
