"""`mlops:packages:PackageRepository` — the platform's Python package index (dev stack).

One CodeArtifact domain, encrypted with the stack's artifacts key, holding two repositories:

- `<prefix>-pypi-upstream`: an external connection to the public index (`public:pypi`); nothing
  is published to it, it only caches what the public index serves;
- `<prefix>-pypi`: what builds, Studio and local developers install from. `mlops-platform` is
  published here by the platform's release role; everything else is fetched through the
  upstream and kept (a package version once fetched stays available, also if the public index
  withdraws it).

Access is granted by identity policies (`reader_statements` for the roles that install) and
bounded by resource policies: the domain and repository policies deny every principal outside
this account, deny tokens to roles that are not the platform's own, and deny publishing,
deleting or changing package versions to all but the publisher roles.

Egress design (docs/deploy.md "Egress"): builds that touch nothing VPC-private run
outside the VPC and reach CodeArtifact's public endpoint with a short-lived token
(`login_commands`); Studio (VpcOnly) reaches it through the `codeartifact.api` and
`codeartifact.repositories` interface endpoints; SageMaker jobs install nothing (network isolation,
dependencies baked into the images).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from mlops import iam
from mlops.naming import NameContext, name, role_arn_pattern
from mlops.tags import with_component

EXTERNAL_CONNECTION = "public:pypi"
READ_ACTIONS = ("codeartifact:GetRepositoryEndpoint", "codeartifact:ReadFromRepository")
WRITE_ACTIONS = (
    "codeartifact:PublishPackageVersion",
    "codeartifact:PutPackageMetadata",
    "codeartifact:DeletePackageVersions",
    "codeartifact:DisposePackageVersions",
    "codeartifact:UpdatePackageVersionsStatus",
    "codeartifact:CopyPackageVersions",
    "codeartifact:DeletePackage",
    "codeartifact:PutPackageOriginConfiguration",
)
ENV_DOMAIN = "CODEARTIFACT_DOMAIN"
ENV_OWNER = "CODEARTIFACT_DOMAIN_OWNER"
ENV_REPOSITORY = "CODEARTIFACT_REPOSITORY"


@dataclass(frozen=True)
class PackageNames:
    """Physical names of the platform's package index in one account and region."""

    domain: str
    repository: str
    upstream: str
    account: str
    region: str

    @property
    def domain_arn(self) -> str:
        return f"arn:aws:codeartifact:{self.region}:{self.account}:domain/{self.domain}"

    @property
    def repository_arn(self) -> str:
        return (
            f"arn:aws:codeartifact:{self.region}:{self.account}:repository/"
            f"{self.domain}/{self.repository}"
        )

    def package_arn(self, package: str) -> str:
        """A PyPI package of the repository (the resource of PublishPackageVersion)."""
        return (
            f"arn:aws:codeartifact:{self.region}:{self.account}:package/"
            f"{self.domain}/{self.repository}/pypi//{package}"
        )

    @property
    def index_url(self) -> str:
        """The pip/uv index URL (without credentials)."""
        return (
            f"https://{self.domain}-{self.account}.d.codeartifact.{self.region}.amazonaws.com"
            f"/pypi/{self.repository}/simple/"
        )

    def environment(self) -> dict[str, str]:
        """The environment variables a build's `login_commands` read."""
        return {ENV_DOMAIN: self.domain, ENV_OWNER: self.account, ENV_REPOSITORY: self.repository}


def package_names(ctx: NameContext) -> PackageNames:
    """Names of the dev account's package index (mlops.naming): domain `mlops-dev-packages`."""
    return PackageNames(
        domain=name(ctx, "packages"),
        repository=name(ctx, "pypi"),
        upstream=name(ctx, "pypi", "upstream"),
        account=ctx.account_id,
        region=ctx.region,
    )


def login_commands() -> list[str]:
    """Shell lines (buildspec) that point pip and uv at the platform's repository, never at the
    public index: a 1-hour token from `aws codeartifact get-authorization-token`, exported as the
    index URL of both tools (PIP_INDEX_URL replaces pypi.org; UV_DEFAULT_INDEX likewise)."""
    token = (
        "export CODEARTIFACT_AUTH_TOKEN=$(aws codeartifact get-authorization-token"
        f' --domain "${ENV_DOMAIN}" --domain-owner "${ENV_OWNER}"'
        " --duration-seconds 3600 --query authorizationToken --output text)"
    )
    url = (
        'export PIP_INDEX_URL="https://aws:${CODEARTIFACT_AUTH_TOKEN}@'
        f"${{{ENV_DOMAIN}}}-${{{ENV_OWNER}}}.d.codeartifact.${{AWS_REGION}}.amazonaws.com"
        f'/pypi/${{{ENV_REPOSITORY}}}/simple/"'
    )
    return [token, url, 'export UV_DEFAULT_INDEX="$PIP_INDEX_URL"']


def reader_statements(names: PackageNames) -> list[dict[str, Any]]:
    """What a role that installs packages needs: a token for the domain (and the STS bearer token
    CodeArtifact asks for), the repository's endpoint and its packages. Nothing else."""
    return [
        iam.statement("PackageIndexToken", "codeartifact:GetAuthorizationToken", names.domain_arn),
        iam.statement(
            "PackageIndexBearerToken",
            "sts:GetServiceBearerToken",
            "*",
            condition={"StringEquals": {"sts:AWSServiceName": "codeartifact.amazonaws.com"}},
        ),
        iam.statement("PackageIndexRead", list(READ_ACTIONS), names.repository_arn),
    ]


def install_calls(names: PackageNames, why: str) -> list[dict[str, Any]]:
    """The calls `login_commands` + an install make (runtime actors, mlops.rehearsal.declare)."""
    from mlops.rehearsal import declare

    return [
        declare.call(
            "codeartifact:GetAuthorizationToken",
            names.domain_arn,
            why="token for the platform's package index",
        ),
        declare.call(
            "sts:GetServiceBearerToken",
            "*",
            context={"sts:AWSServiceName": "codeartifact.amazonaws.com"},
            why="CodeArtifact's bearer token",
        ),
        declare.call("codeartifact:GetRepositoryEndpoint", names.repository_arn, why="index URL"),
        declare.call("codeartifact:ReadFromRepository", names.repository_arn, why=why),
    ]


def _outsiders_denied(account: str, actions: str | list[str], resource: str) -> dict[str, Any]:
    return iam.statement(
        "DenyOtherAccounts",
        actions,
        resource,
        effect="Deny",
        principal="*",
        condition={"StringNotEquals": {"aws:PrincipalAccount": account}},
    )


def domain_policy(names: PackageNames, reader_patterns: Sequence[str]) -> dict[str, Any]:
    """Domain permissions: no other account, and tokens only for the platform's own roles
    (`reader_patterns`, e.g. `arn:aws:iam::<acct>:role/mlops-dev-*`); grants come from identity
    policies (`reader_statements`)."""
    return iam.document(
        _outsiders_denied(names.account, "codeartifact:*", names.domain_arn),
        iam.statement(
            "TokensOnlyForPlatformRoles",
            "codeartifact:GetAuthorizationToken",
            names.domain_arn,
            effect="Deny",
            principal="*",
            condition={"ArnNotLike": {"aws:PrincipalArn": sorted(reader_patterns)}},
        ),
    )


def repository_policy(
    names: PackageNames, repository_arn: str, publisher_arns: Sequence[str]
) -> dict[str, Any]:
    """Repository permissions: no other account; only the publishers may publish, delete or
    change package versions (an install can never be answered by a package a build uploaded)."""
    return iam.document(
        _outsiders_denied(names.account, "codeartifact:*", repository_arn),
        iam.statement(
            "OnlyPublishersWrite",
            list(WRITE_ACTIONS),
            "*",
            effect="Deny",
            principal="*",
            condition={"ArnNotEquals": {"aws:PrincipalArn": sorted(publisher_arns)}},
        ),
    )


@dataclass(frozen=True, kw_only=True)
class PackageRepositoryArgs:
    names: NameContext
    tags: Mapping[str, str]
    kms_key_arn: pulumi.Input[str]
    """Artifacts key: CodeArtifact encrypts the domain's assets with it."""
    publisher_arns: Sequence[str]
    """Roles that may publish `mlops-platform` (the platform's release / deploy role)."""
    developer_role_patterns: Sequence[str] = ()
    """Role ARN patterns of people installing from their laptops or Studio besides the platform's
    own `mlops-dev-*` roles (e.g. IAM Identity Center roles,
    `arn:aws:iam::<acct>:role/aws-reserved/sso.amazonaws.com/*/AWSReservedSSO_DataScientist_*`)."""

    def __post_init__(self) -> None:
        if self.names.environment != "dev":
            raise ValueError(
                "PackageRepositoryArgs.names: the package index lives in the dev (governance) "
                f"account, not {self.names.environment}"
            )
        if not self.publisher_arns:
            raise ValueError(
                "PackageRepositoryArgs.publisher_arns: name at least one role that publishes "
                "mlops-platform (the stack's deploy role)"
            )


class PackageRepository(pulumi.ComponentResource):
    def __init__(
        self, name_: str, args: PackageRepositoryArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mlops:packages:PackageRepository", name_, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        tags = with_component(args.tags, "packages")
        ctx = args.names
        self.package_names = n = package_names(ctx)
        self.domain = aws.codeartifact.Domain(
            f"{name_}-domain",
            domain=n.domain,
            encryption_key=args.kms_key_arn,
            tags=tags,
            opts=child,
        )
        self.upstream = aws.codeartifact.Repository(
            f"{name_}-upstream",
            domain=self.domain.domain,
            repository=n.upstream,
            description="Cache of the public Python index (external connection only)",
            external_connections=aws.codeartifact.RepositoryExternalConnectionsArgs(
                external_connection_name=EXTERNAL_CONNECTION
            ),
            tags=tags,
            opts=child,
        )
        self.repository = aws.codeartifact.Repository(
            f"{name_}-repository",
            domain=self.domain.domain,
            repository=n.repository,
            description="Python packages for builds, Studio and developers (mlops-platform + "
            "the public index through the upstream)",
            upstreams=[
                aws.codeartifact.RepositoryUpstreamArgs(repository_name=self.upstream.repository)
            ],
            tags=tags,
            opts=child,
        )
        readers = [role_arn_pattern(ctx), *args.developer_role_patterns]
        self.domain_policy = aws.codeartifact.DomainPermissions(
            f"{name_}-domain-policy",
            domain=self.domain.domain,
            policy_document=json.dumps(domain_policy(n, readers), sort_keys=True),
            opts=child,
        )
        self.repository_policies = [
            aws.codeartifact.RepositoryPermissionsPolicy(
                f"{name_}-{role}-policy",
                domain=self.domain.domain,
                repository=repo.repository,
                policy_document=json.dumps(
                    repository_policy(
                        n,
                        f"arn:aws:codeartifact:{ctx.region}:{ctx.account_id}:repository/"
                        f"{n.domain}/{physical}",
                        args.publisher_arns,
                    ),
                    sort_keys=True,
                ),
                opts=child,
            )
            for role, repo, physical in (
                ("repository", self.repository, n.repository),
                ("upstream", self.upstream, n.upstream),
            )
        ]
        self.register_outputs(
            {
                "domain": self.domain.domain,
                "repository": self.repository.repository,
                "index_url": n.index_url,
            }
        )
