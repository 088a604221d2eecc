"""Where each program's Pulumi state lives (self-managed S3 backends), in one place.

The bootstrap program, `docs/deploy.md`, the deploy builds and the rehearsal all read this module,
so the layout they assume cannot drift. A StackReference resolves only within one backend: a
self-managed backend cannot read another backend's stacks.
"""

from __future__ import annotations

from mlops.config import PROJECT, StackConfig
from mlops.naming import NameContext, bucket_name

BOOTSTRAP_PROJECT = "mlops-bootstrap"
BOOTSTRAP_BACKEND = "file://bootstrap/.state"
"""The bootstrap keeps its own (tiny) state locally: the bucket it creates does not exist yet."""


def _ctx(cfg: StackConfig, environment: str) -> NameContext:
    return NameContext(
        environment=environment,
        account_id=cfg.accounts.for_env(environment),
        region=cfg.region_of(environment),
    )


def state_bucket(cfg: StackConfig, environment: str | None = None) -> str:
    """The state bucket the bootstrap creates in `environment`'s account (default: cfg's own)."""
    return bucket_name(_ctx(cfg, environment or cfg.environment), "pulumi-state")


def s3_url(bucket: str, region: str) -> str:
    return f"s3://{bucket}?region={region}"


def platform_backend_url(cfg: StackConfig) -> str:
    """Backend of the platform stack `cfg` describes: each account's own state bucket."""
    return s3_url(state_bucket(cfg), cfg.region)


def inference_backend_url(cfg: StackConfig) -> str:
    """Backend the deploy builds `pulumi login` to for every stage of every inference repo: the
    dev (governance) account's state bucket, where the deploy builds run."""
    return s3_url(state_bucket(cfg, "dev"), cfg.region_of("dev"))


def stack_fqn(project: str, stack: str) -> str:
    """A stack's fully qualified name in a self-managed backend."""
    return f"organization/{project}/{stack}"


def platform_stack_fqn(environment: str) -> str:
    return stack_fqn(PROJECT, environment)


def state_object_key(project: str, stack: str) -> str:
    """Where a self-managed backend keeps a stack's checkpoint (project-scoped layout)."""
    return f".pulumi/stacks/{project}/{stack}.json"
