"""CI/CD: CodeBuild projects, CodePipeline pipelines, connections, ECR repositories and
CodeArtifact domains and repositories."""

from __future__ import annotations

from typing import Any

from mlops.rehearsal.model import Call
from mlops.testing.mocks import RecordedResource

from .base import (
    CALLER,
    ProgramView,
    ServiceCall,
    as_json,
    as_role,
    assume,
    block,
    c,
    eni,
    grant_for_service,
    pass_role,
    policy_principals,
    reads,
    register,
    strings,
    sub,
    tag_context,
    tagged,
    value,
)
from .monitoring import log_group_arn

SAR = "Service Authorization Reference (parliament iam_definition.json)"
CB_VPC = (
    "CodeBuild user guide 'Use CodeBuild with Amazon VPC' / 'Allow CodeBuild access to AWS "
    "services "
    "required to create a VPC network interface': the service role needs "
    "ec2:CreateNetworkInterface, "
    "DescribeDhcpOptions, DescribeNetworkInterfaces, DeleteNetworkInterface, DescribeSubnets, "
    "DescribeSecurityGroups, DescribeVpcs and ec2:CreateNetworkInterfacePermission on "
    "network-interface/* with ec2:Subnet and ec2:AuthorizedService=codebuild.amazonaws.com"
)
CB_CREATE = (
    "CodeBuild CreateProject checks the service role: 'CodeBuild is not authorized to perform: "
    "sts:AssumeRole on <role>'; with a VPC config it describes the VPC as the role ('Not "
    "authorized to perform DescribeSecurityGroups')"
)


def _project_arn(r: RecordedResource, v: ProgramView) -> str:
    return v.arn("codebuild", f"project/{v.physical_name(r)}")


def _project_role(r: RecordedResource, v: ProgramView) -> str | None:
    return v.role_arn(str(value(r, "serviceRole"))) if value(r, "serviceRole") else None


def _project_service(r: RecordedResource, v: ProgramView) -> list[ServiceCall]:
    role = _project_role(r, v)
    out = assume(
        "codebuild.amazonaws.com",
        role,
        "CreateProject checks CodeBuild can assume the service role",
    )
    vpc = block(r, "vpcConfig")
    subnets = strings(vpc.get("subnets"))
    if subnets:
        describe = [
            c(a, "*", "CreateProject validates the VPC config with the service role")
            for a in ("ec2:DescribeSecurityGroups", "ec2:DescribeSubnets", "ec2:DescribeVpcs")
        ]
        out += as_role(role, describe, "create")
        enis = [
            c(a, eni(v, a), "each build in the VPC")
            for a in (
                "ec2:CreateNetworkInterface",
                "ec2:DescribeDhcpOptions",
                "ec2:DescribeNetworkInterfaces",
                "ec2:DeleteNetworkInterface",
            )
        ]
        subnet_arns = [v.arn("ec2", f"subnet/{s}") for s in subnets]
        ctx = {"ec2:Subnet": subnet_arns, "ec2:AuthorizedService": "codebuild.amazonaws.com"}
        enis.append(
            c(
                "ec2:CreateNetworkInterfacePermission",
                v.arn("ec2", "network-interface/*"),
                "CodeBuild attaches the build's ENI",
                ctx,
            )
        )
        out += as_role(role, enis, "runtime")
    logs = sub(block(r, "logsConfig"), "cloudwatchLogs")
    if logs.get("status", "ENABLED") == "ENABLED":
        name = logs.get("groupName") or f"/aws/codebuild/{v.physical_name(r)}"
        group = log_group_arn(v, str(name))
        writes = [
            c("logs:CreateLogStream", f"{group}:log-stream:*", "build logs"),
            c("logs:PutLogEvents", f"{group}:log-stream:*", "build logs"),
        ]
        out += as_role(role, writes, "runtime")
    return out


@register(
    "aws:codebuild/project:Project",
    arn=_project_arn,
    service=_project_service,
    source=(CB_CREATE, CB_VPC, "terraform-provider-aws internal/service/codebuild/project.go", SAR),
    unverified=("the exact EC2 describe calls CreateProject makes with the role for a VPC config",),
)
def _project(r: RecordedResource, v: ProgramView) -> list[Call]:
    arn = _project_arn(r, v)
    calls = [c("codebuild:CreateProject", arn, "create the project", tag_context(r))]
    calls += pass_role(_project_role(r, v), "codebuild.amazonaws.com")
    key = value(r, "encryptionKey")
    if key:
        calls.append(
            c(
                "kms:DescribeKey",
                v.key_arn(str(key)) or str(key),
                "CodeBuild resolves the artifacts key",
                {"kms:ViaService": f"codebuild.{v.region}.amazonaws.com"},
            )
        )
    return calls + reads(arn, "codebuild:BatchGetProjects")


# --- CodePipeline ---------------------------------------------------------------------------------
def _pipeline_arn(r: RecordedResource, v: ProgramView) -> str:
    return v.arn("codepipeline", v.physical_name(r))


def _actions(r: RecordedResource) -> list[dict[str, Any]]:
    out = []
    for stage in as_json(r.inputs.get("stages")) or []:
        out += [a for a in (stage or {}).get("actions", []) if isinstance(a, dict)]
    return out


def _connection(a: dict[str, Any]) -> str | None:
    cfg = a.get("configuration") or {}
    return cfg.get("ConnectionArn") if a.get("provider") == "CodeStarSourceConnection" else None


def _connection_action(arn: str, verb: str) -> str:
    prefix = (
        "codeconnections" if arn.startswith("arn:aws:codeconnections:") else "codestar-connections"
    )
    return f"{prefix}:{verb}"


def _pipeline_service(r: RecordedResource, v: ProgramView) -> list[ServiceCall]:
    role = v.role_arn(str(value(r, "roleArn"))) if value(r, "roleArn") else None
    out = assume(
        "codepipeline.amazonaws.com", role, "CreatePipeline checks CodePipeline can assume the role"
    )
    runtime: list[Call] = []
    for a in _actions(r):
        conn = _connection(a)
        if conn:
            runtime.append(
                c(
                    _connection_action(conn, "UseConnection"),
                    conn,
                    "source action pulls through the connection",
                )
            )
        if a.get("provider") == "CodeBuild":
            project = v.arn(
                "codebuild", f"project/{(a.get('configuration') or {}).get('ProjectName')}"
            )
            runtime += [
                c("codebuild:StartBuild", project, "build action"),
                c("codebuild:BatchGetBuilds", project, "build action"),
            ]
    for store in as_json(r.inputs.get("artifactStores")) or []:
        bucket = f"arn:aws:s3:::{store.get('location')}"
        runtime += [c(x, f"{bucket}/*", "artifact store") for x in ("s3:GetObject", "s3:PutObject")]
        key = (store.get("encryptionKey") or {}).get("id")
        if key:
            kctx = {"kms:ViaService": f"s3.{v.region}.amazonaws.com"}
            runtime += [
                c(x, v.key_arn(key) or key, "artifact store key", kctx)
                for x in ("kms:GenerateDataKey", "kms:Decrypt")
            ]
    return out + as_role(role, runtime, "runtime")


@register(
    "aws:codepipeline/pipeline:Pipeline",
    arn=_pipeline_arn,
    service=_pipeline_service,
    source=(
        "CodePipeline user guide 'CodeStarSourceConnection': the pipeline creator needs "
        "codestar-connections:PassConnection (codeconnections:PassConnection for the renamed "
        "service's ARNs); the role needs UseConnection",
        "CreatePipeline fails with 'CodePipeline is not authorized to perform AssumeRole on role'",
        "terraform-provider-aws internal/service/codepipeline/codepipeline.go",
        SAR,
    ),
)
def _pipeline(r: RecordedResource, v: ProgramView) -> list[Call]:
    arn = _pipeline_arn(r, v)
    role = v.role_arn(str(value(r, "roleArn"))) if value(r, "roleArn") else None
    calls = [c("codepipeline:CreatePipeline", arn, "create the pipeline", tag_context(r))]
    calls += pass_role(role, "codepipeline.amazonaws.com")
    for conn in dict.fromkeys(x for x in (_connection(a) for a in _actions(r)) if x):
        prefix = _connection_action(conn, "")[:-1]
        ctx = {f"{prefix}:PassedToService": "codepipeline.amazonaws.com"}
        calls.append(
            c(
                _connection_action(conn, "PassConnection"),
                conn,
                "source action uses a connection",
                ctx,
            )
        )
    calls += tagged(r, "codepipeline:TagResource", arn)
    return calls + reads(arn, "codepipeline:GetPipeline", "codepipeline:ListTagsForResource")


for _typ, _prefix in (
    ("aws:codestarconnections/connection:Connection", "codestar-connections"),
    ("aws:codeconnections/connection:Connection", "codeconnections"),
):

    def _conn(r: RecordedResource, v: ProgramView, _p: str = _prefix) -> list[Call]:
        arn = str(r.state.get("arn") or v.arn(_p, "connection/*"))
        return [
            c(
                f"{_p}:CreateConnection",
                v.arn(_p, "connection/*"),
                "create the connection (pending until a person completes the handshake)",
                tag_context(r),
            ),
            *reads(arn, f"{_p}:GetConnection", f"{_p}:ListTagsForResource"),
        ]

    register(
        _typ,
        arn=lambda r, v, _p=_prefix: str(r.state.get("arn") or v.arn(_p, "connection/*")),
        source=(SAR,),
    )(_conn)


# --- ECR ------------------------------------------------------------------------------------------
ECR_KMS = (
    "ECR user guide 'Encryption at rest': a repository with KMS encryption needs the creator's "
    "kms:CreateGrant, kms:RetireGrant and kms:DescribeKey (ECR creates a grant)"
)


def _repo_arn(r: RecordedResource, v: ProgramView) -> str:
    return v.arn("ecr", f"repository/{v.physical_name(r)}")


def _repo_service(r: RecordedResource, v: ProgramView) -> list[ServiceCall]:
    enc = as_json(r.inputs.get("encryptionConfigurations")) or []
    enc = enc[0] if isinstance(enc, list) and enc else (enc if isinstance(enc, dict) else {})
    key = (
        v.key_arn(enc.get("kmsKey"))
        if enc.get("encryptionType") == "KMS" and enc.get("kmsKey")
        else None
    )
    out = [
        ServiceCall(CALLER, x, "create")
        for x in grant_for_service(
            key, "ecr", v, "ECR creates a grant with the creator's credentials"
        )
    ]
    if key:
        out.append(
            ServiceCall(
                CALLER,
                c(
                    "kms:RetireGrant",
                    key,
                    "ECR retires its grant on delete",
                    {"kms:ViaService": f"ecr.{v.region}.amazonaws.com"},
                ),
                "create",
            )
        )
    return out


@register(
    "aws:ecr/repository:Repository",
    arn=_repo_arn,
    service=_repo_service,
    source=(ECR_KMS, "terraform-provider-aws internal/service/ecr/repository.go", SAR),
)
def _repository(r: RecordedResource, v: ProgramView) -> list[Call]:
    arn = _repo_arn(r, v)
    calls = [c("ecr:CreateRepository", arn, "create the repository", tag_context(r))]
    calls += tagged(r, "ecr:TagResource", arn)
    return calls + reads(arn, "ecr:DescribeRepositories", "ecr:ListTagsForResource")


def _repo_ref(r: RecordedResource, v: ProgramView) -> str:
    return v.arn("ecr", f"repository/{value(r, 'repository')}")


@register(
    "aws:ecr/repositoryPolicy:RepositoryPolicy",
    principals=lambda r: policy_principals(r.inputs.get("policy")),
    source=("terraform-provider-aws internal/service/ecr/repository_policy.go", SAR),
)
def _repo_policy(r: RecordedResource, v: ProgramView) -> list[Call]:
    arn = _repo_ref(r, v)
    return [
        c("ecr:SetRepositoryPolicy", arn, "repository policy"),
        *reads(arn, "ecr:GetRepositoryPolicy"),
    ]


@register(
    "aws:ecr/lifecyclePolicy:LifecyclePolicy",
    source=("terraform-provider-aws internal/service/ecr/lifecycle_policy.go", SAR),
)
def _lifecycle(r: RecordedResource, v: ProgramView) -> list[Call]:
    arn = _repo_ref(r, v)
    return [
        c("ecr:PutLifecyclePolicy", arn, "lifecycle policy"),
        *reads(arn, "ecr:GetLifecyclePolicy"),
    ]


# --- CodeArtifact ---------------------------------------------------------------------------------
def _domain_arn(r: RecordedResource, v: ProgramView) -> str:
    return v.arn("codeartifact", f"domain/{value(r, 'domain')}")


def _domain_service(r: RecordedResource, v: ProgramView) -> list[ServiceCall]:
    key = v.key_arn(str(value(r, "encryptionKey"))) if value(r, "encryptionKey") else None
    return [
        ServiceCall(CALLER, x, "create")
        for x in grant_for_service(
            key, "codeartifact", v, "CodeArtifact uses the domain key through a grant"
        )
    ]


@register(
    "aws:codeartifact/domain:Domain",
    arn=_domain_arn,
    service=_domain_service,
    name_field="domain",
    source=("terraform-provider-aws internal/service/codeartifact/domain.go", SAR),
    unverified=(
        "the KMS permissions CreateDomain needs for a customer managed key (modelled as a "
        "grant with kms:ViaService=codeartifact)",
    ),
)
def _ca_domain(r: RecordedResource, v: ProgramView) -> list[Call]:
    arn = _domain_arn(r, v)
    # the Service Authorization Reference lists no resource type for CreateDomain: "*"
    calls = [c("codeartifact:CreateDomain", "*", f"create the domain {arn}", tag_context(r))]
    calls += tagged(r, "codeartifact:TagResource", arn)
    return calls + reads(arn, "codeartifact:DescribeDomain", "codeartifact:ListTagsForResource")


def _ca_repo_arn(r: RecordedResource, v: ProgramView) -> str:
    return v.arn("codeartifact", f"repository/{value(r, 'domain')}/{value(r, 'repository')}")


@register(
    "aws:codeartifact/repository:Repository",
    arn=_ca_repo_arn,
    name_field="repository",
    source=("terraform-provider-aws internal/service/codeartifact/repository.go", SAR),
)
def _ca_repo(r: RecordedResource, v: ProgramView) -> list[Call]:
    arn = _ca_repo_arn(r, v)
    # no resource type for CreateRepository in the Service Authorization Reference: "*"
    calls = [c("codeartifact:CreateRepository", "*", f"create {arn}", tag_context(r))]
    for up in as_json(r.inputs.get("upstreams")) or []:
        up_arn = v.arn(
            "codeartifact", f"repository/{value(r, 'domain')}/{up.get('repositoryName')}"
        )
        calls.append(
            c("codeartifact:AssociateWithDownstreamRepository", up_arn, "upstream repository")
        )
    ext = block(r, "externalConnections")
    if ext.get("externalConnectionName"):
        calls.append(
            c(
                "codeartifact:AssociateExternalConnection",
                arn,
                f"external connection {ext['externalConnectionName']}",
            )
        )
    calls += tagged(r, "codeartifact:TagResource", arn)
    return calls + reads(arn, "codeartifact:DescribeRepository", "codeartifact:ListTagsForResource")


@register(
    "aws:codeartifact/domainPermissions:DomainPermissions",
    principals=lambda r: policy_principals(r.inputs.get("policyDocument")),
    source=(
        "terraform-provider-aws internal/service/codeartifact/domain_permissions_policy.go",
        SAR,
    ),
)
def _ca_domain_policy(r: RecordedResource, v: ProgramView) -> list[Call]:
    arn = v.arn("codeartifact", f"domain/{value(r, 'domain')}")
    return [
        c("codeartifact:PutDomainPermissionsPolicy", arn, "domain policy"),
        *reads(arn, "codeartifact:GetDomainPermissionsPolicy"),
    ]


@register(
    "aws:codeartifact/repositoryPermissionsPolicy:RepositoryPermissionsPolicy",
    principals=lambda r: policy_principals(r.inputs.get("policyDocument")),
    source=(
        "terraform-provider-aws internal/service/codeartifact/repository_permissions_policy.go",
        SAR,
    ),
)
def _ca_repo_policy(r: RecordedResource, v: ProgramView) -> list[Call]:
    arn = v.arn("codeartifact", f"repository/{value(r, 'domain')}/{value(r, 'repository')}")
    return [
        c("codeartifact:PutRepositoryPermissionsPolicy", arn, "repository policy"),
        *reads(arn, "codeartifact:GetRepositoryPermissionsPolicy"),
    ]
