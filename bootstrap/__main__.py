"""mlops-bootstrap: the one state backend, created once, in the governance (dev) account.

Every stack - the platform's dev, staging and prod and every use case's inference stacks - keeps
its state in this bucket, so StackReferences resolve (mlops/backends.py, docs/deploy.md). Creates,
in the governance account (run with stack `dev`; other stacks are refused with the fix):
- a KMS key (`alias/mlops-dev-pulumi-secrets`): every stack's Pulumi secrets provider;
- a KMS key for the state bucket (`alias/mlops-dev-pulumi-state`);
- the S3 state bucket (`mlops-dev-pulumi-state-<account>-<region>`) and its access-logs bucket,
  both through `SecureBucket`: SSE-KMS + bucket key, versioning (state history), all four public
  access blocks, TLS-only / KMS-only policy, lifecycle and access logging.

Cross-account: the staging/prod platform deployers (their stack files' `deployRoleArn`) may list the
bucket, read the layout marker and the dev stack they reference, and read and write only their
own stack's objects; both keys let them in (the state key through S3 only). The use cases' deploy
builds (dev account) use both through their identity policy (the keys delegate to the account).

Run with a local backend (the state bucket does not exist yet) - see docs/deploy.md.
"""

import pulumi
import pulumi_aws as aws

from mlops import backends, iam, naming
from mlops.components.storage import SecureBucket, SecureBucketArgs
from mlops.config import load_all_stack_configs, load_stack_config
from mlops.errors import ConfigError
from mlops.tags import base_tags, with_component

cfg = load_stack_config(pulumi.get_stack())
if not backends.holds_state(cfg):
    raise ConfigError(
        f"the bootstrap runs only in the account that holds the state ({backends.STATE_ENVIRONMENT}"
        f"), not for stack {cfg.environment!r}: every stack shares that one backend",
        f"run `pulumi up` of bootstrap/ with stack {backends.STATE_ENVIRONMENT}, then log every "
        f"stack in to {backends.backend_url(cfg)} (docs/deploy.md)",
    )
# The deployers of the other accounts' platform stacks (landing-zone roles: they exist already).
users = backends.cross_account_state_users(load_all_stack_configs(), pulumi.get_stack())
others = [u.principal for u in users]
ctx = naming.NameContext(environment=cfg.environment, account_id=cfg.account_id, region=cfg.region)
tags = with_component(base_tags(cfg), "bootstrap")
provider = aws.Provider(
    "aws",
    region=cfg.region,
    allowed_account_ids=[cfg.account_id],
    default_tags=aws.ProviderDefaultTagsArgs(tags=tags),
)
opts = pulumi.ResourceOptions(provider=provider, protect=True)  # never delete state by accident

# Who runs `pulumi up` for the platform: the deployer role if configured, else the account (IAM
# delegation: whoever the account's IAM lets use the key, e.g. an administrator SSO role).
runner = cfg.deploy_role_arn or iam.account_root(cfg.account_id)


def _key_policy(purpose: str) -> str:
    root = iam.account_root(cfg.account_id)
    statements = [
        iam.statement("KeyAdministration", list(iam.KEY_ADMIN_ACTIONS), principal={"AWS": root}),
        iam.statement(
            "KeyUseByPulumiRunners", list(iam.KEY_USE_ACTIONS), principal={"AWS": runner}
        ),
    ]
    if purpose == "pulumi-state":
        if others:  # the other accounts' deployers read and write their state through S3
            statements.append(
                iam.statement(
                    "StateKeyUseByOtherAccountsDeployers",
                    list(iam.KEY_USE_ACTIONS),
                    principal={"AWS": others},
                    condition={
                        "StringEquals": {"kms:ViaService": f"s3.{cfg.region}.amazonaws.com"}
                    },
                )
            )
        statements.append(iam.s3_log_delivery_use(cfg.account_id))
    else:
        # The engine calls KMS itself (no ViaService) to open a stack's secrets manager: for its
        # own stack and for every stack it reads through StackReference. The deploy builds (dev)
        # are admitted through the account (KeyUseByPulumiRunners: root) and their IAM policy.
        if others:
            statements.append(
                iam.statement(
                    "SecretsKeyUseByOtherAccountsDeployers",
                    list(iam.KEY_USE_ACTIONS),
                    principal={"AWS": others},
                )
            )
    return iam.dumps(iam.document(*statements))


keys = {}
for purpose in ("pulumi-secrets", "pulumi-state"):
    keys[purpose] = aws.kms.Key(
        f"{purpose}-key",
        description=f"mlops {cfg.environment}: {purpose.replace('-', ' ')}",
        enable_key_rotation=True,
        deletion_window_in_days=30,
        policy=_key_policy(purpose),
        tags=tags,
        opts=opts,
    )
    aws.kms.Alias(
        f"{purpose}-alias",
        name=naming.key_alias(ctx, purpose),
        target_key_id=keys[purpose].key_id,
        opts=opts,
    )

access_logs = SecureBucket(
    "state-access-logs",
    SecureBucketArgs(
        bucket_name=naming.bucket_name(ctx, "pulumi-state-logs"),
        purpose="pulumi-state-logs",
        kms_key_arn=keys["pulumi-state"].arn,
        tags=tags,
        component="bootstrap",
        is_access_log_target=True,
        noncurrent_days=90,
        expire_days=365,
    ),
    opts=opts,
)
state = SecureBucket(
    "state",
    SecureBucketArgs(
        bucket_name=backends.state_bucket(cfg),
        purpose="pulumi-state",
        kms_key_arn=keys["pulumi-state"].arn,
        tags=tags,
        component="bootstrap",
        access_logs_bucket=access_logs.name,
        noncurrent_days=365,  # keep a year of state history for recovery
        extra_statements=lambda arn: backends.state_bucket_statements(arn, users),
    ),
    opts=opts,
)

pulumi.export("state_bucket", state.name)
pulumi.export("backend_url", state.name.apply(lambda b: backends.s3_url(b, cfg.region)))
pulumi.export("secrets_provider", backends.secrets_provider(cfg))
pulumi.export("secrets_key_arn", keys["pulumi-secrets"].arn)
