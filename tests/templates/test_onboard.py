"""`onboard`: both repos rendered, git-initialised and committed, manifest written; all or none."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from mlops.onboarding import OnboardingError, create, onboard
from mlops.usecases import load_manifest

from .conftest import OWNER


@pytest.fixture
def no_git_identity(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Like a fresh CI runner: no user.name/user.email anywhere."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=repo, capture_output=True, text=True, check=True
    ).stdout.strip()


def _onboard(tmp_path: Path, name: str = "claims-demo", **kwargs):
    return onboard(
        name,
        "tabular-classification",
        answers={"owner_email": OWNER, "eval_threshold": 0.75, **kwargs.pop("answers", {})},
        out=tmp_path / "out",
        usecases_dir=tmp_path / "usecases",
        **kwargs,
    )


def _leftovers(tmp_path: Path) -> list[str]:
    found = []
    for folder in (tmp_path / "out", tmp_path / "usecases"):
        if folder.exists():
            found += sorted(p.name for p in folder.iterdir())
    return found


def test_onboard_renders_commits_and_writes_the_manifest(tmp_path, no_git_identity) -> None:
    result = _onboard(tmp_path)
    for kind in ("training", "inference"):
        repo = tmp_path / "out" / f"claims-demo-{kind}"
        assert result.repos[kind] == repo
        assert _git(repo, "log", "--format=%an <%ae>|%s") == (
            f"claims-demo onboarding (mlops) <{OWNER}>|"
            "Render from template tabular-classification 1.0.0 (mlops onboard)"
        )
        assert _git(repo, "status", "--porcelain") == ""  # everything committed
        assert _git(repo, "branch", "--show-current") == "main"
    manifest = load_manifest(tmp_path / "usecases" / "claims-demo.yaml")
    assert manifest.template == "tabular-classification"
    assert manifest.template_version == "1.0.0"
    assert manifest.evaluation.metric == "roc_auc"
    assert manifest.evaluation.threshold == 0.75
    assert manifest.owners.lead_data_scientist == "jane-doe"
    assert manifest.git.training_repo == "claims-demo-training"
    assert _leftovers(tmp_path) == [
        "claims-demo-inference",
        "claims-demo-training",
        "claims-demo.yaml",
    ]
    steps = result.next_steps()
    assert steps[0].startswith(f"cd {result.repos['training']} && python -m pytest")
    assert steps[1].startswith("in claims-demo-training and claims-demo-inference: `uv lock`")
    assert "git push -u origin main" in steps[2]
    assert "pulumi up" in steps[4]


def _fake_uv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, script: str) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "uv").write_text("#!/bin/sh\n" + script)
    (bin_dir / "uv").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")


def test_a_locked_onboarding_commits_each_repos_uv_lock(tmp_path, monkeypatch) -> None:
    _fake_uv(
        tmp_path, monkeypatch, '[ "$1" = lock ] && echo "# lock of $(basename $PWD)" > uv.lock'
    )
    result = _onboard(tmp_path, lock=create.uv_lock)
    for kind in ("training", "inference"):
        repo = result.repos[kind]
        assert "uv.lock" in _git(repo, "ls-files").splitlines()  # in the first commit
        assert (repo / "uv.lock").read_text() == f"# lock of {kind}\n"
    assert result.locked and not any("uv lock" in step for step in result.next_steps())


def test_a_failed_lock_leaves_nothing_behind(tmp_path, monkeypatch) -> None:
    _fake_uv(tmp_path, monkeypatch, 'echo "error: mlops-platform was not found" >&2; exit 1')
    with pytest.raises(OnboardingError, match="uv lock failed for the training repo: error: ml"):
        _onboard(tmp_path, lock=create.uv_lock)
    assert _leftovers(tmp_path) == []


def test_locking_without_uv_says_how_to_get_it(tmp_path, monkeypatch) -> None:
    real_which = create.shutil.which
    monkeypatch.setattr(
        create.shutil, "which", lambda cmd: None if cmd == "uv" else real_which(cmd)
    )
    with pytest.raises(OnboardingError, match="uv is not on PATH") as error:
        _onboard(tmp_path, lock=create.uv_lock)
    assert "install uv" in str(error.value) and _leftovers(tmp_path) == []


def test_manifest_section_of_the_answers_overrides_defaults(tmp_path) -> None:
    _onboard(
        tmp_path,
        answers={
            "manifest": {"owners": {"lead_data_scientist": "alice"}, "git": {"provider": "gitlab"}}
        },
    )
    manifest = load_manifest(tmp_path / "usecases" / "claims-demo.yaml")
    assert manifest.owners.lead_data_scientist == "alice"
    assert manifest.git.provider == "gitlab"
    assert manifest.git.training_repo == "claims-demo-training"  # merged, not replaced


@pytest.mark.parametrize("existing", ["claims-demo-inference", "usecases"])
def test_existing_use_case_is_not_overwritten(tmp_path, existing: str) -> None:
    if existing == "usecases":
        target = tmp_path / "usecases" / "claims-demo.yaml"
        target.parent.mkdir()
        target.write_text("mine\n")
    else:
        target = tmp_path / "out" / existing
        target.mkdir(parents=True)
    with pytest.raises(OnboardingError) as err:
        _onboard(tmp_path)
    assert err.value.message == f"already exists: {target}"
    assert err.value.fix == "choose another name or --out, or pass --force to replace them"
    assert not (tmp_path / "out" / "claims-demo-training").exists()


def test_force_replaces_existing_repos_and_manifest(tmp_path) -> None:
    _onboard(tmp_path)
    old = tmp_path / "out" / "claims-demo-training" / "notes.txt"
    old.write_text("old\n")
    _onboard(tmp_path, force=True, answers={"eval_threshold": 0.9})
    assert not old.exists()
    assert load_manifest(tmp_path / "usecases" / "claims-demo.yaml").evaluation.threshold == 0.9
    assert _leftovers(tmp_path) == [
        "claims-demo-inference",
        "claims-demo-training",
        "claims-demo.yaml",
    ]


def test_failure_half_way_leaves_nothing_behind(tmp_path, monkeypatch) -> None:
    real = create._first_commit

    def fail_on_inference(repo: Path, *args, **kwargs) -> None:
        if repo.name == "inference":
            raise OnboardingError("injected failure", "none")
        real(repo, *args, **kwargs)

    monkeypatch.setattr(create, "_first_commit", fail_on_inference)
    with pytest.raises(OnboardingError, match="injected failure"):
        _onboard(tmp_path)
    assert _leftovers(tmp_path) == []  # no repo, no staging folder, no manifest


def test_failure_while_installing_restores_what_force_replaced(tmp_path, monkeypatch) -> None:
    _onboard(tmp_path)
    marker = tmp_path / "out" / "claims-demo-inference" / "mine.txt"
    marker.write_text("keep me\n")
    manifest = tmp_path / "usecases" / "claims-demo.yaml"
    before = manifest.read_text()
    real_replace = os.replace
    failures = []

    def fail_on_manifest(src, dst) -> None:
        if Path(dst) == manifest and Path(src).name.endswith(".onboarding") and not failures:
            failures.append(dst)
            raise OSError("injected: disk full")
        real_replace(src, dst)

    monkeypatch.setattr(create.os, "replace", fail_on_manifest)
    with pytest.raises(OSError, match="injected"):
        _onboard(tmp_path, force=True, answers={"eval_threshold": 0.9})
    assert failures == [manifest]
    assert marker.read_text() == "keep me\n"  # the replaced repo is back
    assert manifest.read_text() == before
    assert _leftovers(tmp_path) == [
        "claims-demo-inference",
        "claims-demo-training",
        "claims-demo.yaml",
    ]


def test_owner_defaults_to_mlops_owner_email(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("MLOPS_OWNER_EMAIL", "sam.lead@example.com")
    onboard(
        "claims-demo",
        "tabular-classification",
        answers={},
        out=tmp_path / "out",
        usecases_dir=tmp_path / "usecases",
    )
    manifest = load_manifest(tmp_path / "usecases" / "claims-demo.yaml")
    assert manifest.owners.lead_data_scientist == "sam-lead"
