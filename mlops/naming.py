"""The one place that makes physical AWS names, for the cloud and for local mode alike.

Names carry the platform prefix, the stack and, where AWS requires global uniqueness (S3), the
account and region, so two stacks or two use cases never collide. Over-long names keep a readable
head and end in a short hash of the full name, so they stay unique and stable.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mlops.config import StackConfig

PREFIX = "mlops"

# AWS length limits for the kinds of names we make.
MAX_LEN = {
    "bucket": 63,
    "role": 64,
    "policy": 128,
    "sagemaker": 63,  # domains, endpoints, model package groups, pipelines
    "lambda": 64,
    "log_group": 512,
    "generic": 64,
}
_SAFE = re.compile(r"[^a-z0-9-]+")


@dataclass(frozen=True)
class NameContext:
    environment: str
    account_id: str
    region: str
    prefix: str = PREFIX


def names_for(cfg: StackConfig, environment: str | None = None) -> NameContext:
    """Naming context of `environment`'s account (default: the stack's own) as `cfg` sees it."""
    env = environment or cfg.environment
    return NameContext(
        environment=env, account_id=cfg.accounts.for_env(env), region=cfg.region_of(env)
    )


def _clean(part: str) -> str:
    return _SAFE.sub("-", part.lower()).strip("-")


def fit(name: str, max_len: int) -> str:
    """Shorten `name` to `max_len` keeping it unique: head + '-' + 8-char hash of the full name."""
    if len(name) <= max_len:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    return f"{name[: max_len - 9].rstrip('-')}-{digest}"


def name(ctx: NameContext, *parts: str, kind: str = "generic") -> str:
    """`mlops-<env>-<parts...>`, lower-case and hyphenated, within the AWS limit for `kind`."""
    cleaned = [_clean(p) for p in (ctx.prefix, ctx.environment, *parts) if p]
    return fit("-".join(cleaned), MAX_LEN[kind])


def bucket_name(ctx: NameContext, purpose: str) -> str:
    """S3 names are global: include account and region so stacks and accounts never collide."""
    return fit(
        "-".join(
            _clean(p) for p in (ctx.prefix, ctx.environment, purpose, ctx.account_id, ctx.region)
        ),
        MAX_LEN["bucket"],
    )


def role_name(ctx: NameContext, *parts: str) -> str:
    return name(ctx, *parts, kind="role")


SHARED_BUCKET_PURPOSES = ("model-artifacts", "pipeline-artifacts")
"""Buckets every use case writes under its own prefixes: no S3 Bucket Key, so each object's KMS
encryption context is its own ARN and a use case's key grant can name its prefix
(docs/artifacts.md "Per-use-case KMS context")."""
_SHARED_BUCKET = re.compile(
    r"^[a-z0-9-]+-(?:" + "|".join(SHARED_BUCKET_PURPOSES) + r")-\d{12}-[a-z]{2}(?:-[a-z]+)+-\d$"
)


def is_shared_bucket(bucket: str) -> bool:
    """Is this physical bucket name one of the shared multi-tenant buckets (`bucket_name` of a
    `SHARED_BUCKET_PURPOSES` purpose)?"""
    return bool(_SHARED_BUCKET.match(bucket or ""))


def object_context(bucket: str, prefix: str) -> str:
    """The `kms:EncryptionContext:aws:s3:arn` of the objects under `prefix` in a bucket without
    a bucket key (a StringLike pattern)."""
    return f"arn:aws:s3:::{bucket}/{prefix}*"


def usecase_name(ctx: NameContext, usecase: str, *parts: str, kind: str = "generic") -> str:
    """Names of per-use-case resources always contain the use case."""
    return name(ctx, usecase, *parts, kind=kind)


def artifact_prefixes(ctx: NameContext, usecase: str) -> list[str]:
    """The key prefixes a use case owns in the shared pipeline-artifacts bucket: `<usecase>/`
    (its code and outputs) and the prefixes CodePipeline writes its pipelines' artifacts under (the
    first 20 characters of each pipeline's name, `mlops.components.usecase_builds.artifact_key`).
    `mlops.usecases.check_artifact_prefixes` keeps them distinct between use cases."""
    pipelines = [usecase_name(ctx, usecase, p) for p in ("build", "deploy")]
    return [f"{usecase}/", *(f"{p[:20]}/" for p in pipelines)]


def log_group_name(ctx: NameContext, *parts: str) -> str:
    return "/" + "/".join([ctx.prefix, ctx.environment, *(_clean(p) for p in parts)])


def key_alias(ctx: NameContext, purpose: str) -> str:
    """KMS alias for the key of one purpose: `alias/mlops-<env>-<purpose>`."""
    return "alias/" + name(ctx, purpose, kind="generic")


def for_environment(ctx: NameContext, environment: str, account_id: str) -> NameContext:
    """The naming context of another stack (same prefix and region), for cross-account names."""
    return NameContext(
        environment=environment, account_id=account_id, region=ctx.region, prefix=ctx.prefix
    )


# Well-known role names that other stacks refer to. Cross-account trust and key policies need them
# before (or without) a StackReference, so they are fixed here and nowhere else.
def model_execution_role_name(ctx: NameContext) -> str:
    """Role SageMaker models/endpoints run as in staging/prod."""
    return role_name(ctx, "model-execution")


def role_arn_pattern(ctx: NameContext) -> str:
    """Every role this stack names through `role_name` (used in key policies)."""
    return f"arn:aws:iam::{ctx.account_id}:role/{ctx.prefix}-{ctx.environment}-*"


def deploy_build_role_name(dev_ctx: NameContext, usecase: str, stage: str = "dev") -> str:
    """Role of a use case's deploy and smoke-test builds for one stage (they all run in dev): the
    only principal that stage's deployer trusts. dev's keeps the original name."""
    return usecase_name(dev_ctx, usecase, stage_part("deploy-build", stage), kind="role")


def stage_part(part: str, stage: str) -> str:
    """`part` for dev, `part-<stage>` for the later stages (per-stage builds and their roles)."""
    return part if stage == "dev" else f"{part}-{stage}"


def deployer_policy_name(ctx: NameContext, usecase: str, part: int) -> str:
    """One of the managed policies holding a use case's deployer permissions in a stage."""
    return usecase_name(ctx, usecase, "deployer", str(part), kind="policy")


def deployer_role_name(ctx: NameContext, usecase: str) -> str:
    """A use case's deployer in one stage: the role its inference program's `pulumi up` runs as."""
    return usecase_name(ctx, usecase, "deployer", kind="role")


def approver_role_name(ctx: NameContext, usecase: str) -> str:
    """A use case's approver: the role its leads assume (from Identity Center) to pass its gates."""
    return usecase_name(ctx, usecase, "approver", kind="role")


def model_package_group_name(ctx: NameContext, usecase: str) -> str:
    """The use case's model package group in the registry (dev/governance account, and local)."""
    return usecase_name(ctx, usecase, "models", kind="sagemaker")


def boundary_policy_name(ctx: NameContext, usecase: str) -> str:
    """`mlops-<env>-<usecase>-boundary`: the permissions boundary every role of the use case's
    inference stack carries (created by the platform's `DeploymentTarget`)."""
    return usecase_name(ctx, usecase, "boundary", kind="policy")


def boundary_policy_arn(ctx: NameContext, usecase: str) -> str:
    return f"arn:aws:iam::{ctx.account_id}:policy/{boundary_policy_name(ctx, usecase)}"


# SageMaker serving resources of a use case: inside the deployer's `mlops-<env>-<usecase>-*`
# scope. A model and an endpoint config are immutable: a new package or new settings replace
# them, and the replacement must coexist with the one in service until the endpoint has switched
# (create before delete), so their names end in a per-deploy suffix derived from what they hold.
def deploy_suffix(*inputs: str) -> str:
    """8 hex characters of the SHA-256 of `inputs`: the same inputs give the same name (no
    replacement), different ones a new name that can coexist with the old."""
    return hashlib.sha256("\0".join(inputs).encode()).hexdigest()[:8]


def sagemaker_model_name(ctx: NameContext, usecase: str, suffix: str) -> str:
    """`mlops-<env>-<usecase>-model-<suffix>`: the SageMaker model of one deploy."""
    return usecase_name(ctx, usecase, "model", suffix, kind="sagemaker")


def endpoint_config_name(ctx: NameContext, usecase: str, suffix: str) -> str:
    """`mlops-<env>-<usecase>-config-<suffix>`: the endpoint configuration of one deploy."""
    return usecase_name(ctx, usecase, "config", suffix, kind="sagemaker")


def endpoint_name(ctx: NameContext, usecase: str) -> str:
    """`mlops-<env>-<usecase>-endpoint`: stable, so callers never change (updated in place)."""
    return usecase_name(ctx, usecase, "endpoint", kind="sagemaker")
