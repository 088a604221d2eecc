"""PackageRepository: the platform's CodeArtifact index (KMS, upstream the public index, policies
that bound access to this account's platform roles and publishing to the publishers), and the
builds' install path through it (never the public index)."""

from __future__ import annotations

import json

import pytest
import yaml

from components._helpers import ctx_of, tags_of
from mlops.components.packages import (
    EXTERNAL_CONNECTION,
    PackageRepository,
    PackageRepositoryArgs,
    login_commands,
    package_names,
)
from mlops.config import StackConfig
from mlops.delivery import buildspecs
from mlops.testing.mocks import RecordingMocks, run

KEY = "arn:aws:kms:eu-west-2:111111111111:key/artifacts"
PUBLISHER = "arn:aws:iam::111111111111:role/platform-release"
DEV = pytest.mark.parametrize("stack_config", ["dev"], indirect=True)


def _args(cfg: StackConfig, **kw) -> PackageRepositoryArgs:
    values = dict(names=ctx_of(cfg), tags=tags_of(cfg), kms_key_arn=KEY, publisher_arns=[PUBLISHER])
    values.update(kw)
    return PackageRepositoryArgs(**values)


@DEV
def test_domain_is_kms_encrypted_and_the_repository_proxies_the_public_index(
    stack_config: StackConfig, pulumi_mocks: RecordingMocks
) -> None:
    run(lambda: PackageRepository("packages", _args(stack_config)))
    [domain] = pulumi_mocks.of_type("aws:codeartifact/domain:Domain")
    assert domain.inputs["domain"] == "mlops-dev-packages"
    assert domain.inputs["encryptionKey"] == KEY
    repos = {r.inputs["repository"]: r for r in pulumi_mocks.of_type(
        "aws:codeartifact/repository:Repository"
    )}  # fmt: skip
    upstream, main = repos["mlops-dev-pypi-upstream"], repos["mlops-dev-pypi"]
    assert upstream.inputs["externalConnections"]["externalConnectionName"] == EXTERNAL_CONNECTION
    assert "externalConnections" not in main.inputs, "builds read the repo, not the connection"
    assert main.inputs["upstreams"] == [{"repositoryName": "mlops-dev-pypi-upstream"}]
    for r in (domain, *repos.values()):
        assert r.inputs["tags"]["component"] == "packages", r.name


@DEV
def test_policies_deny_other_accounts_foreign_roles_and_non_publishers(
    stack_config: StackConfig, pulumi_mocks: RecordingMocks
) -> None:
    run(lambda: PackageRepository("packages", _args(stack_config)))
    [domain_policy] = pulumi_mocks.of_type("aws:codeartifact/domainPermissions:DomainPermissions")
    doc = json.loads(domain_policy.inputs["policyDocument"])
    by_sid = {s["Sid"]: s for s in doc["Statement"]}
    assert all(s["Effect"] == "Deny" for s in doc["Statement"]), "grants come from identity"
    assert by_sid["DenyOtherAccounts"]["Condition"] == {
        "StringNotEquals": {"aws:PrincipalAccount": "111111111111"}
    }
    assert by_sid["TokensOnlyForPlatformRoles"]["Condition"] == {
        "ArnNotLike": {"aws:PrincipalArn": ["arn:aws:iam::111111111111:role/mlops-dev-*"]}
    }
    policies = pulumi_mocks.of_type(
        "aws:codeartifact/repositoryPermissionsPolicy:RepositoryPermissionsPolicy"
    )
    assert {p.inputs["repository"] for p in policies} == {
        "mlops-dev-pypi",
        "mlops-dev-pypi-upstream",
    }
    for p in policies:
        statements = {s["Sid"]: s for s in json.loads(p.inputs["policyDocument"])["Statement"]}
        write = statements["OnlyPublishersWrite"]
        assert "codeartifact:PublishPackageVersion" in write["Action"], p.name
        assert write["Condition"] == {"ArnNotEquals": {"aws:PrincipalArn": [PUBLISHER]}}, p.name


@pytest.mark.parametrize("stack_config", ["staging", "prod"], indirect=True)
def test_the_index_lives_in_dev_only(stack_config: StackConfig) -> None:
    with pytest.raises(ValueError, match="dev \\(governance\\) account"):
        _args(stack_config)


@DEV
def test_a_publisher_is_required(stack_config: StackConfig) -> None:
    with pytest.raises(ValueError, match="publisher_arns"):
        _args(stack_config, publisher_arns=[])


@DEV
def test_index_url_and_build_environment(stack_config: StackConfig) -> None:
    names = package_names(ctx_of(stack_config))
    assert names.index_url == (
        "https://mlops-dev-packages-111111111111.d.codeartifact.eu-west-2.amazonaws.com"
        "/pypi/mlops-dev-pypi/simple/"
    )
    assert names.environment() == {
        "CODEARTIFACT_DOMAIN": "mlops-dev-packages",
        "CODEARTIFACT_DOMAIN_OWNER": "111111111111",
        "CODEARTIFACT_REPOSITORY": "mlops-dev-pypi",
    }


@pytest.mark.parametrize(
    "spec",
    [
        buildspecs.training_tests,
        buildspecs.upsert_and_start_pipeline,
        buildspecs.deploy,
        buildspecs.smoke_test,
        buildspecs.onboard,
    ],
)
def test_every_build_installs_from_codeartifact_first(spec) -> None:
    text = spec()
    install = yaml.safe_load(text)["phases"]["install"]["commands"]
    assert install[: len(login_commands())] == login_commands(), spec.__name__
    first_pip = next(i for i, c in enumerate(install) if "pip install" in c)
    assert first_pip >= len(login_commands()), "no install before the index is set"
    assert "pypi.org" not in text and "--index-url" not in text, spec.__name__
