"""Studio onboarding end to end against the fake GitHub: the build clones the platform repo, runs
the same `mlops onboard`, locks both repos (`uv lock`; a fake `uv` on PATH stands in for the one
the build installs), creates them with the rendered code, opens the manifest pull request and
answers CloudFormation; a bad answer or a failed lock fails naming the cause, creating nothing."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlops.config import REPO_ROOT
from mlops.onboarding import studio
from mlops.onboarding.templates import PLATFORM_FILE
from mlops.testing.fake_github import FakeGitHub

OWNER = "jane.doe@example.com"
PLATFORM = "acme-insurance-ml/mlops-platform"


FAKE_UV = """#!/bin/sh
# what the onboarding build's `uv lock` leaves: uv.lock in the repo it ran in
[ "$1" = lock ] || exit 2
[ -n "$FAKE_UV_FAIL" ] && { echo "error: No solution found when resolving" >&2; exit 1; }
echo "# locked $(basename "$PWD") from ${UV_DEFAULT_INDEX:-no index}" > uv.lock
"""


@pytest.fixture(autouse=True)
def fake_uv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "uv").write_text(FAKE_UV)
    (bin_dir / "uv").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    monkeypatch.setenv("UV_DEFAULT_INDEX", "https://codeartifact.example/pypi/ml/simple/")


@pytest.fixture
def github(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("MLOPS_TEMPLATE_STORE", str(tmp_path / "store"))
    platform = tmp_path / "platform-src"
    shutil.copytree(REPO_ROOT / "templates" / "tabular-classification",
                    platform / "templates" / "tabular-classification")  # fmt: skip
    shutil.copy(REPO_ROOT / "templates" / PLATFORM_FILE, platform / "templates" / PLATFORM_FILE)
    (platform / "usecases").mkdir()
    (platform / "usecases" / "README.md").write_text("manifests\n")
    who = ["-c", "user.name=t", "-c", "user.email=t@e.x"]
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], [*who, "commit", "-qm", "platform"]):
        subprocess.run(["git", *args], cwd=platform, check=True)
    with FakeGitHub(tmp_path / "github") as fake:
        fake.seed("mlops-platform", platform)
        yield fake


def _env(fake: FakeGitHub, tmp_path: Path, **answers: str) -> dict[str, str]:
    return {
        **fake.env(),
        "PLATFORM_REPO": PLATFORM,
        "USECASE_NAME": "churn",
        "TEMPLATE": "tabular-classification",
        "TEMPLATE_VERSION": "",
        "ANSWERS_JSON": json.dumps(
            {"usecase_name": "churn", "owner_email": OWNER, "description": "", **answers}
        ),
        "CFN_RESPONSE_URL": "https://cloudformation-custom-resource-response.example/put",
        "CFN_STACK_ID": "stack-1",
        "CFN_REQUEST_ID": "req-1",
        "CFN_LOGICAL_ID": "Onboarding",
        "CFN_PHYSICAL_ID": "onboarding-churn",
        "CFN_ANSWERED_MARKER": str(tmp_path / "answered"),
    }


def _run(env: dict[str, str], tmp_path: Path, monkeypatch) -> tuple[int, list[dict[str, Any]]]:
    answers: list[dict[str, Any]] = []

    def respond(event, status, data, reason, physical) -> None:
        answers.append({"event": dict(event), "status": status, "data": data, "reason": reason,
                        "physical": physical})  # fmt: skip

    work = tmp_path / "work"
    work.mkdir()
    assert studio.main(["clone", str(work / "platform")], env=env, respond=respond) == 0
    monkeypatch.chdir(work / "platform")
    code = studio.main(["onboard"], env=env, respond=respond)
    studio.main(["answer-if-failed"], env={**env, "CODEBUILD_BUILD_SUCCEEDING": "0"},
                respond=respond)  # fmt: skip
    return code, answers


def test_studio_creates_both_repos_pushes_the_code_and_opens_the_pr(
    github, tmp_path, monkeypatch
) -> None:
    code, answers = _run(_env(github, tmp_path, eval_threshold="0.85"), tmp_path, monkeypatch)
    assert code == 0
    for kind in ("training", "inference"):
        recorded = yaml.safe_load(github.show(f"churn-{kind}", "main", ".copier-answers.yml"))
        assert recorded["usecase_name"] == "churn" and recorded["_template"] == (
            "tabular-classification"
        )
        # the first commit holds the lock every build of the repo installs
        lock = github.show(f"churn-{kind}", "main", "uv.lock")
        assert lock.strip() == f"# locked {kind} from https://codeartifact.example/pypi/ml/simple/"
    manifest = yaml.safe_load(github.show("mlops-platform", "onboard/churn", "usecases/churn.yaml"))
    assert manifest["evaluation"]["threshold"] == 0.85  # the form's text, cast like the CLI
    assert github.branches("mlops-platform") == ["main", "onboard/churn"]
    [pull] = github.pulls
    assert (pull.repo, pull.head, pull.base) == (PLATFORM, "onboard/churn", "main")
    assert "churn-training" in pull.body and "usecases/churn.yaml" in pull.body
    [answer] = answers  # answered once: answer-if-failed saw the marker
    assert answer["status"] == "SUCCESS" and answer["physical"] == "onboarding-churn"
    assert answer["data"]["PullRequest"].endswith("/mlops-platform/pull/1")
    assert answer["data"]["TrainingRepo"].endswith("/churn-training")
    assert answer["event"]["ResponseURL"].endswith("/put")


def test_a_bad_answer_fails_naming_the_question_and_creates_nothing(
    github, tmp_path, monkeypatch
) -> None:
    code, answers = _run(_env(github, tmp_path, eval_threshold="high"), tmp_path, monkeypatch)
    assert code == 1
    [answer] = answers
    assert answer["status"] == "FAILED"
    assert "eval_threshold: must be a number, got 'high'" in answer["reason"]
    assert "fix:" in answer["reason"]
    assert not github.bare("churn-training").exists() and github.pulls == []


def test_a_failed_lock_fails_the_launch_and_creates_nothing(github, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("FAKE_UV_FAIL", "1")
    code, answers = _run(_env(github, tmp_path), tmp_path, monkeypatch)
    assert code == 1
    [answer] = answers
    assert answer["status"] == "FAILED"
    assert "uv lock failed for the training repo: error: No solution found" in answer["reason"]
    assert "UV_DEFAULT_INDEX" in answer["reason"]
    assert not github.bare("churn-training").exists() and github.pulls == []


def test_a_product_of_another_template_version_is_refused(github, tmp_path, monkeypatch) -> None:
    env = {**_env(github, tmp_path), "TEMPLATE_VERSION": "0.0.1"}
    code, answers = _run(env, tmp_path, monkeypatch)
    assert code == 1 and "launch the product's current version" in answers[0]["reason"]


def test_a_build_that_broke_early_still_answers_cloudformation(tmp_path) -> None:
    sent: list[str] = []
    env = {"CFN_RESPONSE_URL": "https://x.example/put", "CODEBUILD_BUILD_SUCCEEDING": "0",
           "CFN_ANSWERED_MARKER": str(tmp_path / "answered")}  # fmt: skip
    studio.main(["answer-if-failed"], env=env, respond=lambda e, s, d, r, p: sent.append(s))
    assert sent == ["FAILED"]
