"""Cross-account model access in staging and prod (`DeploymentAccess`,
`mlops:crossaccount:DeploymentAccess`): the `model-execution` role SageMaker models and endpoints
run as there; its policy names dev's model artifacts (bucket + KMS key), images in dev's ECR, its
logs and metrics. Registered models themselves are read by each use case's model role, as the
artifact contract says (`mlops.delivery.artifacts`, docs/artifacts.md): dev's bucket and key
policies admit those roles, not this one.

Deployments themselves go through one path only: each use case's per-stage deployer
(`mlops.components.deployment_target`), assumed by that use case's dev deploy build.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from mlops import iam
from mlops.naming import NameContext, model_execution_role_name
from mlops.tags import with_component

TARGET_ENVIRONMENTS = ("staging", "prod")


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
        model_role_name = model_execution_role_name(ctx)

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
        self.register_outputs({"model_execution_role_arn": self.model_execution_role.arn})
