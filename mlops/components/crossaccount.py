"""Cross-account deployment: dev's deploy pipeline role, staging/prod deployment + model roles.

dev (`DeployPipelineRole`, `mlops:crossaccount:DeployPipelineRole`):
  the role the deploy pipeline (CodePipeline, built by the use-case component) runs as. It may
  assume exactly the staging and prod deployment roles, and read model artifacts. Use-case
  components attach their own pipeline permissions to it (`aws.iam.RolePolicy(role=...)`).

staging / prod (`DeploymentAccess`, `mlops:crossaccount:DeploymentAccess`):
  - `deployment` role: trusts ONLY dev's deploy pipeline role (by ARN, not the dev account root);
    may create/update SageMaker models, endpoint configs and endpoints named `mlops-<env>-*` and
    pass the model execution role to SageMaker — nothing else;
  - `model-execution` role: what models and endpoints run as; reads dev's model artifacts
    (bucket + KMS key shared by dev), pulls images from dev's ECR, writes its logs and metrics.

Ordering: deploy dev first (its pipeline role must exist before a trust policy can name it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from mlops import iam
from mlops.naming import (
    NameContext,
    deploy_pipeline_role_name,
    deployment_role_name,
    for_environment,
    model_execution_role_name,
)
from mlops.tags import with_component

TARGET_ENVIRONMENTS = ("staging", "prod")


def deployment_targets(dev_ctx: NameContext, accounts: Mapping[str, str]) -> dict[str, str]:
    """{environment: deployment role ARN} for staging and prod (pure)."""
    return {
        env: iam.role_arn(accounts[env], deployment_role_name(for_environment(dev_ctx, env,
                                                                              accounts[env])))
        for env in TARGET_ENVIRONMENTS
    }  # fmt: skip


def target_reader_roles(dev_ctx: NameContext, accounts: Mapping[str, str]) -> dict[str, list[str]]:
    """{account: [role ARNs]} in staging/prod that read dev artifacts (bucket + key) (pure).

    Only the model execution role: SageMaker reads model data as the model's execution role, so
    the deployment role itself never needs the artifacts.
    """
    readers: dict[str, list[str]] = {}
    for env in TARGET_ENVIRONMENTS:
        ctx = for_environment(dev_ctx, env, accounts[env])
        readers[accounts[env]] = [iam.role_arn(accounts[env], model_execution_role_name(ctx))]
    return readers


def deployment_policy(region: str, account_id: str, environment: str, model_role_arn: str) -> dict:
    """What the cross-account deployment role may do in staging/prod (pure)."""
    sm = f"arn:aws:sagemaker:{region}:{account_id}"
    mine = f"mlops-{environment}-*"
    return iam.document(
        iam.statement(
            "DeployModels",
            [
                "sagemaker:CreateModel", "sagemaker:DeleteModel", "sagemaker:DescribeModel",
                "sagemaker:CreateEndpointConfig", "sagemaker:DeleteEndpointConfig",
                "sagemaker:DescribeEndpointConfig", "sagemaker:CreateEndpoint",
                "sagemaker:UpdateEndpoint", "sagemaker:DescribeEndpoint",
                "sagemaker:UpdateEndpointWeightsAndCapacities", "sagemaker:AddTags",
                "sagemaker:ListTags",
            ],
            [f"{sm}:model/{mine}", f"{sm}:endpoint-config/{mine}", f"{sm}:endpoint/{mine}"],
        ),
        iam.statement(
            "SmokeTestEndpoints", "sagemaker:InvokeEndpoint", f"{sm}:endpoint/{mine}"
        ),
        iam.statement(
            "ListForDeployment",
            ["sagemaker:ListEndpoints", "sagemaker:ListEndpointConfigs", "sagemaker:ListModels"],
            "*",
        ),
        iam.pass_role("PassModelExecutionRole", [model_role_arn], "sagemaker.amazonaws.com"),
    )  # fmt: skip


def model_execution_policy(
    region: str,
    account_id: str,
    dev_account_id: str,
    artifacts_bucket_arn: str,
    artifacts_key_arn: str,
) -> dict:
    """What a model in staging/prod runs with (pure)."""
    return iam.document(
        iam.s3_read("ReadDevModelArtifacts", [artifacts_bucket_arn]),
        iam.kms_use("DecryptDevModelArtifacts", [artifacts_key_arn], decrypt_only=True),
        iam.statement("EcrAuth", "ecr:GetAuthorizationToken", "*"),
        iam.statement(
            "PullImages",
            ["ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"],
            [
                f"arn:aws:ecr:{region}:{dev_account_id}:repository/mlops-*",
                # AWS-provided framework images live in AWS-owned accounts of this region.
                f"arn:aws:ecr:{region}:*:repository/*",
            ],
        ),
        iam.statement(
            "EndpointLogs",
            ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents",
             "logs:DescribeLogStreams"],
            f"arn:aws:logs:{region}:{account_id}:log-group:/aws/sagemaker/*",
        ),
        iam.statement(
            "EndpointMetrics", "cloudwatch:PutMetricData", "*",
            condition={"StringLike": {"cloudwatch:namespace": "/aws/sagemaker/*"}},
        ),
        iam.statement(
            "VpcNetworkInterfaces",
            ["ec2:CreateNetworkInterface", "ec2:CreateNetworkInterfacePermission",
             "ec2:DeleteNetworkInterface", "ec2:DeleteNetworkInterfacePermission"],
            [f"arn:aws:ec2:{region}:{account_id}:network-interface/*",
             f"arn:aws:ec2:{region}:{account_id}:subnet/*",
             f"arn:aws:ec2:{region}:{account_id}:security-group/*"],
        ),
        iam.statement(
            "VpcDescribe",
            ["ec2:DescribeNetworkInterfaces", "ec2:DescribeVpcs", "ec2:DescribeSubnets",
             "ec2:DescribeSecurityGroups", "ec2:DescribeDhcpOptions"],
            "*",
        ),
    )  # fmt: skip


# --- dev ---------------------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class DeployPipelineRoleArgs:
    names: NameContext
    tags: Mapping[str, str]
    accounts: Mapping[str, str]
    """{"dev": ..., "staging": ..., "prod": ...} account ids."""
    artifacts_bucket_arn: pulumi.Input[str]
    artifacts_key_arn: pulumi.Input[str]

    def __post_init__(self) -> None:
        if self.names.environment != "dev":
            raise ValueError("DeployPipelineRole belongs to the dev (governance) stack")
        missing = {"staging", "prod"} - set(self.accounts)
        if missing:
            raise ValueError(f"DeployPipelineRoleArgs.accounts is missing {sorted(missing)}")


class DeployPipelineRole(pulumi.ComponentResource):
    def __init__(
        self, name: str, args: DeployPipelineRoleArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mlops:crossaccount:DeployPipelineRole", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        ctx = args.names
        self.targets = deployment_targets(ctx, args.accounts)
        self.role = aws.iam.Role(
            f"{name}-role",
            name=deploy_pipeline_role_name(ctx),
            description="dev deploy pipeline: the only principal staging/prod deployment trusts",
            assume_role_policy=iam.dumps(
                iam.service_trust("codepipeline.amazonaws.com", ctx.account_id)
            ),
            tags=with_component(args.tags, "crossaccount"),
            opts=child,
        )
        self.policy = aws.iam.RolePolicy(
            f"{name}-policy",
            name="cross-account-deploy",
            role=self.role.id,
            policy=pulumi.Output.all(args.artifacts_bucket_arn, args.artifacts_key_arn).apply(
                lambda v: iam.dumps(
                    iam.document(
                        iam.statement(
                            "AssumeDeploymentRoles", "sts:AssumeRole", sorted(self.targets.values())
                        ),
                        iam.s3_read("ReadModelArtifacts", [v[0]]),
                        iam.kms_use("DecryptModelArtifacts", [v[1]], decrypt_only=True),
                    )
                )
            ),
            opts=child,
        )
        self.register_outputs({"role_arn": self.role.arn})


# --- staging / prod ----------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class DeploymentAccessArgs:
    names: NameContext
    tags: Mapping[str, str]
    dev_account_id: str
    dev_artifacts_bucket: pulumi.Input[str]
    """Name of dev's model-artifacts bucket (StackReference output `artifacts_bucket`)."""
    dev_artifacts_key_arn: pulumi.Input[str]
    """ARN of dev's artifacts KMS key (StackReference output `artifacts_key_arn`)."""

    def __post_init__(self) -> None:
        if self.names.environment not in TARGET_ENVIRONMENTS:
            raise ValueError("DeploymentAccess belongs to the staging and prod stacks")
        if self.dev_account_id == self.names.account_id:
            raise ValueError("DeploymentAccessArgs.dev_account_id must be another account")


class DeploymentAccess(pulumi.ComponentResource):
    def __init__(
        self, name: str, args: DeploymentAccessArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mlops:crossaccount:DeploymentAccess", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        ctx = args.names
        tags = with_component(args.tags, "crossaccount")
        dev_ctx = for_environment(ctx, "dev", args.dev_account_id)
        self.trusted_role_arn = iam.role_arn(
            args.dev_account_id, deploy_pipeline_role_name(dev_ctx)
        )
        model_role_name = model_execution_role_name(ctx)
        model_role_arn = iam.role_arn(ctx.account_id, model_role_name)

        self.model_execution_role = aws.iam.Role(
            f"{name}-model-execution",
            name=model_role_name,
            description="SageMaker models and endpoints in this account run as this role",
            assume_role_policy=iam.dumps(
                iam.service_trust("sagemaker.amazonaws.com", ctx.account_id)
            ),
            tags=tags,
            opts=child,
        )
        self.model_execution_policy = aws.iam.RolePolicy(
            f"{name}-model-execution-policy",
            name="model-execution",
            role=self.model_execution_role.id,
            policy=pulumi.Output.all(args.dev_artifacts_bucket, args.dev_artifacts_key_arn).apply(
                lambda v: iam.dumps(
                    model_execution_policy(
                        ctx.region,
                        ctx.account_id,
                        args.dev_account_id,
                        f"arn:aws:s3:::{v[0]}",
                        v[1],
                    )
                )
            ),
            opts=child,
        )
        self.deployment_role = aws.iam.Role(
            f"{name}-deployment",
            name=deployment_role_name(ctx),
            description="Cross-account deployment; trusts only the dev deploy pipeline role",
            assume_role_policy=iam.dumps(
                iam.role_trust([self.trusted_role_arn], external_account=args.dev_account_id)
            ),
            max_session_duration=3600,
            tags=tags,
            opts=child,
        )
        self.deployment_policy = aws.iam.RolePolicy(
            f"{name}-deployment-policy",
            name="deploy-models",
            role=self.deployment_role.id,
            policy=iam.dumps(
                deployment_policy(ctx.region, ctx.account_id, ctx.environment, model_role_arn)
            ),
            opts=child,
        )
        self.register_outputs(
            {
                "deployment_role_arn": self.deployment_role.arn,
                "model_execution_role_arn": self.model_execution_role.arn,
            }
        )
