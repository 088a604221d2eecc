"""Studio roles (dev): execution, data-scientist and lead-data-scientist, least privilege.

No AWS-managed full-access policy is attached (no `AmazonSageMakerFullAccess`); every permission is
written out in `studio_policy()` (pure, unit-tested and linted with parliament).

- `studio-execution`: the domain's default execution role (spaces, jobs started from Studio);
- `data-scientist`: execution role of data scientists' user profiles; explicitly DENIED creating
  projects;
- `lead-data-scientist`: like a data scientist, plus creating SageMaker Projects (Service Catalog
  products).

No Studio role approves anything: every persona is explicitly denied `sagemaker:UpdateModelPackage`
and the CodePipeline gate actions. Approvals are made by people signed in with IAM Identity Center
(persona permission sets) who assume the use case's approver role (`mlops.components.approvers`,
docs/identity.md): Studio roles run notebooks and jobs, and an approval must name a person.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from mlops import iam
from mlops.components.usecase_roles import data_scientist_deny_policy
from mlops.naming import NameContext, role_name
from mlops.tags import with_component

PERSONAS: tuple[str, ...] = ("studio-execution", "data-scientist", "lead-data-scientist")

# SageMaker work a data scientist does from Studio (resource-scoped to this account and region).
_SAGEMAKER_WORK = [
    "sagemaker:CreateTrainingJob", "sagemaker:StopTrainingJob",
    "sagemaker:CreateProcessingJob", "sagemaker:StopProcessingJob",
    "sagemaker:CreateHyperParameterTuningJob", "sagemaker:StopHyperParameterTuningJob",
    "sagemaker:CreateTransformJob", "sagemaker:StopTransformJob",
    "sagemaker:CreatePipeline", "sagemaker:UpdatePipeline", "sagemaker:DeletePipeline",
    "sagemaker:StartPipelineExecution", "sagemaker:StopPipelineExecution",
    "sagemaker:RetryPipelineExecution", "sagemaker:SendPipelineExecutionStepSuccess",
    "sagemaker:SendPipelineExecutionStepFailure",
    "sagemaker:CreateExperiment", "sagemaker:CreateTrial", "sagemaker:CreateTrialComponent",
    "sagemaker:UpdateTrialComponent", "sagemaker:AssociateTrialComponent",
    "sagemaker:CreateModel", "sagemaker:CreateModelPackage",
    "sagemaker:CreateApp", "sagemaker:DeleteApp", "sagemaker:CreateSpace",
    "sagemaker:UpdateSpace", "sagemaker:DeleteSpace", "sagemaker:CreatePresignedDomainUrl",
    "sagemaker:AddTags",
    "sagemaker:DescribeTrainingJob", "sagemaker:DescribeProcessingJob",
    "sagemaker:DescribeHyperParameterTuningJob", "sagemaker:DescribeTransformJob",
    "sagemaker:DescribePipeline", "sagemaker:DescribePipelineExecution",
    "sagemaker:DescribePipelineDefinitionForExecution", "sagemaker:DescribeExperiment",
    "sagemaker:DescribeTrial", "sagemaker:DescribeTrialComponent", "sagemaker:DescribeModel",
    "sagemaker:DescribeModelPackage", "sagemaker:DescribeModelPackageGroup",
    "sagemaker:BatchDescribeModelPackage", "sagemaker:ListModelPackages",
    "sagemaker:DescribeDomain", "sagemaker:DescribeUserProfile", "sagemaker:DescribeSpace",
    "sagemaker:DescribeApp", "sagemaker:DescribeEndpoint", "sagemaker:DescribeEndpointConfig",
    "sagemaker:DescribeImage", "sagemaker:DescribeImageVersion", "sagemaker:DescribeProject",
    "sagemaker:ListTags", "sagemaker:ListPipelineExecutions",
    "sagemaker:ListPipelineExecutionSteps",
    "sagemaker:ListPipelineParametersForExecution",
    "sagemaker:ListTrainingJobsForHyperParameterTuningJob",
]  # fmt: skip
# Listing and search calls that do not support resource-level permissions (Resource "*").
_SAGEMAKER_GLOBAL_READ = [
    "sagemaker:ListTrainingJobs", "sagemaker:ListProcessingJobs",
    "sagemaker:ListHyperParameterTuningJobs", "sagemaker:ListTransformJobs",
    "sagemaker:ListPipelines", "sagemaker:ListExperiments", "sagemaker:ListTrials",
    "sagemaker:ListTrialComponents", "sagemaker:ListModels", "sagemaker:ListModelPackageGroups",
    "sagemaker:ListEndpoints", "sagemaker:ListEndpointConfigs", "sagemaker:ListDomains",
    "sagemaker:ListUserProfiles", "sagemaker:ListSpaces", "sagemaker:ListApps",
    "sagemaker:ListImages", "sagemaker:ListProjects", "sagemaker:Search",
    "sagemaker:GetSearchSuggestions", "sagemaker:GetSagemakerServicecatalogPortfolioStatus",
]  # fmt: skip
_ENI = [
    "ec2:CreateNetworkInterface", "ec2:CreateNetworkInterfacePermission",
    "ec2:DeleteNetworkInterface", "ec2:DeleteNetworkInterfacePermission",
]  # fmt: skip
_EC2_DESCRIBE = [
    "ec2:DescribeNetworkInterfaces", "ec2:DescribeVpcs", "ec2:DescribeSubnets",
    "ec2:DescribeSecurityGroups", "ec2:DescribeDhcpOptions", "ec2:DescribeVpcEndpoints",
]  # fmt: skip
_ECR_PULL = ["ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"]
# Jobs that can run in a VPC: refuse them without VPC subnets (no internet-facing training).
_VPC_JOBS = [
    "sagemaker:CreateTrainingJob", "sagemaker:CreateProcessingJob",
    "sagemaker:CreateHyperParameterTuningJob",
]  # fmt: skip
APPROVE_ACTIONS = ["sagemaker:UpdateModelPackage"]
GATE_ACTIONS = [
    "codepipeline:PutApprovalResult", "codepipeline:RetryStageExecution",
    "codepipeline:DisableStageTransition", "codepipeline:EnableStageTransition",
]  # fmt: skip
PROJECT_ACTIONS = ["sagemaker:CreateProject", "servicecatalog:ProvisionProduct"]


def studio_policy(
    persona: str,
    *,
    region: str,
    account_id: str,
    bucket_arns: Sequence[str],
    key_arns: Sequence[str],
    passable_role_arns: Sequence[str],
) -> dict:
    """The identity policy of one Studio persona (pure)."""
    if persona not in PERSONAS:
        raise ValueError(f"unknown persona {persona!r}; use one of {PERSONAS}")
    sm = f"arn:aws:sagemaker:{region}:{account_id}"
    statements: list[iam.Statement] = [
        iam.statement("SageMakerWork", _SAGEMAKER_WORK, f"{sm}:*"),
        iam.statement("SageMakerSearch", _SAGEMAKER_GLOBAL_READ, "*"),
        iam.statement(
            "DenyJobsOutsideVpc",
            _VPC_JOBS,
            f"{sm}:*",
            effect="Deny",
            condition={"Null": {"sagemaker:VpcSubnets": "true"}},
        ),
        iam.s3_read_write("PlatformBuckets", bucket_arns),
        iam.kms_use("PlatformKeys", key_arns),
        iam.statement("EcrAuth", "ecr:GetAuthorizationToken", "*"),
        # AWS-provided framework images live in AWS-owned accounts of this region.
        iam.statement("EcrPull", _ECR_PULL, f"arn:aws:ecr:{region}:*:repository/*"),
        iam.statement(
            "SageMakerLogs",
            [
                "logs:CreateLogGroup",
                "logs:CreateLogStream",
                "logs:PutLogEvents",
                "logs:DescribeLogStreams",
                "logs:GetLogEvents",
            ],
            f"arn:aws:logs:{region}:{account_id}:log-group:/aws/sagemaker/*",
        ),
        iam.statement(
            "SageMakerMetrics",
            "cloudwatch:PutMetricData",
            "*",
            condition={"StringLike": {"cloudwatch:namespace": "/aws/sagemaker/*"}},
        ),
        iam.statement(
            "VpcNetworkInterfaces",
            _ENI,
            [
                f"arn:aws:ec2:{region}:{account_id}:network-interface/*",
                f"arn:aws:ec2:{region}:{account_id}:subnet/*",
                f"arn:aws:ec2:{region}:{account_id}:security-group/*",
            ],
        ),
        iam.statement("VpcDescribe", _EC2_DESCRIBE, "*"),
        iam.pass_role("PassStudioRoles", passable_role_arns, "sagemaker.amazonaws.com"),
    ]
    # No Studio role approves: approvals are a person's Identity Center session assuming the use
    # case's approver role (mlops.components.approvers). Explicit denies win over any allow added
    # later (e.g. by another policy).
    statements += [
        iam.statement("DenyApproveModelPackages", APPROVE_ACTIONS, "*", effect="Deny"),
        iam.statement(
            "DenyPromotionGates",
            GATE_ACTIONS,
            f"arn:aws:codepipeline:{region}:{account_id}:*",
            effect="Deny",
        ),
    ]
    if persona == "lead-data-scientist":
        statements += [
            iam.statement(
                "CreateProjects",
                ["sagemaker:CreateProject", "sagemaker:DeleteProject", "sagemaker:UpdateProject"],
                f"{sm}:project/*",
            ),
            iam.statement(
                "LaunchProjectProducts",
                [
                    "servicecatalog:ProvisionProduct",
                    "servicecatalog:DescribeProduct",
                    "servicecatalog:DescribeProvisioningParameters",
                    "servicecatalog:ListLaunchPaths",
                ],
                f"arn:aws:catalog:{region}:{account_id}:product/*",
            ),
            iam.statement(
                "SearchProjectProducts",
                ["servicecatalog:SearchProducts", "servicecatalog:DescribeProvisionedProduct"],
                "*",
            ),
        ]
    else:
        # Approval integrity for every use case at once (one statement, not one per use case):
        # no package status but PendingManualApproval, the governed pipeline only through CI.
        governed = data_scientist_deny_policy(
            deploy_pipeline_arn=f"arn:aws:codepipeline:{region}:{account_id}:*",
            training_pipeline_arn=f"{sm}:pipeline/mlops-*-training",
            packages_arn=f"{sm}:model-package/*",
        )["Statement"]
        statements += [
            st
            for st in governed
            if st["Sid"] in ("NoApprovalStatusByDataScientists", "GovernedPipelineOnlyThroughCi")
        ]
        statements += [
            iam.statement(
                "DenyCreateProjects",
                [*PROJECT_ACTIONS, "sagemaker:DeleteProject", "sagemaker:UpdateProject"],
                "*",
                effect="Deny",
            ),
        ]
    return iam.document(statements)


@dataclass(frozen=True, kw_only=True)
class StudioRolesArgs:
    names: NameContext
    tags: Mapping[str, str]
    bucket_arns: Sequence[pulumi.Input[str]]
    """Buckets Studio work reads and writes (data, model and pipeline artifacts)."""
    key_arns: Sequence[pulumi.Input[str]]
    """KMS keys of those buckets and of Studio."""

    def __post_init__(self) -> None:
        if self.names.environment != "dev":
            raise ValueError("StudioRoles are created in the dev (data science) stack only")
        if not self.bucket_arns or not self.key_arns:
            raise ValueError("StudioRolesArgs needs bucket_arns and key_arns")


class StudioRoles(pulumi.ComponentResource):
    """The three Studio roles, each with one inline-free, explicit role policy."""

    def __init__(
        self, name: str, args: StudioRolesArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mlops:identity:StudioRoles", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        ctx = args.names
        role_arns = [iam.role_arn(ctx.account_id, role_name(ctx, p)) for p in PERSONAS]
        self.roles: dict[str, aws.iam.Role] = {}
        self.policies: dict[str, aws.iam.RolePolicy] = {}
        for persona in PERSONAS:
            role = aws.iam.Role(
                f"{name}-{persona}",
                name=role_name(ctx, persona),
                description=f"SageMaker Studio {persona} (least privilege, no FullAccess)",
                assume_role_policy=iam.dumps(
                    iam.service_trust("sagemaker.amazonaws.com", ctx.account_id)
                ),
                max_session_duration=3600 * 4,
                tags=with_component(args.tags, "identity", persona=persona),
                opts=child,
            )

            def policy_json(values: list, persona: str = persona) -> str:
                n_buckets = len(args.bucket_arns)
                return iam.dumps(
                    studio_policy(
                        persona,
                        region=ctx.region,
                        account_id=ctx.account_id,
                        bucket_arns=values[:n_buckets],
                        key_arns=values[n_buckets:],
                        passable_role_arns=role_arns,
                    )
                )

            self.policies[persona] = aws.iam.RolePolicy(
                f"{name}-{persona}-policy",
                name=f"{persona}-least-privilege",
                role=role.id,
                policy=pulumi.Output.all(*args.bucket_arns, *args.key_arns).apply(policy_json),
                opts=child,
            )
            self.roles[persona] = role
        self.register_outputs({f"{p}_role_arn": r.arn for p, r in self.roles.items()})

    @property
    def execution(self) -> aws.iam.Role:
        return self.roles["studio-execution"]

    @property
    def data_scientist(self) -> aws.iam.Role:
        return self.roles["data-scientist"]

    @property
    def lead_data_scientist(self) -> aws.iam.Role:
        return self.roles["lead-data-scientist"]
