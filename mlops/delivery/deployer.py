"""The per-use-case deployer role's policy (pure): what a stage's `pulumi up` of the inference repo
(the platform's InferenceService: endpoint, Lambdas, Step Functions workflow, decision API, alarms,
decision analytics) needs, scoped to the use case's names `mlops-<env>-<usecase>-*` wherever the
ARN carries a name. The permissions come from `deployer_permissions.json`, generated from what the
program registers (`mlops.delivery.deployer_permissions`), so the two cannot drift."""

from __future__ import annotations

import json
from typing import Any

from mlops import iam
from mlops.config import StackConfig
from mlops.naming import (
    boundary_policy_arn,
    bucket_name,
    key_alias,
    log_group_name,
    names_for,
    usecase_name,
)

SECRETS_KEY_PURPOSE = "pulumi-secrets"
"""The bootstrap's secrets key (`alias/mlops-<env>-pulumi-secrets`, bootstrap/__main__.py)."""


def inference_secrets_alias(cfg: StackConfig) -> str:
    """Alias of the key that encrypts the inference stacks' secrets: the bootstrap's secrets key of
    the account whose backend holds those stacks (dev, `mlops.backends.inference_backend_url`)."""
    from mlops import backends

    return backends.secrets_key_alias(cfg)


def inference_secrets_provider(cfg: StackConfig) -> str:
    """`--secrets-provider` of every inference stack (`pulumi stack select --create`)."""
    return f"awskms://{inference_secrets_alias(cfg)}?region={cfg.region}"


def placeholders(cfg: StackConfig, usecase: str, dev_group: str) -> dict[str, str]:
    """Values of the checked-in permissions' placeholders for one stage's deployer."""
    from mlops.components.storage import BUCKETS
    from mlops.delivery.deployer_permissions import bucket_placeholder

    ctx = names_for(cfg)
    return {
        "Account": cfg.account_id,
        "DevAccount": cfg.accounts.dev,
        "DevRegion": cfg.region_of("dev"),
        "Region": cfg.region,
        "Prefix": usecase_name(ctx, usecase),
        "LogPrefix": log_group_name(ctx, usecase),
        "DevGroup": dev_group,
        "Boundary": boundary_policy_arn(ctx, usecase),
        # the stage's own platform keys and buckets (each stage's scope names its own)
        "KeyAliasPrefix": key_alias(ctx, ""),
        **{bucket_placeholder(p): bucket_name(ctx, p) for p in (*BUCKETS, "access-logs")},
    }


BOUNDARY_GATED = frozenset(
    {
        "iam:CreateRole",
        "iam:PutRolePolicy",
        "iam:AttachRolePolicy",
        "iam:PutRolePermissionsBoundary",
    }
)
"""What creates or widens a role: allowed only with the use case's boundary."""


def docs_actions(statement: dict[str, Any]) -> list[str]:
    actions = statement.get("Action", [])
    return [actions] if isinstance(actions, str) else list(actions)


INLINE_POLICY_LIMIT = 10_240
"""IAM's limit on a role's inline policies (characters, whitespace not counted)."""


MANAGED_POLICY_LIMIT = 6_144
"""IAM's limit on one customer managed policy document (characters, whitespace not counted)."""

MANAGED_POLICIES_MAX = 8
"""Managed policies the deployer may be split into (IAM attaches at most 10 to a role by default;
two stay free for an operator's break-glass attachment)."""


def _size(document: dict[str, Any]) -> int:
    return len(json.dumps(document, separators=(",", ":"), sort_keys=True))


def _deployer_statements(cfg: StackConfig, usecase: str, dev_group: str) -> list[dict[str, Any]]:
    """Every statement of the stage's deployer that is known before deployment (all but the pass
    of the platform's model role, whose ARN is another resource's output)."""
    from mlops.delivery import deployer_permissions as generated

    region, acct = cfg.region, cfg.account_id
    statements: list[dict[str, Any]] = generated.render(
        generated.load(), placeholders(cfg, usecase, dev_group)
    )
    unbounded = [
        s["Sid"]
        for s in statements
        if s["Effect"] == "Allow"
        and set(docs_actions(s)) & BOUNDARY_GATED
        and "iam:PermissionsBoundary" not in s.get("Condition", {}).get("ArnEquals", {})
    ]
    if unbounded:  # a role without the boundary must not be creatable
        raise ValueError(
            f"deployer_permissions.json grants role creation/widening without the permissions "
            f"boundary condition in {unbounded}: every role the inference program creates must "
            f"set permissions_boundary=boundary_policy_arn(...) (then regenerate)"
        )
    return [
        *statements,
        iam.statement(
            # the boundary, once set, is never removed
            "BoundaryStays",
            "iam:DeleteRolePermissionsBoundary",
            "*",
            effect="Deny",
        ),
        iam.statement(
            # the stack's `lambdaLayerArns` (built by CI) are read by Lambda as the caller
            "UsePlatformLayers",
            "lambda:GetLayerVersion",
            f"arn:aws:lambda:{region}:{acct}:layer:*",
        ),
        iam.statement(
            "SmokeTest",
            "execute-api:Invoke",
            f"arn:aws:execute-api:{region}:{acct}:*/*/POST/v1/decisions",
        ),
    ]


def pass_model_role_statement(extra_pass_roles: list[str]) -> dict[str, Any]:
    """Passing the platform's model-execution role (staging/prod) to SageMaker: the deployer's
    inline policy, because the role's ARN is another resource's output."""
    return iam.statement(
        "PassPlatformModelRole",
        "iam:PassRole",
        sorted(extra_pass_roles),
        condition={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
    )


def deployer_managed_policies(
    cfg: StackConfig, usecase: str, dev_group: str
) -> list[dict[str, Any]]:
    """The deployer's permissions as customer managed policy documents, each under IAM's 6,144
    characters (a role's inline policies share 10,240 characters, which the generated permissions
    outgrew). Statements keep their order, so a small change moves few statements."""
    parts: list[list[dict[str, Any]]] = [[]]
    for statement in _deployer_statements(cfg, usecase, dev_group):
        if _size(iam.document(statement)) > MANAGED_POLICY_LIMIT:
            raise ValueError(
                f"deployer statement {statement.get('Sid')} alone exceeds IAM's managed policy "
                f"limit ({MANAGED_POLICY_LIMIT} characters): generalise its resources"
            )
        if parts[-1] and _size(iam.document(*parts[-1], statement)) > MANAGED_POLICY_LIMIT:
            parts.append([])
        parts[-1].append(statement)
    if len(parts) > MANAGED_POLICIES_MAX:
        raise ValueError(
            f"the deployer's permissions need {len(parts)} managed policies (at most "
            f"{MANAGED_POLICIES_MAX}): generalise deployer_permissions.json's resources"
        )
    return [iam.document(*part) for part in parts]


def deployer_policy(
    cfg: StackConfig,
    usecase: str,
    extra_pass_roles: list[str],
    dev_group: str,
) -> dict[str, Any]:
    """The stage's deployer, as one document: exactly what the inference repo's Pulumi program
    creates, updates and deletes (`deployer_permissions.json`, generated from the program's
    recorded resources and reviewed), scoped to this use case's names `mlops-<env>-<usecase>-*`,
    plus what no resource records: the smoke test's signed request, the platform's layers and
    model role. Deployed as `deployer_managed_policies` + `pass_model_role_statement`."""
    statements = _deployer_statements(cfg, usecase, dev_group)
    if extra_pass_roles:
        statements.append(pass_model_role_statement(extra_pass_roles))
    return iam.document(*statements)
