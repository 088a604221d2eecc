"""Where each program's Pulumi state lives (one self-managed S3 backend), in one place.

Design (docs/deploy.md): **one state backend per governance relationship**, in
the governance (dev) account. Every platform stack (dev, staging, prod) and every inference stack
of every use case keeps its state in that one bucket, so every StackReference resolves: a
self-managed backend can only read stacks in its own bucket (`mlops/testing/references.py`).

- the bucket and its KMS key live in the governance account (`bootstrap/`, run once there);
- the staging/prod platform deployers (landing-zone roles, `deployRoleArn`) reach it across
  accounts: the bucket policy lets each one write only its own stack's objects and read the
  governance stack it references; the state key lets them use it through S3 only;
- the use cases' deploy builds (dev account) write their inference stacks and read the platform
  stacks (their identity policy, `mlops.components.usecase_roles.deploy_build_policy`);
- one Pulumi secrets key in the governance account is every stack's secrets provider: reading a
  StackReference opens the referenced stack's secrets manager, which decrypts its data key, even
  for non-secret outputs (pulumi/pulumi#11109, #21436), so every reader must be able to use it.

The bootstrap program, the deploy builds, `docs/deploy.md` and the rehearsal all read this
module, so the layout they assume cannot drift.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mlops import iam, naming
from mlops.config import PROJECT, StackConfig
from mlops.naming import NameContext, bucket_name

BOOTSTRAP_PROJECT = "mlops-bootstrap"
BOOTSTRAP_BACKEND = "file://bootstrap/.state"
"""The bootstrap keeps its own (tiny) state locally: the bucket it creates does not exist yet."""

STATE_ENVIRONMENT = "dev"
"""The stack whose account holds the state backend: the governance stack."""

META_KEY = ".pulumi/meta.yaml"
"""The backend's layout marker: every `pulumi login` reads it."""

_STACK_FOLDERS = ("stacks", "history", "backups", "locks")
"""Where a self-managed backend (project-scoped layout) keeps a stack's objects:
`.pulumi/stacks/<project>/<stack>.json[.bak]`, `.pulumi/history/<project>/<stack>/...`,
`.pulumi/backups/<project>/<stack>/...`, `.pulumi/locks/<project>/<stack>/...`."""


def state_context(cfg: StackConfig) -> NameContext:
    """Naming context of the account that holds the state (the governance account)."""
    return NameContext(
        environment=STATE_ENVIRONMENT,
        account_id=cfg.accounts.for_env(STATE_ENVIRONMENT),
        region=cfg.region_of(STATE_ENVIRONMENT),
    )


def holds_state(cfg: StackConfig) -> bool:
    """Whether `cfg`'s account holds the state backend (where the bootstrap runs)."""
    return cfg.environment == STATE_ENVIRONMENT


def state_account(cfg: StackConfig) -> str:
    return state_context(cfg).account_id


def state_bucket(cfg: StackConfig) -> str:
    """The one state bucket, in the governance account (the bootstrap creates it)."""
    return bucket_name(state_context(cfg), "pulumi-state")


def state_key_alias(cfg: StackConfig) -> str:
    return naming.key_alias(state_context(cfg), "pulumi-state")


def secrets_key_alias(cfg: StackConfig) -> str:
    return naming.key_alias(state_context(cfg), "pulumi-secrets")


def state_region(cfg: StackConfig) -> str:
    """Region of the state bucket and keys: the governance stack's (governanceRegion)."""
    return state_context(cfg).region


def secrets_key_alias_arn(cfg: StackConfig) -> str:
    region = state_region(cfg)
    return f"arn:aws:kms:{region}:{state_account(cfg)}:{secrets_key_alias(cfg)}"


def secrets_provider(cfg: StackConfig) -> str:
    """Every stack's `--secrets-provider`: the governance account's secrets key by alias ARN (an
    alias name alone does not resolve from another account; `awskms:///` takes an ARN)."""
    return f"awskms:///{secrets_key_alias_arn(cfg)}?region={state_region(cfg)}"


def s3_url(bucket: str, region: str) -> str:
    return f"s3://{bucket}?region={region}"


def backend_url(cfg: StackConfig) -> str:
    """The backend every stack (platform and inference, every environment) logs in to."""
    return s3_url(state_bucket(cfg), state_region(cfg))


def platform_backend_url(cfg: StackConfig) -> str:
    """Backend of the platform stack `cfg` describes: the shared one."""
    return backend_url(cfg)


def inference_backend_url(cfg: StackConfig) -> str:
    """Backend the deploy builds `pulumi login` to for every stage of every inference repo: the
    shared one, where the platform stacks they reference live too."""
    return backend_url(cfg)


def stack_fqn(project: str, stack: str) -> str:
    """A stack's fully qualified name in a self-managed backend."""
    return f"organization/{project}/{stack}"


def platform_stack_fqn(environment: str) -> str:
    return stack_fqn(PROJECT, environment)


def state_object_key(project: str, stack: str) -> str:
    """Where a self-managed backend keeps a stack's checkpoint (project-scoped layout)."""
    return f".pulumi/stacks/{project}/{stack}.json"


def stack_object_keys(project: str, stack: str = "*") -> list[str]:
    """Key patterns of every object Pulumi writes for `project`/`stack` (checkpoint and its
    backup, history, backups, locks); `stack="*"`: every stack of the project."""
    checkpoint = f".pulumi/stacks/{project}/{stack}.json"
    rest = [f".pulumi/{folder}/{project}/{stack}/*" for folder in _STACK_FOLDERS[1:]]
    return [checkpoint, f"{checkpoint}.*", *rest] if stack != "*" else [
        f".pulumi/{folder}/{project}/*" for folder in _STACK_FOLDERS
    ]  # fmt: skip


# --- who reaches the state across accounts -------------------------------------------------------
@dataclass(frozen=True)
class StateUser:
    """A principal of another account that runs `pulumi up` against the shared backend."""

    principal: str
    writes: tuple[tuple[str, str], ...]
    """(project, stack) whose state it writes."""
    reads: tuple[tuple[str, str], ...]
    """(project, stack) it reads through StackReference."""


def cross_account_state_users(
    configs: Mapping[str, StackConfig], governance: str = STATE_ENVIRONMENT
) -> list[StateUser]:
    """The deployers of the platform stacks (by stack name) of governance stack `governance` that
    run outside its account, from their stack files: each writes its own stack and reads the
    governance stack (staging and prod reference dev)."""
    users = []
    for name, cfg in sorted(configs.items()):
        if cfg.governance != governance or cfg.account_id == state_account(cfg):
            continue
        principal = cfg.deploy_role_arn or f"arn:aws:iam::{cfg.account_id}:root"
        users.append(StateUser(principal, ((PROJECT, name),), ((PROJECT, governance),)))
    return users


def state_bucket_statements(bucket_arn: str, users: list[StateUser]) -> list[dict[str, Any]]:
    """Bucket policy statements for the cross-account deployers: list the bucket, read the
    layout marker and the stacks they reference, read and write only their own stack's objects."""
    out: list[dict[str, Any]] = []
    for i, user in enumerate(users):
        own = [f"{bucket_arn}/{k}" for p, s in user.writes for k in stack_object_keys(p, s)]
        refs = [f"{bucket_arn}/{state_object_key(p, s)}" for p, s in user.reads]
        principal = {"AWS": user.principal}
        out += [
            iam.statement(f"StateList{i}", "s3:ListBucket", bucket_arn, principal=principal),
            iam.statement(
                f"StateRead{i}",
                ["s3:GetObject", "s3:GetObjectVersion"],
                [f"{bucket_arn}/{META_KEY}", *refs, *own],
                principal=principal,
            ),
            iam.statement(
                f"StateWriteOwn{i}", ["s3:PutObject", "s3:DeleteObject"], own, principal=principal
            ),
        ]
    return out
