"""The IAM documents of use-case delivery (approvals, the model registry, CodeStar connections,
VPC attachment) and the ARNs they name, built with `mlops.iam`'s builders (pure: plain strings in,
JSON-ready dicts out)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from mlops import iam

Doc = dict[str, Any]


def trust_roles(role_arns: Sequence[str]) -> Doc:
    """Trust exactly these role ARNs (cross-account deployment)."""
    return iam.document(
        iam.statement(
            "TrustNamedRoles",
            "sts:AssumeRole",
            iam.NO_RESOURCE,
            principal={"AWS": sorted(role_arns)},
        )
    )


def pipeline_approval_arns(pipeline_arn: str, gates: Iterable[str]) -> list[str]:
    """ARNs of manual approval actions: arn:aws:codepipeline:r:a:<pipeline>/<stage>/<action>."""
    return [f"{pipeline_arn}/{gate}/*" for gate in gates]


def approver_statements(pipeline_arn: str, gates: Sequence[str]) -> list[iam.Statement]:
    """The lead data scientist may approve or reject the deploy pipeline's gates, nothing else."""
    return [
        iam.statement(
            "ApproveUseCaseGates",
            "codepipeline:PutApprovalResult",
            pipeline_approval_arns(pipeline_arn, gates),
        ),
        iam.statement(
            "SeeTheDeployPipeline",
            [
                "codepipeline:GetPipeline",
                "codepipeline:GetPipelineState",
                "codepipeline:GetPipelineExecution",
                "codepipeline:ListPipelineExecutions",
                "codepipeline:ListActionExecutions",
            ],
            pipeline_arn,
        ),
    ]


def deny_approval_statements(pipeline_arn: str) -> list[iam.Statement]:
    """Explicit deny (wins over any allow) for roles that must never pass a gate."""
    return [
        iam.statement(
            "NoApprovalsByDataScientists",
            [
                "codepipeline:PutApprovalResult",
                "codepipeline:RetryStageExecution",
                "codepipeline:DisableStageTransition",
                "codepipeline:EnableStageTransition",
            ],
            [pipeline_arn, f"{pipeline_arn}/*"],
            effect="Deny",
        )
    ]


def registry_statements(
    group_arn: str, package_arn_pattern: str, consumer_accounts: Sequence[str]
) -> list[iam.Statement]:
    """Model package group policy: staging and prod may describe packages and create models."""
    principals = [iam.account_root(a) for a in sorted(consumer_accounts)]
    return [
        iam.statement(
            "DescribeGroup",
            ["sagemaker:DescribeModelPackageGroup"],
            group_arn,
            principal={"AWS": principals},
        ),
        iam.statement(
            "DeployPackages",
            [
                "sagemaker:DescribeModelPackage",
                "sagemaker:ListModelPackages",
                "sagemaker:CreateModel",
            ],
            package_arn_pattern,
            principal={"AWS": principals},
        ),
    ]


# --- ARNs built from names (deterministic; match what AWS returns) ------------------------------
def codebuild_project_arn(region: str, account: str, project: str) -> str:
    return f"arn:aws:codebuild:{region}:{account}:project/{project}"


def lambda_function_arn(region: str, account: str, function: str) -> str:
    return f"arn:aws:lambda:{region}:{account}:function:{function}"


def model_package_group_arn(region: str, account: str, group: str) -> str:
    return f"arn:aws:sagemaker:{region}:{account}:model-package-group/{group}"


def model_packages_arn(region: str, account: str, group: str) -> str:
    return f"arn:aws:sagemaker:{region}:{account}:model-package/{group}/*"


def connection_use(connection_arn: str) -> iam.Statement:
    """UseConnection with the action prefix that matches the connection's ARN."""
    service = connection_arn.split(":")[2]
    return iam.statement(
        "UseConnection",
        f"{service}:UseConnection",
        connection_arn,
    )


def vpc_network_interfaces(region: str, account: str, service: str) -> list[iam.Statement]:
    """What CodeBuild / Lambda / SageMaker jobs (`service`) need to attach to private subnets,
    scoped to this account and region (Describe* only accepts '*')."""
    ec2 = f"arn:aws:ec2:{region}:{account}"
    enis = f"{ec2}:network-interface/*"
    statements: list[iam.Statement] = [
        iam.statement(
            "VpcAttach",
            ["ec2:CreateNetworkInterface", "ec2:DeleteNetworkInterface"],
            [enis, f"{ec2}:subnet/*", f"{ec2}:security-group/*"],
        ),
        iam.statement(
            "VpcDescribe",
            [
                "ec2:DescribeNetworkInterfaces",
                "ec2:DescribeSubnets",
                "ec2:DescribeSecurityGroups",
                "ec2:DescribeDhcpOptions",
                "ec2:DescribeVpcs",
            ],
            "*",
        ),
    ]
    if service == "lambda":
        actions = ["ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses"]
        statements.append(
            iam.statement(
                "VpcAddresses",
                actions,
                enis,
            )
        )
    elif service == "codebuild":
        statements.append(
            iam.statement(
                "VpcEniPermission",
                "ec2:CreateNetworkInterfacePermission",
                enis,
                condition={"StringEquals": {"ec2:AuthorizedService": "codebuild.amazonaws.com"}},
            )
        )
    elif service == "sagemaker":
        actions = ["ec2:CreateNetworkInterfacePermission", "ec2:DeleteNetworkInterfacePermission"]
        statements.append(
            iam.statement(
                "VpcEniPermission",
                actions,
                enis,
            )
        )
    else:
        raise ValueError(f"unknown service {service!r}")
    return statements
