"""The per-use-case deployer role's policy (pure): what a stage's `pulumi up` of the inference repo
(the platform's InferenceService: endpoint, Lambdas, Step Functions workflow, decision API, alarms,
decision analytics) needs, scoped to the use case's names `mlops-<env>-<usecase>-*` wherever the
ARN carries a name. The permissions come from `deployer_permissions.json`, generated from what the
program registers (`mlops.delivery.deployer_permissions`), so the two cannot drift."""

from __future__ import annotations

from typing import Any

from mlops.config import StackConfig
from mlops.delivery import iam as docs
from mlops.naming import boundary_policy_arn, log_group_name, names_for, usecase_name

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
    }


BOUNDARY_GATED = frozenset(
    {
        "iam:CreateRole",
        "iam:PutRolePolicy",
        "iam:AttachRolePolicy",
        "iam:PutRolePermissionsBoundary",
    }
)
"""What creates or widens a role: allowed only with the use case's boundary (governance 23.3)."""


def docs_actions(statement: dict[str, Any]) -> list[str]:
    actions = statement.get("Action", [])
    return [actions] if isinstance(actions, str) else list(actions)


INLINE_POLICY_LIMIT = 10_240
"""IAM's limit on a role's inline policies (characters, whitespace not counted)."""


def deployer_policy(
    cfg: StackConfig,
    usecase: str,
    extra_pass_roles: list[str],
    dev_group: str,
) -> dict[str, Any]:
    """The stage's deployer: exactly what the inference repo's Pulumi program creates, updates and
    deletes (`deployer_permissions.json`, generated from the program's recorded resources and
    reviewed), scoped to this use case's names `mlops-<env>-<usecase>-*`, plus what no resource
    records: the smoke test's signed request, the platform's layers and model role."""
    from mlops.delivery import deployer_permissions as generated

    region, acct = cfg.region, cfg.account_id
    statements: list[dict[str, Any]] = generated.render(
        generated.load(), placeholders(cfg, usecase, dev_group)
    )
    if extra_pass_roles:  # e.g. the platform's model-execution role in staging/prod
        statements.append(
            {
                "Sid": "PassPlatformModelRole",
                "Effect": "Allow",
                "Action": "iam:PassRole",
                "Resource": sorted(extra_pass_roles),
                "Condition": {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
            }
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
    return docs.doc(
        *statements,
        {
            # the boundary, once set, is never removed
            "Sid": "BoundaryStays",
            "Effect": "Deny",
            "Action": "iam:DeleteRolePermissionsBoundary",
            "Resource": "*",
        },
        {
            # the stack's `lambdaLayerArns` (built by CI) are read by Lambda as the caller
            "Sid": "UsePlatformLayers",
            "Effect": "Allow",
            "Action": "lambda:GetLayerVersion",
            "Resource": f"arn:aws:lambda:{region}:{acct}:layer:*",
        },
        {
            "Sid": "SmokeTest",
            "Effect": "Allow",
            "Action": "execute-api:Invoke",
            "Resource": f"arn:aws:execute-api:{region}:{acct}:*/*/POST/v1/decisions",
        },
    )
