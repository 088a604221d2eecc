"""mlops-bootstrap: the state backend of one account, created once before the platform stacks.

Creates, in the account of the chosen stack (dev, staging or prod - same stack names and stack
files as the platform, read from the repo root):
- a KMS key (`alias/mlops-<env>-pulumi-secrets`) used as the Pulumi secrets provider;
- a KMS key for the state bucket;
- the S3 state bucket (`mlops-<env>-pulumi-state-<account>-<region>`) and its access-logs bucket,
  both through `SecureBucket`: SSE-KMS + bucket key, versioning (state history), all four public
  access blocks, TLS-only / KMS-only policy, lifecycle and access logging.

Run with a local backend (the state bucket does not exist yet) - see docs/deploy.md.
"""

import pulumi
import pulumi_aws as aws

from mlops import iam, naming
from mlops.components.storage import SecureBucket, SecureBucketArgs
from mlops.config import load_stack_config
from mlops.tags import base_tags, with_component

cfg = load_stack_config(pulumi.get_stack())
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


def _key_policy() -> str:
    root = iam.account_root(cfg.account_id)
    return iam.dumps(
        iam.document(
            iam.statement(
                "KeyAdministration", list(iam.KEY_ADMIN_ACTIONS), principal={"AWS": root}
            ),
            iam.statement(
                "KeyUseByPulumiRunners", list(iam.KEY_USE_ACTIONS), principal={"AWS": runner}
            ),
            iam.s3_log_delivery_use(cfg.account_id),
        )
    )


keys = {}
for purpose in ("pulumi-secrets", "pulumi-state"):
    keys[purpose] = aws.kms.Key(
        f"{purpose}-key",
        description=f"mlops {cfg.environment}: {purpose.replace('-', ' ')}",
        enable_key_rotation=True,
        deletion_window_in_days=30,
        policy=_key_policy(),
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
        bucket_name=naming.bucket_name(ctx, "pulumi-state"),
        purpose="pulumi-state",
        kms_key_arn=keys["pulumi-state"].arn,
        tags=tags,
        component="bootstrap",
        access_logs_bucket=access_logs.name,
        noncurrent_days=365,  # keep a year of state history for recovery
    ),
    opts=opts,
)

secrets_alias = naming.key_alias(ctx, "pulumi-secrets")
pulumi.export("state_bucket", state.name)
pulumi.export("backend_url", state.name.apply(lambda b: f"s3://{b}?region={cfg.region}"))
pulumi.export("secrets_provider", f"awskms://{secrets_alias}?region={cfg.region}")
pulumi.export("secrets_key_arn", keys["pulumi-secrets"].arn)
