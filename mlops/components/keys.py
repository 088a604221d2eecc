"""Customer-managed KMS keys, one per purpose, with rotation and key policies naming principals.

Purposes:
- `data`: customer data (data bucket, analytics landing, feature data);
- `artifacts`: model and pipeline artifacts, ECR images; in dev also decryptable by the named
  staging/prod roles that deploy and run models (cross-account read of dev artifacts);
- `logs`: CloudWatch log groups, CloudTrail, S3 access logs, the audit bucket, AWS Config;
- `studio`: the SageMaker Studio domain (EFS home volumes, apps).

Usage::

    keys = Keys("keys", KeysArgs(names=ctx, tags=tags, admin_arns=[deployer]))
    keys.data.arn, keys.artifacts.arn, keys.logs.arn, keys.studio.arn
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from mlops import iam
from mlops.naming import NameContext, key_alias, log_group_name, name, role_arn_pattern
from mlops.rehearsal import declare
from mlops.tags import with_component

PURPOSES: tuple[str, ...] = ("data", "artifacts", "logs", "studio")

_DESCRIPTIONS = {
    "data": "customer data (S3 data and analytics buckets)",
    "artifacts": "model and pipeline artifacts (shared read-only with staging/prod roles)",
    "logs": "CloudWatch Logs, CloudTrail, S3 access logs, AWS Config",
    "studio": "SageMaker Studio domain (EFS home volumes and apps)",
}


@dataclass(frozen=True, kw_only=True)
class KeysArgs:
    names: NameContext
    tags: Mapping[str, str]
    admin_arns: Sequence[str]
    """ARNs or patterns of the principals that administer the keys (the deploy role, or the
    landing zone's administrator SSO role: `StackConfig.key_admin_arns`); never the account root.
    They are denied using the keys directly and granting their use."""
    break_glass_arns: Sequence[str] = ()
    """Roles that may administer the keys in an MFA session (staging, prod: breakGlassRoleArn)."""
    model_reader_grants: Sequence[iam.Statement] = ()
    """Key-policy side of the artifact contract (dev only): who in other accounts may decrypt
    registered models (`mlops.delivery.artifacts.key_grants`)."""
    deletion_window_days: int = 30

    def __post_init__(self) -> None:
        if not self.admin_arns:
            raise ValueError("KeysArgs.admin_arns: name at least one key administrator")
        if iam.account_root(self.names.account_id) in self.admin_arns:
            raise ValueError(
                "KeysArgs.admin_arns: the account root would let every principal of the account "
                "administer the keys; name the deploying role (StackConfig.key_admin_arns)"
            )
        if self.names.environment != "dev" and not self.break_glass_arns:
            raise ValueError(
                f"KeysArgs.break_glass_arns: {self.names.environment} keys need a break-glass "
                "role (mlops-platform:breakGlassRoleArn)"
            )
        if not 7 <= self.deletion_window_days <= 30:
            raise ValueError("KeysArgs.deletion_window_days must be between 7 and 30")
        own = iam.account_root(self.names.account_id)
        if any(g.get("Principal") == {"AWS": own} for g in self.model_reader_grants):
            raise ValueError("KeysArgs.model_reader_grants must admit other accounts only")


# Log groups each non-logs key may encrypt (CloudWatch Logs needs the key policy to allow it):
# the platform's own groups (`/mlops/<env>/...`, e.g. use-case builds) with the artifacts key; the
# Firehose delivery-error groups of decision analytics, which may carry records, with the data key.
def log_groups_for(purpose: str, ctx: NameContext) -> list[str]:
    if purpose == "artifacts":
        return [f"{log_group_name(ctx)}/*"]
    if purpose == "data":
        return [f"/aws/kinesisfirehose/{name(ctx)}-*"]
    return []


# Keys the deployer writes with through an AWS service: product templates uploaded SSE-KMS (S3)
# and Lambda environments (Lambda).
DEPLOYER_VIA = {"artifacts": ("s3", "lambda")}


def key_policy_for(purpose: str, args: KeysArgs) -> dict:
    """The key policy of one purpose (pure; unit-tested)."""
    ctx = args.names
    services: list[iam.Statement] = []
    if purpose == "logs":
        services = [
            iam.logs_service_use(ctx.region, ctx.account_id),
            *iam.cloudtrail_service_use(ctx.account_id),
            iam.s3_log_delivery_use(ctx.account_id),
            iam.cloudwatch_alarms_use(ctx.region, ctx.account_id),
        ]
    elif log_groups_for(purpose, ctx):
        services = [iam.logs_service_use(ctx.region, ctx.account_id, log_groups_for(purpose, ctx))]
    if purpose == "artifacts":
        services += list(args.model_reader_grants)
    if purpose in DEPLOYER_VIA:
        services.append(iam.deployer_use_via(args.admin_arns, ctx.region, DEPLOYER_VIA[purpose]))
    return iam.key_policy(
        ctx.account_id,
        admin_arns=args.admin_arns,
        user_arn_patterns=[role_arn_pattern(ctx)],
        services=services,
        break_glass_arns=args.break_glass_arns,
    )


class Keys(pulumi.ComponentResource):
    """Four KMS keys (data, artifacts, logs, studio) with aliases."""

    def __init__(
        self, name: str, args: KeysArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mlops:keys:Keys", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.keys: dict[str, aws.kms.Key] = {}
        self.aliases: dict[str, aws.kms.Alias] = {}
        for purpose in PURPOSES:
            key = aws.kms.Key(
                f"{name}-{purpose}",
                description=f"mlops {args.names.environment}: {_DESCRIPTIONS[purpose]}",
                enable_key_rotation=True,
                rotation_period_in_days=365,
                deletion_window_in_days=args.deletion_window_days,
                key_usage="ENCRYPT_DECRYPT",
                customer_master_key_spec="SYMMETRIC_DEFAULT",
                policy=iam.dumps(key_policy_for(purpose, args)),
                tags=with_component(args.tags, "keys", purpose=purpose),
                opts=child,
            )
            self.keys[purpose] = key
            self.aliases[purpose] = aws.kms.Alias(
                f"{name}-{purpose}-alias",
                name=key_alias(args.names, purpose),
                target_key_id=key.key_id,
                opts=child,
            )
        self._declare_attacks(args)
        self.register_outputs({f"{p}_key_arn": k.arn for p, k in self.keys.items()})

    def _declare_attacks(self, args: KeysArgs) -> None:
        """A key administrator (the identity that runs `pulumi up`) uses a key or grants
        itself its use: must be refused (no-op outside `mlops rehearse`)."""
        account = args.names.account_id
        for admin in args.admin_arns:
            principal = admin.replace("*", "")  # the pattern's role as the landing zone names it
            for purpose, key in self.keys.items():
                declare.actor(
                    flow="attacks",
                    step=f"a key administrator uses the {purpose} key",
                    principal=principal,
                    account=account,
                    origin=declare.PUBLIC,
                    calls=[
                        declare.call(
                            "kms:Decrypt", key.arn, expect="deny", why="decrypt data directly"
                        ),
                        declare.call(
                            "kms:GenerateDataKey", key.arn, expect="deny",
                            why="encrypt data directly",
                        ),
                        declare.call(
                            "kms:CreateGrant", key.arn, expect="deny",
                            context={
                                "kms:GrantIsForAWSResource": False,
                                "kms:GranteePrincipal": principal,
                                "kms:GrantOperations": ["Decrypt", "GenerateDataKey"],
                            },
                            why="grant itself use of the key",
                        ),
                    ],
                    order=960,
                )  # fmt: skip

    @property
    def data(self) -> aws.kms.Key:
        return self.keys["data"]

    @property
    def artifacts(self) -> aws.kms.Key:
        return self.keys["artifacts"]

    @property
    def logs(self) -> aws.kms.Key:
        return self.keys["logs"]

    @property
    def studio(self) -> aws.kms.Key:
        return self.keys["studio"]

    def arns(self) -> dict[str, pulumi.Output[str]]:
        return {purpose: key.arn for purpose, key in self.keys.items()}
