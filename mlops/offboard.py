"""Retiring a use case without orphaning anything (`mlops offboard`), and the check that catches a
manifest removed while its stacks remain (`mlops offboard --check-orphans`).

Order matters: a use case's inference stacks (dev, staging, prod) hold endpoints, APIs and roles
that its platform resources (deployers, pipelines, keys' grants) manage; removing the manifest
first would delete the deployers the stacks need to be destroyed. So offboarding:

1. refuses while any inference stack of the use case still has resources, listing them with the
   destroy commands, prod first;
2. shows what the platform's next `pulumi up` removes (the platform program built under the
   engine-faithful mocks with and without the manifest, diffed by URN) and what it keeps: the
   model registry is retained (`retain_on_delete`: its packages are the audit record of what was
   approved), shared buckets keep the use case's data and audit objects under their lifecycle and
   Object Lock retention (the audit trail itself is CloudTrail's, in the audit bucket);
3. with ``--apply``, removes ``usecases/<name>.yaml`` (review it as a pull request; the platform
   pipeline's `pulumi up` then removes its CI/CD, roles and Service Catalog entries).

State is read from the self-managed S3 backend the deploy builds use (``mlops.backends``).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from mlops.backends import inference_backend_url, state_object_key
from mlops.config import load_stack_config
from mlops.errors import MlopsError
from mlops.usecases import USECASES_DIR_ENV, load_manifests, manifest_paths, usecases_dir

DESTROY_ORDER = ("prod", "staging", "dev")
# why a resource the program stops declaring stays in AWS (retain_on_delete), by type
KEPT_WHY = {
    "aws:sagemaker/modelPackageGroup:ModelPackageGroup": "model registry: its packages are the "
    "record of what was approved and deployed",
}


class OffboardRefused(MlopsError):
    """The use case cannot be retired yet."""


@dataclass(frozen=True)
class RemainingStack:
    environment: str
    project: str
    backend: str
    resources: int

    @property
    def destroy_command(self) -> str:
        return (
            f"pulumi login '{self.backend}' && pulumi destroy --stack {self.environment} "
            f"--cwd <{self.project} repo>"
        )


@dataclass
class OffboardPlan:
    usecase: str
    remaining: list[RemainingStack] = field(default_factory=list)
    removed: list[tuple[str, str]] = field(default_factory=list)  # (type, name)
    kept: list[tuple[str, str, str]] = field(default_factory=list)  # (type, name, why)


def inference_project(usecase: str) -> str:
    return f"{usecase}-inference"


def _bucket(url: str) -> str:
    return urlparse(url).netloc


def _resource_count(checkpoint: dict[str, Any]) -> int:
    """Resources a stack still manages (the stack itself and providers are not resources)."""
    latest = (checkpoint.get("checkpoint") or {}).get("latest") or {}
    return sum(
        1
        for r in latest.get("resources") or []
        if r.get("type") != "pulumi:pulumi:Stack"
        and not str(r.get("type", "")).startswith("pulumi:providers:")
    )


def remaining_stacks(usecase: str, s3: Any, root: Path | None = None) -> list[RemainingStack]:
    """The use case's inference stacks that still hold resources, prod first."""
    from botocore.exceptions import ClientError

    out = []
    project = inference_project(usecase)
    for env in DESTROY_ORDER:
        cfg = load_stack_config(env, root) if root else load_stack_config(env)
        backend = inference_backend_url(cfg)
        try:
            body = s3.get_object(Bucket=_bucket(backend), Key=state_object_key(project, env))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NoSuchBucket"):
                continue
            raise
        count = _resource_count(json.loads(body["Body"].read()))
        if count:
            out.append(RemainingStack(env, project, backend, count))
    return out


def orphaned_stacks(s3: Any, known: set[str] | None = None) -> list[tuple[str, str, int]]:
    """Inference stacks whose use case has no manifest any more: (project, stack, resources)."""
    known = known if known is not None else {m.name for m in load_manifests()}
    cfg = load_stack_config("dev")
    bucket = _bucket(inference_backend_url(cfg))
    found = []
    paginator = s3.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=bucket, Prefix=".pulumi/stacks/"):
        for obj in page.get("Contents", []):
            parts = obj["Key"].split("/")  # .pulumi/stacks/<project>/<stack>.json
            if len(parts) != 4 or not parts[3].endswith(".json"):
                continue
            project, stack = parts[2], parts[3][: -len(".json")]
            if not project.endswith("-inference") or project[: -len("-inference")] in known:
                continue
            checkpoint = json.loads(s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read())
            if count := _resource_count(checkpoint):
                found.append((project, stack, count))
    return found


def _platform_resources(usecases: Path) -> dict[str, tuple[str, str, bool]]:
    """URN -> (type, name, retained) of the dev platform program built with `usecases`."""
    from mlops.program import build_stack

    previous = os.environ.get(USECASES_DIR_ENV)
    os.environ[USECASES_DIR_ENV] = str(usecases)
    try:
        mocks = build_stack("dev")
    finally:
        if previous is None:
            os.environ.pop(USECASES_DIR_ENV, None)
        else:
            os.environ[USECASES_DIR_ENV] = previous
    return {r.urn: (r.type, r.name, r.retain_on_delete) for r in mocks.resources if r.custom}


def platform_changes(usecase: str) -> tuple[list[tuple[str, str]], list[tuple[str, str, str]]]:
    """What the dev platform's next `pulumi up` deletes, and what it stops managing but keeps
    (``retain_on_delete``), once `usecase`'s manifest is gone."""
    with tempfile.TemporaryDirectory() as tmp:
        without = Path(tmp) / "usecases"
        without.mkdir()
        for path in manifest_paths():
            if path.stem != usecase:
                shutil.copy(path, without / path.name)
        before = _platform_resources(usecases_dir())
        after = _platform_resources(without)
    gone = sorted(before[urn] for urn in set(before) - set(after))
    kept = [(t, n, KEPT_WHY.get(t, "retain_on_delete")) for t, n, retained in gone if retained]
    removed = [(t, n) for t, n, retained in gone if not retained]
    return removed, kept


def plan(usecase: str, s3: Any) -> OffboardPlan:
    names = {m.name for m in load_manifests()}
    if usecase not in names:
        raise OffboardRefused(
            f"use case {usecase!r} has no manifest in {usecases_dir()}",
            f"onboarded use cases: {', '.join(sorted(names)) or 'none'}",
        )
    result = OffboardPlan(usecase, remaining=remaining_stacks(usecase, s3))
    if not result.remaining:
        result.removed, result.kept = platform_changes(usecase)
    return result


def refuse_if_stacks_remain(p: OffboardPlan) -> None:
    if not p.remaining:
        return
    listing = "; ".join(f"{s.environment} ({s.resources} resources)" for s in p.remaining)
    commands = " then ".join(s.destroy_command for s in p.remaining)
    raise OffboardRefused(
        f"{p.usecase}'s inference stacks still exist: {listing}",
        f"destroy them first, prod first: {commands}; then run `mlops offboard {p.usecase}` again",
    )


def apply(p: OffboardPlan) -> Path:
    refuse_if_stacks_remain(p)
    path = usecases_dir() / f"{p.usecase}.yaml"
    path.unlink()
    return path


__all__ = ["OffboardPlan", "OffboardRefused", "apply", "orphaned_stacks", "plan"]
