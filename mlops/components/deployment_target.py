"""`mlops:usecase:DeploymentTarget` — where a use case deploys in one stage (every stack).

The per-use-case deployer role: trusted only by the use case's deploy-build role of this stage (by
exact role ARN; the roles live in dev, one per stage, `naming.deploy_build_role_name`), allowed
what the use case's inference program creates in this stage (`mlops.delivery.deployer`), scoped to
`mlops-<env>-<usecase>-*`. This is the one cross-account deployment path: the stage's deploy and
smoke-test builds assume it for `pulumi up` and the smoke test.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from mlops import iam
from mlops.components.usecase_builds import moved_children
from mlops.components.usecase_roles import (
    boundary_policy,
    deploy_build_role_name,
    deployer_role_name,
)
from mlops.config import StackConfig
from mlops.delivery import policies
from mlops.delivery.deployer import deployer_managed_policies, pass_model_role_statement
from mlops.naming import (
    boundary_policy_name,
    deployer_policy_name,
    model_package_group_name,
    names_for,
)


@dataclass(frozen=True, kw_only=True)
class DeploymentTargetArgs:
    usecase: str
    config: StackConfig
    tags: Mapping[str, str]
    kms_key_arn: pulumi.Input[str]
    """The stack's artifacts key (encrypts what the inference program creates; the deployer uses it
    only through the services, `deployer_permissions.json`)."""
    model_execution_role_arn: pulumi.Input[str] | None = None
    """Role SageMaker models run as in this stack, when the platform provides it (staging/prod)."""
    deploy_build_role_arn: pulumi.Input[str] | None = None
    """The use case's dev deploy-build role as an Output, when this program creates it (dev): the
    trust then depends on the role, so AWS never sees a principal that does not exist yet. In
    staging/prod the role was created by the dev stack, deployed first: its ARN is a string."""


class DeploymentTarget(pulumi.ComponentResource):
    """The stage's deployer role of one use case."""

    def __init__(
        self, name: str, args: DeploymentTargetArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mlops:usecase:DeploymentTarget", name, None, opts)
        cfg, usecase = args.config, args.usecase
        child = moved_children(self, opts)  # the deployer was a direct child of UseCase
        dev_build_arn = pulumi.Output.from_input(
            args.deploy_build_role_arn
            or f"arn:aws:iam::{cfg.accounts.dev}:role/"
            f"{deploy_build_role_name(cfg, usecase, cfg.environment)}"
        )
        dev_group = model_package_group_name(names_for(cfg, "dev"), usecase)
        pass_roles = [args.model_execution_role_arn] if args.model_execution_role_arn else []
        self.role = aws.iam.Role(
            f"{name}-deployer-role",
            name=deployer_role_name(cfg, usecase, cfg.environment),
            assume_role_policy=dev_build_arn.apply(
                lambda arn: json.dumps(policies.trust_roles([arn]))
            ),
            tags=dict(args.tags),
            opts=child,
        )
        # the generated permissions outgrew a role's 10,240 inline characters: customer managed
        # policies of at most 6,144 each, attached to the role
        self.policies: list[aws.iam.Policy] = []
        self.attachments: list[aws.iam.RolePolicyAttachment] = []
        for i, document in enumerate(deployer_managed_policies(cfg, usecase, dev_group), 1):
            policy = aws.iam.Policy(
                f"{name}-deployer-policy-{i}",
                name=deployer_policy_name(names_for(cfg), usecase, i),
                description=f"{usecase}'s deployer in {cfg.environment}, part {i}",
                policy=json.dumps(document, sort_keys=True),
                tags=dict(args.tags),
                opts=child,
            )
            self.policies.append(policy)
            self.attachments.append(
                aws.iam.RolePolicyAttachment(
                    f"{name}-deployer-attachment-{i}",
                    role=self.role.name,
                    policy_arn=policy.arn,
                    opts=pulumi.ResourceOptions(parent=self.role),
                )
            )
        self.policy: aws.iam.RolePolicy | None = None
        if pass_roles:  # an ARN known only at deployment: inline
            self.policy = aws.iam.RolePolicy(
                f"{name}-deployer-policy",
                role=self.role.name,
                policy=pulumi.Output.all(*pass_roles).apply(
                    lambda extra: json.dumps(
                        iam.document(pass_model_role_statement(list(extra))), sort_keys=True
                    )
                ),
                opts=pulumi.ResourceOptions(parent=self.role),
            )
        # the boundary every role this deployer creates must carry
        self.boundary = aws.iam.Policy(
            f"{name}-boundary",
            name=boundary_policy_name(names_for(cfg), usecase),
            description=f"Permissions boundary of every role {usecase}'s deployer creates",
            policy=json.dumps(boundary_policy(), sort_keys=True),
            tags=dict(args.tags),
            opts=child,
        )
        self.register_outputs(
            {"deployer_role_arn": self.role.arn, "boundary_arn": self.boundary.arn}
        )
