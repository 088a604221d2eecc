"""IAM documents for use-case delivery (pure: plain dicts in, JSON-ready dicts out), and a small
evaluator for the subset of IAM semantics we rely on (explicit Deny wins, then Allow, else deny).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

Doc = dict[str, Any]
VERSION = "2012-10-17"


def doc(*statements: Mapping[str, Any]) -> Doc:
    return {"Version": VERSION, "Statement": [dict(s) for s in statements]}


def trust(service: str, *, source_account: str | None = None) -> Doc:
    """Trust policy for an AWS service principal, optionally pinned to the calling account."""
    statement: Doc = {
        "Effect": "Allow",
        "Principal": {"Service": service},
        "Action": "sts:AssumeRole",
    }
    if source_account:
        statement["Condition"] = {"StringEquals": {"aws:SourceAccount": source_account}}
    return doc(statement)


def trust_roles(role_arns: Sequence[str]) -> Doc:
    """Trust exactly these role ARNs (cross-account deployment)."""
    return doc(
        {
            "Effect": "Allow",
            "Principal": {"AWS": sorted(role_arns)},
            "Action": "sts:AssumeRole",
        }
    )


def pipeline_approval_arns(pipeline_arn: str, gates: Iterable[str]) -> list[str]:
    """ARNs of manual approval actions: arn:aws:codepipeline:r:a:<pipeline>/<stage>/<action>."""
    return [f"{pipeline_arn}/{gate}/*" for gate in gates]


def approver_policy(pipeline_arn: str, gates: Sequence[str]) -> Doc:
    """The lead data scientist may approve or reject the deploy pipeline's gates, nothing else."""
    return doc(
        {
            "Sid": "ApproveUseCaseGates",
            "Effect": "Allow",
            "Action": "codepipeline:PutApprovalResult",
            "Resource": pipeline_approval_arns(pipeline_arn, gates),
        },
        {
            "Sid": "SeeTheDeployPipeline",
            "Effect": "Allow",
            "Action": [
                "codepipeline:GetPipeline",
                "codepipeline:GetPipelineState",
                "codepipeline:GetPipelineExecution",
                "codepipeline:ListPipelineExecutions",
                "codepipeline:ListActionExecutions",
            ],
            "Resource": pipeline_arn,
        },
    )


def deny_approval_policy(pipeline_arn: str) -> Doc:
    """Explicit deny (wins over any allow) for roles that must never pass a gate."""
    return doc(
        {
            "Sid": "NoApprovalsByDataScientists",
            "Effect": "Deny",
            "Action": [
                "codepipeline:PutApprovalResult",
                "codepipeline:RetryStageExecution",
                "codepipeline:DisableStageTransition",
                "codepipeline:EnableStageTransition",
            ],
            "Resource": [pipeline_arn, f"{pipeline_arn}/*"],
        }
    )


def registry_resource_policy(
    group_arn: str, package_arn_pattern: str, consumer_accounts: Sequence[str]
) -> Doc:
    """Model package group policy: staging and prod may describe packages and create models."""
    principals = [f"arn:aws:iam::{a}:root" for a in sorted(consumer_accounts)]
    return doc(
        {
            "Sid": "DescribeGroup",
            "Effect": "Allow",
            "Principal": {"AWS": principals},
            "Action": ["sagemaker:DescribeModelPackageGroup"],
            "Resource": group_arn,
        },
        {
            "Sid": "DeployPackages",
            "Effect": "Allow",
            "Principal": {"AWS": principals},
            "Action": [
                "sagemaker:DescribeModelPackage",
                "sagemaker:ListModelPackages",
                "sagemaker:CreateModel",
            ],
            "Resource": package_arn_pattern,
        },
    )


# --- evaluation ---------------------------------------------------------------------------------
def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _matches(patterns: Any, value: str, *, case_insensitive: bool = False) -> bool:
    for pattern in _as_list(patterns):
        if case_insensitive:
            if fnmatch.fnmatchcase(value.lower(), str(pattern).lower()):
                return True
        elif fnmatch.fnmatchcase(value, str(pattern)):
            return True
    return False


def decide(docs: Iterable[Mapping[str, Any]], action: str, resource: str) -> str:
    """'Deny' | 'Allow' | 'ImplicitDeny' for identity policies without conditions (our subset).

    Statements with a Condition are treated as not applying to Allow and as applying to Deny
    (the conservative reading), so the evaluator never over-grants.
    """
    allowed = False
    for document in docs:
        for st in _as_list(document.get("Statement", [])):
            if "NotAction" in st or "NotResource" in st:
                raise ValueError("NotAction/NotResource are outside the supported subset")
            hit = _matches(st.get("Action", []), action, case_insensitive=True) and _matches(
                st.get("Resource", []), resource
            )
            if not hit:
                continue
            if st["Effect"] == "Deny":
                return "Deny"
            if st["Effect"] == "Allow" and "Condition" not in st:
                allowed = True
    return "Allow" if allowed else "ImplicitDeny"


# --- ARNs built from names (deterministic; match what AWS returns) ------------------------------
def codebuild_project_arn(region: str, account: str, project: str) -> str:
    return f"arn:aws:codebuild:{region}:{account}:project/{project}"


def lambda_function_arn(region: str, account: str, function: str) -> str:
    return f"arn:aws:lambda:{region}:{account}:function:{function}"


def model_package_group_arn(region: str, account: str, group: str) -> str:
    return f"arn:aws:sagemaker:{region}:{account}:model-package-group/{group}"


def model_packages_arn(region: str, account: str, group: str) -> str:
    return f"arn:aws:sagemaker:{region}:{account}:model-package/{group}/*"


def connection_use(connection_arn: str) -> dict[str, Any]:
    """UseConnection with the action prefix that matches the connection's ARN."""
    service = connection_arn.split(":")[2]
    return {
        "Sid": "UseConnection",
        "Effect": "Allow",
        "Action": f"{service}:UseConnection",
        "Resource": connection_arn,
    }


def vpc_network_interfaces(region: str, account: str, service: str) -> list[Doc]:
    """What CodeBuild / Lambda / SageMaker jobs (`service`) need to attach to private subnets,
    scoped to this account and region (Describe* only accepts '*')."""
    ec2 = f"arn:aws:ec2:{region}:{account}"
    enis = f"{ec2}:network-interface/*"
    statements: list[Doc] = [
        {
            "Sid": "VpcAttach",
            "Effect": "Allow",
            "Action": ["ec2:CreateNetworkInterface", "ec2:DeleteNetworkInterface"],
            "Resource": [enis, f"{ec2}:subnet/*", f"{ec2}:security-group/*"],
        },
        {
            "Sid": "VpcDescribe",
            "Effect": "Allow",
            "Action": [
                "ec2:DescribeNetworkInterfaces",
                "ec2:DescribeSubnets",
                "ec2:DescribeSecurityGroups",
                "ec2:DescribeDhcpOptions",
                "ec2:DescribeVpcs",
            ],
            "Resource": "*",
        },
    ]
    if service == "lambda":
        actions = ["ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses"]
        statements.append(
            {"Sid": "VpcAddresses", "Effect": "Allow", "Action": actions, "Resource": enis}
        )
    elif service == "codebuild":
        statements.append(
            {
                "Sid": "VpcEniPermission",
                "Effect": "Allow",
                "Action": "ec2:CreateNetworkInterfacePermission",
                "Resource": enis,
                "Condition": {"StringEquals": {"ec2:AuthorizedService": "codebuild.amazonaws.com"}},
            }
        )
    elif service == "sagemaker":
        actions = ["ec2:CreateNetworkInterfacePermission", "ec2:DeleteNetworkInterfacePermission"]
        statements.append(
            {"Sid": "VpcEniPermission", "Effect": "Allow", "Action": actions, "Resource": enis}
        )
    else:
        raise ValueError(f"unknown service {service!r}")
    return statements
