"""GitHubProvider against the fake GitHub: repos created, pushes over git smart HTTP with the token
in a header (never in a URL or config), pull requests opened once, errors naming the fix."""

from __future__ import annotations

import subprocess
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from mlops.onboarding.errors import OnboardingError
from mlops.onboarding.provider import GitHubProvider, provider_from_env, token_from_secret
from mlops.testing.fake_github import FakeGitHub


@pytest.fixture
def github(tmp_path: Path):
    with FakeGitHub(tmp_path / "github") as fake:
        yield fake


def _provider(fake: FakeGitHub, token: str | None = None) -> GitHubProvider:
    return GitHubProvider(fake.org, token or fake.token, api_url=fake.api_url,
                          git_url=fake.git_url)  # fmt: skip


def _local_repo(path: Path, text: str = "hello\n") -> Path:
    path.mkdir(parents=True)
    (path / "README.md").write_text(text)
    who = ["-c", "user.name=t", "-c", "user.email=t@e.x"]
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], [*who, "commit", "-qm", "first"]):
        subprocess.run(["git", *args], cwd=path, check=True)
    return path


def test_create_push_and_open_a_pull_request(github: FakeGitHub, tmp_path: Path) -> None:
    provider = _provider(github)
    repo = provider.create_repo("claims-training", description="training repo")
    assert repo.created and repo.clone_url == f"{github.git_url}/{github.org}/claims-training.git"
    local = _local_repo(tmp_path / "local")
    provider.push(local, "claims-training", ["main:refs/heads/main"])
    assert github.show("claims-training", "main", "README.md") == "hello\n"
    # the token travelled as a header only: no remote, no config file holds it
    config = (local / ".git" / "config").read_text()
    assert github.token not in config and "extraHeader" not in config
    subprocess.run(["git", "push", "-q", str(github.bare("claims-training")), "main:feature"],
                   cwd=local, check=True)  # fmt: skip
    pull = provider.open_pull_request("claims-training", head="feature", base="main",
                                      title="t", body="b")  # fmt: skip
    assert pull.created and pull.number == 1 and pull.url.endswith("/claims-training/pull/1")
    again = provider.open_pull_request("claims-training", head="feature", base="main",
                                       title="t", body="b")  # fmt: skip
    assert (again.number, again.created) == (1, False)
    assert len(github.pulls) == 1
    assert all(ok for _, _, ok in github.requests)


def test_an_existing_repo_is_reused_and_a_foreign_history_refused(github, tmp_path) -> None:
    provider = _provider(github)
    provider.create_repo("claims-inference", description="")
    provider.push(_local_repo(tmp_path / "a", "theirs\n"), "claims-inference", ["main:main"])
    again = provider.create_repo("claims-inference", description="")
    assert not again.created
    with pytest.raises(OnboardingError, match="pushing main:main to acme-insurance-ml/claims-inf"):
        provider.push(_local_repo(tmp_path / "b", "ours\n"), "claims-inference", ["main:main"])
    assert github.show("claims-inference", "main", "README.md") == "theirs\n"


def test_a_bad_token_fails_with_the_fix_and_is_never_printed(github, tmp_path) -> None:
    provider = _provider(github, token="wrong-token")
    with pytest.raises(OnboardingError) as info:
        provider.create_repo("x", description="")
    assert "GitHub answered 401" in info.value.message
    assert "put a new one in the onboarding token secret" in info.value.fix
    github.create("y")
    with pytest.raises(OnboardingError) as info:
        provider.push(_local_repo(tmp_path / "c"), "y", ["main:main"])
    assert "wrong-token" not in str(info.value)
    assert github.branches("y") == []


def test_plain_http_is_refused_off_loopback() -> None:
    with pytest.raises(OnboardingError, match="is not https"):
        GitHubProvider("acme", "t", api_url="http://github.example/api")


@mock_aws
def test_the_token_comes_from_secrets_manager() -> None:
    sm = boto3.client("secretsmanager", region_name="eu-west-2")
    arn = sm.create_secret(Name="mlops-dev-onboarding-git-token")["ARN"]
    with pytest.raises(OnboardingError, match="has no value yet") as info:
        token_from_secret(arn, sm)
    assert "put-secret-value" in info.value.fix
    sm.put_secret_value(SecretId=arn, SecretString='{"token": "ghs-123"}')
    assert token_from_secret(arn, sm) == "ghs-123"


def test_provider_from_env_names_what_is_missing(github) -> None:
    with pytest.raises(OnboardingError, match="no Git token"):
        provider_from_env({"MLOPS_GIT_OWNER": "acme"})
    with pytest.raises(OnboardingError, match="'gitlab' has no adapter"):
        provider_from_env({"MLOPS_GIT_PROVIDER": "gitlab", "MLOPS_GIT_OWNER": "acme"})
    provider = provider_from_env(github.env())
    assert provider.create_repo("z", description="").created
