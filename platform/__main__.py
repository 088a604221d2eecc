"""mlops-platform: the Pulumi program (composition root).

Reads the typed stack config once, builds the AWS provider with default tags, wires the components
and exports what other stacks and tools need. Logic lives in the `mlops` library.
"""

import pulumi
import pulumi_aws as aws

from mlops.config import load_from_pulumi
from mlops.tags import base_tags

cfg = load_from_pulumi()
tags = base_tags(cfg)

provider = aws.Provider(
    "aws",
    region=cfg.region,
    allowed_account_ids=[cfg.account_id],
    default_tags=aws.ProviderDefaultTagsArgs(tags=tags),
    assume_roles=(
        [aws.ProviderAssumeRoleArgs(role_arn=cfg.deploy_role_arn, session_name="mlops-pulumi")]
        if cfg.deploy_role_arn
        else None
    ),
)
opts = pulumi.ResourceOptions(providers=[provider])

pulumi.export("environment", cfg.environment)
pulumi.export("account_id", cfg.account_id)
pulumi.export("region", cfg.region)
