"""`mlops update --all --open-prs` against the fake GitHub: CI starts with no checkout, clones every
onboarded repo, opens one pull request per cleanly updated repo, none for a conflict; a re-run
replaces the branch and reuses the open pull request."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from mlops.onboarding import OnboardingError, TemplateStore, onboard
from mlops.onboarding.commands import update_all_command
from mlops.onboarding.provider import GitHubProvider
from mlops.onboarding.templates import read_copier_config
from mlops.testing.fake_github import FakeGitHub

from .conftest import OWNER, copy_template

BRANCH = "mlops-update/tabular-classification-v1.1.0"


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@e.x", *args], cwd=repo,
                          capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip


def _bump(folder: Path, version: str) -> None:
    conf = folder / "copier.yml"
    text = conf.read_text()
    old = read_copier_config(folder)["template_version"]["default"]
    conf.write_text(text.replace(f'default: "{old}"', f'default: "{version}"'))


@pytest.fixture
def estate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Two use cases onboarded and pushed to the fake GitHub; fraud-training carries a local edit
    of the line the next template version changes; then the template moves to 1.1.0."""
    root = tmp_path / "templates"
    folder = copy_template("tabular-classification", root)
    monkeypatch.setenv("MLOPS_TEMPLATES_DIR", str(root))
    store = TemplateStore(str(tmp_path / "store"))
    usecases = tmp_path / "usecases"
    with FakeGitHub(tmp_path / "github") as fake:
        for name in ("churn", "fraud"):
            result = onboard(name, "tabular-classification", answers={"owner_email": OWNER},
                             out=tmp_path / "src", usecases_dir=usecases, store=store)  # fmt: skip
            if name == "fraud":
                ours = result.repos["training"] / "README.md"
                ours.write_text(ours.read_text().replace("## Run locally", "## Run locally (ours)"))
                _git(result.repos["training"], "commit", "-qam", "ours")
            for repo in result.repos.values():
                fake.seed(repo.name, repo)
        _bump(folder, "1.1.0")
        tpl = folder / "training" / "README.md.jinja"
        tpl.write_text(tpl.read_text().replace("## Run locally", "## Run locally (template way)"))
        yield fake, usecases


def test_one_pull_request_per_cleanly_updated_repo(estate, tmp_path) -> None:
    fake, usecases = estate
    provider = GitHubProvider(fake.org, fake.token, api_url=fake.api_url, git_url=fake.git_url)
    with pytest.raises(OnboardingError, match="some updates left conflict markers"):
        update_all_command(tmp_path / "ci", dry_run=False, open_prs=True, provider=provider,
                           usecases_dir=usecases)  # fmt: skip
    opened = sorted(p.repo.split("/")[1] for p in fake.pulls)
    assert opened == ["churn-inference", "churn-training", "fraud-inference"]
    assert all((p.head, p.base) == (BRANCH, "main") for p in fake.pulls)
    assert "(template way)" in fake.show("churn-training", BRANCH, "README.md")
    answers = yaml.safe_load(fake.show("churn-training", BRANCH, ".copier-answers.yml"))
    assert answers["_commit"] == "v1.1.0"
    assert fake.branches("fraud-training") == ["main"]  # the conflict got no branch, no PR
    assert "v1.0.0" in fake.show("churn-training", "main", ".copier-answers.yml")  # main untouched
    # a re-run from a fresh CI checkout: the branch is replaced, the pull requests reused
    with pytest.raises(OnboardingError):
        update_all_command(tmp_path / "ci-2", dry_run=False, open_prs=True, provider=provider,
                           usecases_dir=usecases)  # fmt: skip
    assert len(fake.pulls) == 3
