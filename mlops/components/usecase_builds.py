"""Shapes shared by a use case's `BuildPipeline` and `DeployPipeline` (dev stack): the inputs both
take (`DeliveryArgs`), a role with its inline policy, a CodeBuild project, CodePipeline source and
build actions, the artifact store, and the runtime-actor declarations of a pipeline's source stage
and of a CodeBuild build (`mlops.rehearsal.declare`; a no-op outside `mlops rehearse`).

Imported by the pipeline components only; it imports neither of them (imports run one way:
`usecase` → `build_pipeline` / `deploy_pipeline` / `deployment_target` → this module)."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from mlops.components import packages
from mlops.config import StackConfig
from mlops.naming import NameContext, log_group_name, names_for, usecase_name
from mlops.rehearsal import declare
from mlops.usecases import UseCaseManifest

BUILD_IMAGE = "aws/codebuild/amazonlinux-x86_64-standard:5.0"


def moved_children(
    component: pulumi.ComponentResource, opts: pulumi.ResourceOptions | None
) -> pulumi.ResourceOptions:
    """Options for a child that used to be a direct child of `UseCase` (the component's parent):
    the alias keeps its URN, and so its state, across the split into child components."""
    legacy = opts.parent if opts is not None else None
    return pulumi.ResourceOptions(
        parent=component, aliases=[pulumi.Alias(parent=legacy)] if legacy is not None else None
    )


@dataclass(frozen=True, kw_only=True)
class DeliveryArgs:
    """What both pipelines of a use case take from the platform (dev stack)."""

    manifest: UseCaseManifest
    config: StackConfig
    tags: Mapping[str, str]
    kms_key_arn: pulumi.Input[str]
    """Stack KMS key: pipeline artifacts, build logs, SNS, CodeBuild."""
    artifact_bucket: pulumi.Input[str]
    """Pipeline-artifacts bucket (KMS-encrypted, private)."""
    vpc_id: pulumi.Input[str]
    subnet_ids: pulumi.Input[Sequence[str]]
    security_group_ids: pulumi.Input[Sequence[str]]
    build_logs_name: pulumi.Input[str]
    build_logs_arn: pulumi.Input[str]
    git_connection_arn: pulumi.Input[str] | None = None

    def __post_init__(self) -> None:
        if not self.config.is_governance:
            raise ValueError("DeliveryArgs: the pipelines belong to the dev (governance) stack")

    @property
    def usecase(self) -> str:
        return self.manifest.name

    @property
    def ctx(self) -> NameContext:
        return names_for(self.config)

    def n(self, *parts: str, kind: str = "generic") -> str:
        """`mlops-dev-<usecase>-<parts>` (mlops.naming)."""
        return usecase_name(self.ctx, self.usecase, *parts, kind=kind)

    @property
    def log_group(self) -> str:
        return log_group_name(self.ctx, self.usecase, "codebuild")

    @property
    def packages(self) -> packages.PackageNames:
        """The platform's CodeArtifact domain and repository every build installs from."""
        return packages.package_names(self.ctx)


def json_doc(build: Callable[..., dict[str, Any]], **values: Any) -> pulumi.Output[str]:
    """A JSON document from a pure builder whose arguments may be Outputs."""
    return pulumi.Output.all(**values).apply(lambda v: json.dumps(build(**v), sort_keys=True))


def artifact_key(pipeline: str, artifact: str) -> str:
    """Where CodePipeline writes an artifact: the first 20 characters of the pipeline's name, the
    first 10 of the artifact's, then a random object name."""
    return f"{pipeline[:20]}/{artifact[:10]}/rehearsal.zip"


def role(
    name: str,
    physical: str,
    trust: Mapping[str, Any],
    policy: pulumi.Input[str],
    tags: Mapping[str, str],
    opts: pulumi.ResourceOptions,
) -> aws.iam.Role:
    """A role and its one inline policy (`<name>-role`, `<name>-policy`)."""
    resource = aws.iam.Role(
        f"{name}-role",
        name=physical,
        assume_role_policy=json.dumps(trust),
        tags=dict(tags),
        opts=opts,
    )
    aws.iam.RolePolicy(
        f"{name}-policy",
        role=resource.name,
        policy=policy,
        opts=pulumi.ResourceOptions(parent=resource),
    )
    return resource


def codebuild_project(
    name: str,
    a: DeliveryArgs,
    project: str,
    buildspec: str,
    service_role: aws.iam.Role,
    env: Mapping[str, pulumi.Input[str]],
    tags: Mapping[str, str],
    opts: pulumi.ResourceOptions,
    *,
    in_vpc: bool = True,
    privileged: bool = False,
) -> aws.codebuild.Project:
    """A CodeBuild project of the use case (`project` is the physical-name part). Every project
    knows the platform's package index (CODEARTIFACT_* variables, `packages.login_commands`);
    `in_vpc=False` for builds that touch nothing VPC-private (docs/deploy.md, "Egress");
    `privileged=True` only for the image build (docker needs the daemon CodeBuild starts in
    privileged mode)."""
    env = {**a.packages.environment(), **env}
    vpc = (
        aws.codebuild.ProjectVpcConfigArgs(
            vpc_id=a.vpc_id, subnets=a.subnet_ids, security_group_ids=a.security_group_ids
        )
        if in_vpc
        else None
    )
    return aws.codebuild.Project(
        name,
        name=a.n(project),
        description=f"{project} for use case {a.usecase}",
        service_role=service_role.arn,
        encryption_key=a.kms_key_arn,
        build_timeout=60,
        source=aws.codebuild.ProjectSourceArgs(type="CODEPIPELINE", buildspec=buildspec),
        artifacts=aws.codebuild.ProjectArtifactsArgs(type="CODEPIPELINE"),
        environment=aws.codebuild.ProjectEnvironmentArgs(
            compute_type="BUILD_GENERAL1_SMALL",
            image=BUILD_IMAGE,
            type="LINUX_CONTAINER",
            privileged_mode=privileged or None,
            environment_variables=[
                aws.codebuild.ProjectEnvironmentEnvironmentVariableArgs(name=k, value=v)
                for k, v in env.items()
            ],
        ),
        vpc_config=vpc,
        logs_config=aws.codebuild.ProjectLogsConfigArgs(
            cloudwatch_logs=aws.codebuild.ProjectLogsConfigCloudwatchLogsArgs(
                group_name=a.build_logs_name, status="ENABLED"
            )
        ),
        tags=dict(tags),
        opts=opts,
    )


def artifact_store(a: DeliveryArgs) -> aws.codepipeline.PipelineArtifactStoreArgs:
    return aws.codepipeline.PipelineArtifactStoreArgs(
        location=a.artifact_bucket,
        type="S3",
        encryption_key=aws.codepipeline.PipelineArtifactStoreEncryptionKeyArgs(
            id=a.kms_key_arn, type="KMS"
        ),
    )


def source_action(
    a: DeliveryArgs, repo: str, output: str, detect: bool, *, name: str = "Source"
) -> aws.codepipeline.PipelineStageActionArgs:
    git = a.manifest.git
    if git.provider == "codecommit":
        return aws.codepipeline.PipelineStageActionArgs(
            name=name,
            category="Source",
            owner="AWS",
            provider="CodeCommit",
            version="1",
            output_artifacts=[output],
            configuration={
                "RepositoryName": repo,
                "BranchName": git.branch,
                "PollForSourceChanges": "false",
                "OutputArtifactFormat": "CODE_ZIP",
            },
        )
    return aws.codepipeline.PipelineStageActionArgs(
        name=name,
        category="Source",
        owner="AWS",
        provider="CodeStarSourceConnection",
        version="1",
        output_artifacts=[output],
        configuration={
            "ConnectionArn": a.git_connection_arn,
            "FullRepositoryId": f"{a.config.git.owner}/{repo}",
            "BranchName": git.branch,
            "OutputArtifactFormat": "CODE_ZIP",
            "DetectChanges": "true" if detect else "false",
        },
    )


def build_action(
    action: str,
    project: aws.codebuild.Project,
    source: str,
    env: Sequence[Mapping[str, str]] = (),
    run_order: int = 1,
    *,
    extra_sources: Sequence[str] = (),
    namespace: str | None = None,
) -> aws.codepipeline.PipelineStageActionArgs:
    """A CodeBuild action on `source` (the primary source when `extra_sources` are given);
    `namespace` publishes the build's exported variables as `#{<namespace>.<VARIABLE>}`."""
    config: dict[str, pulumi.Input[str]] = {"ProjectName": project.name}
    if extra_sources:
        config["PrimarySource"] = source
    if env:
        config["EnvironmentVariables"] = json.dumps(
            [{"name": e["name"], "value": e["value"], "type": "PLAINTEXT"} for e in env]
        )
    return aws.codepipeline.PipelineStageActionArgs(
        name=action,
        category="Build",
        owner="AWS",
        provider="CodeBuild",
        version="1",
        input_artifacts=[source, *extra_sources],
        configuration=config,
        run_order=run_order,
        namespace=namespace,
    )


# --- runtime actors ---------------------------------------------------------------------------
def vpc_origin(a: DeliveryArgs) -> dict[str, Any]:
    return declare.vpc(a.vpc_id, a.subnet_ids, a.security_group_ids)


def install_calls(a: DeliveryArgs, why: str) -> list[dict[str, Any]]:
    """A build's `pip install` from the platform's CodeArtifact repository (runtime calls)."""
    return packages.install_calls(a.packages, why)


def bucket_object(a: DeliveryArgs, key: str) -> pulumi.Output[str]:
    return pulumi.Output.concat("arn:aws:s3:::", a.artifact_bucket, "/", key)


def declare_pipeline_source(
    a: DeliveryArgs,
    flow: str,
    step: str,
    pipeline_role: aws.iam.Role,
    pipeline: str,
    repo: str,
    artifact: str,
) -> None:
    """CodePipeline (its service role) fetches the repo through the connection and stores the
    source artifact, SSE-KMS with the stack key."""
    cfg = a.config
    calls = [
        declare.call(
            "s3:PutObject",
            bucket_object(a, artifact_key(pipeline, artifact)),
            context={
                "s3:x-amz-server-side-encryption": "aws:kms",
                "s3:x-amz-server-side-encryption-aws-kms-key-id": a.kms_key_arn,
            },
            why="store the source artifact",
        ),
    ]
    if a.manifest.git.provider == "codecommit":
        calls.insert(
            0,
            declare.call(
                "codecommit:GetBranch",
                f"arn:aws:codecommit:{cfg.region}:{cfg.account_id}:{repo}",
                why="read the branch",
            ),
        )
    elif a.git_connection_arn is not None:
        service = str(a.git_connection_arn).split(":")[2]
        calls.insert(
            0,
            declare.call(
                f"{service}:UseConnection",
                a.git_connection_arn,
                context={f"{service}:FullRepositoryId": f"{cfg.git.owner}/{repo}"},
                why=f"fetch {repo} through the Git connection",
            ),
        )
    declare.service_assumes(
        flow=flow,
        step=f"{step}: CodePipeline takes its role",
        service="codepipeline.amazonaws.com",
        role_arn=pipeline_role.arn,
        account=cfg.account_id,
        source_arn=f"arn:aws:codepipeline:{cfg.region}:{cfg.account_id}:{pipeline}",
        order=10,
    )
    declare.actor(
        flow=flow,
        step=f"{step}: source",
        principal=pipeline_role.arn,
        account=cfg.account_id,
        origin=declare.AWS_SERVICE,
        calls=calls,
        order=11,
    )


def declare_codebuild(
    a: DeliveryArgs,
    flow: str,
    step: str,
    project: str,
    build_role: aws.iam.Role,
    calls: Sequence[Mapping[str, Any]],
    order: int,
    source_artifact: str | None = None,
    *,
    in_vpc: bool = True,
) -> None:
    """A CodeBuild build: CodeBuild takes the role; in a VPC it attaches the build to the VPC (as
    the role) and the build's commands run from the private subnets; outside a VPC they run from
    CodeBuild's own network (the public AWS endpoints and the internet)."""
    cfg = a.config
    region, acct = cfg.region, cfg.account_id
    declare.service_assumes(
        flow=flow,
        step=f"{step}: CodeBuild takes its role",
        service="codebuild.amazonaws.com",
        role_arn=build_role.arn,
        account=acct,
        source_arn=f"arn:aws:codebuild:{region}:{acct}:project/{project}",
        order=order,
    )
    if in_vpc:
        eni = f"arn:aws:ec2:{region}:{acct}:network-interface/*"
        subnet = pulumi.Output.from_input(a.subnet_ids).apply(
            lambda ids: f"arn:aws:ec2:{region}:{acct}:subnet/{ids[0]}"
        )
        declare.actor(
            flow=flow,
            step=f"{step}: CodeBuild attaches the build to the VPC",
            principal=build_role.arn,
            account=acct,
            origin=declare.AWS_SERVICE,
            calls=[
                declare.call("ec2:CreateNetworkInterface", eni),
                declare.call("ec2:DescribeDhcpOptions"),
                declare.call("ec2:DescribeNetworkInterfaces"),
                declare.call("ec2:DescribeSubnets"),
                declare.call("ec2:DescribeSecurityGroups"),
                declare.call("ec2:DescribeVpcs"),
                declare.call(
                    "ec2:CreateNetworkInterfacePermission",
                    eni,
                    context={
                        "ec2:AuthorizedService": "codebuild.amazonaws.com",
                        "ec2:Subnet": subnet,
                    },
                ),
                declare.call("ec2:DeleteNetworkInterface", eni),
            ],
            order=order + 1,
        )
    logs = f"arn:aws:logs:{region}:{acct}:log-group:{a.log_group}"
    prelude = [
        declare.call(
            "logs:CreateLogStream", f"{logs}:log-stream:rehearsal", why="build log stream"
        ),
        declare.call("logs:PutLogEvents", f"{logs}:log-stream:rehearsal", why="build logs"),
    ]
    if source_artifact is not None:
        prelude.append(
            declare.call("s3:GetObject", bucket_object(a, source_artifact), why="source artifact")
        )
    declare.actor(
        flow=flow,
        step=step,
        principal=build_role.arn,
        account=acct,
        origin=vpc_origin(a) if in_vpc else declare.PUBLIC,
        calls=[*prelude, *calls],
        order=order + 2,
    )
