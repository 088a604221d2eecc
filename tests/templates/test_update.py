"""`update`: version N -> N+1 applies the template change and keeps local edits; conflicts are
reported with files and lines; the store restores old versions from the platform's git history."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from copier._template import load_template_config

from mlops.onboarding import (
    OnboardingError,
    TemplateStore,
    UpdateConflictError,
    onboard,
    update,
    update_command,
)
from mlops.onboarding.templates import PLATFORM_FILE, read_copier_config

from .conftest import OWNER, copy_template


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def _bump(folder: Path, version: str) -> None:
    conf = folder / "copier.yml"
    text = conf.read_text()
    old = read_copier_config(folder)["template_version"]["default"]
    conf.write_text(text.replace(f'default: "{old}"', f'default: "{version}"'))


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A private template copy at 1.0.0 and a training repo onboarded from it."""
    root = tmp_path / "templates"
    folder = copy_template("tabular-classification", root)
    monkeypatch.setenv("MLOPS_TEMPLATES_DIR", str(root))
    store = TemplateStore(str(tmp_path / "store"))
    result = onboard(
        "churn",
        "tabular-classification",
        answers={"owner_email": OWNER},
        out=tmp_path / "out",
        usecases_dir=tmp_path / "usecases",
        store=store,
    )
    return folder, result.repos["training"], store


def test_update_applies_template_change_and_keeps_local_edit(project) -> None:
    folder, repo, _ = project
    # local edit in the rendered repo, committed
    readme = repo / "README.md"
    readme.write_text(readme.read_text() + "\n## Our runbook\n\nCall the on-call DS.\n")
    _git(repo, "commit", "-qam", "our runbook")
    # template N+1: a changed file, a new file, a changed shared module
    _bump(folder, "1.1.0")
    tpl = folder / "training" / "README.md.jinja"
    tpl.write_text(tpl.read_text().replace("## Run locally", "## Run it locally"))
    (folder / "training" / "CHANGELOG.md").write_text("# Changelog\n\n- 1.1.0\n")
    schema = folder / "core" / "tabular_core" / "schema.py"
    schema.write_text(
        schema.read_text().replace(
            'CATEGORY_LEVELS = ("a", "b", "c", "d")', 'CATEGORY_LEVELS = ("a", "b", "c")'
        )
    )

    result = update(repo)

    assert (result.from_tag, result.to_tag) == ("v1.0.0", "v1.1.0")
    assert result.conflicts == {}
    text = readme.read_text()
    assert "## Run it locally" in text  # template change applied
    assert "## Our runbook\n\nCall the on-call DS.\n" in text  # local edit kept
    assert (repo / "CHANGELOG.md").read_text() == "# Changelog\n\n- 1.1.0\n"
    assert 'CATEGORY_LEVELS = ("a", "b", "c")' in (repo / "src/tabular_core/schema.py").read_text()
    recorded = yaml.safe_load((repo / ".copier-answers.yml").read_text())
    assert (recorded["_commit"], recorded["_template_version"]) == ("v1.1.0", "1.1.0")
    assert recorded["owner_email"] == OWNER  # answers carried over
    assert set(result.changed) >= {"README.md", "CHANGELOG.md", ".copier-answers.yml"}


def test_conflict_is_reported_with_file_and_line(project) -> None:
    folder, repo, _ = project
    readme = repo / "README.md"
    readme.write_text(readme.read_text().replace("## Run locally", "## Run locally (our way)"))
    _git(repo, "commit", "-qam", "ours")
    _bump(folder, "1.1.0")
    tpl = folder / "training" / "README.md.jinja"
    tpl.write_text(tpl.read_text().replace("## Run locally", "## Run locally (template way)"))

    with pytest.raises(UpdateConflictError) as err:
        update_command(repo)  # the CLI path
    line = next(
        n for n, text in enumerate(readme.read_text().splitlines(), 1) if text.startswith("<<<<<<<")
    )
    assert err.value.message == (
        "updated churn-training v1.0.0 -> v1.1.0 with conflicts in 1 file(s):\n"
        f"  README.md: markers at line {line}"
    )
    assert "<<<<<<< before updating" in err.value.fix
    assert "## Run locally (our way)" in readme.read_text()
    assert "## Run locally (template way)" in readme.read_text()


def test_update_refuses_a_dirty_repo(project) -> None:
    _, repo, _ = project
    (repo / "README.md").write_text("dirty\n")
    with pytest.raises(OnboardingError) as err:
        update(repo)
    assert err.value.message == f"{repo} has uncommitted changes:\n   M README.md"
    assert err.value.fix.startswith("commit or stash them first")


def test_not_a_rendered_repo(tmp_path) -> None:
    with pytest.raises(OnboardingError) as err:
        update(tmp_path)
    assert err.value.message == (
        f"{tmp_path} has no .copier-answers.yml: it was not rendered by `mlops onboard`"
    )


def test_old_version_is_restored_from_the_platform_history(tmp_path, project) -> None:
    """A new machine/CI has no store: version N comes back from the platform repo's git history."""
    folder, _, _ = project
    platform = tmp_path / "platform"
    target = platform / "templates" / "tabular-classification"
    target.parent.mkdir(parents=True)
    subprocess.run(["cp", "-r", str(folder), str(target)], check=True)
    shutil.copy2(folder.parent / PLATFORM_FILE, target.parent / PLATFORM_FILE)
    _git(platform, "init", "-q")
    _git(platform, "add", "-A")
    _git(platform, "commit", "-qm", "template 1.0.0")
    _bump(target, "1.1.0")
    _git(platform, "commit", "-qam", "template 1.1.0")

    fresh = TemplateStore(str(tmp_path / "fresh-store"))
    assert fresh.ensure_version("tabular-classification", "v1.0.0", platform_repo=platform)
    restored = fresh.checkout("tabular-classification", "v1.0.0")
    conf = load_template_config(restored / "copier.yml")  # as copier reads the snapshot
    assert conf["template_version"]["default"] == "1.0.0"
    assert {"usecase_name", "dev_account_id", "_subdirectory"} <= conf.keys()  # the included file
    assert not fresh.ensure_version("tabular-classification", "v0.9.0", platform_repo=platform)


def test_update_on_a_machine_without_the_store(tmp_path, monkeypatch) -> None:
    """CI: the store recorded in the repo does not exist; version N comes back from the platform
    repo's history, N+1 from its working tree, and the update applies as usual."""
    platform = tmp_path / "platform"
    folder = copy_template("tabular-classification", platform / "templates")
    _git(platform, "init", "-q")
    _git(platform, "add", "-A")
    _git(platform, "commit", "-qm", "template 1.0.0")
    monkeypatch.setenv("MLOPS_TEMPLATES_DIR", str(platform / "templates"))
    store_root = tmp_path / "laptop-store"
    result = onboard(
        "churn",
        "tabular-classification",
        answers={"owner_email": OWNER},
        out=tmp_path / "out",
        usecases_dir=tmp_path / "usecases",
        store=TemplateStore(str(store_root)),
    )
    repo = result.repos["training"]
    subprocess.run(["rm", "-rf", str(store_root)], check=True)  # a fresh machine
    _bump(folder, "1.1.0")
    (folder / "training" / "CHANGELOG.md").write_text("# Changelog\n")
    _git(platform, "add", "-A")
    _git(platform, "commit", "-qm", "template 1.1.0")

    updated = update(repo, platform_repo=platform)

    assert (updated.from_tag, updated.to_tag) == ("v1.0.0", "v1.1.0")
    assert (repo / "CHANGELOG.md").is_file()
    assert updated.conflicts == {}
    assert set(TemplateStore(str(store_root)).tags("tabular-classification")) == {
        "v1.0.0",
        "v1.1.0",
    }


def test_update_all_dry_run_reports_each_repo_and_changes_none(tmp_path, monkeypatch) -> None:
    """Three onboarded repos checked out (two use cases; a fourth repo is not): two update
    cleanly, one conflicts (a local edit of the line the template changes), the missing one is
    named; the dry run leaves every repo exactly as it was. A real update afterwards finds the
    churn repos current."""
    from mlops.onboarding import update_all

    root = tmp_path / "templates"
    folder = copy_template("tabular-classification", root)
    monkeypatch.setenv("MLOPS_TEMPLATES_DIR", str(root))
    store = TemplateStore(str(tmp_path / "store"))
    usecases, out = tmp_path / "usecases", tmp_path / "repos"
    repos = {}
    for name in ("churn", "fraud"):
        result = onboard(name, "tabular-classification", answers={"owner_email": OWNER},
                         out=out, usecases_dir=usecases, store=store)  # fmt: skip
        repos[name] = result.repos
    ours = repos["fraud"]["training"] / "README.md"
    ours.write_text(ours.read_text().replace("## Run locally", "## Run locally (our way)"))
    _git(repos["fraud"]["training"], "commit", "-qam", "ours")
    subprocess.run(["rm", "-rf", str(repos["fraud"]["inference"])], check=True)
    heads = {r: _git(r, "rev-parse", "HEAD") for r in (repos["churn"]["training"],
                                                      repos["churn"]["inference"],
                                                      repos["fraud"]["training"])}  # fmt: skip
    _bump(folder, "1.1.0")
    tpl = folder / "training" / "README.md.jinja"
    tpl.write_text(tpl.read_text().replace("## Run locally", "## Run locally (template way)"))

    results = update_all(out, dry_run=True, usecases_dir=usecases)

    seen = {(r.usecase, r.kind): r for r in results}
    assert seen["churn", "training"].status == "updated"
    assert "README.md" in seen["churn", "training"].result.changed
    fraud = seen["fraud", "training"]
    assert fraud.status == "conflicts" and list(fraud.result.conflicts) == ["README.md"]
    assert fraud.result.conflicts["README.md"]  # the line numbers of the markers
    assert seen["fraud", "inference"].status == "missing"
    assert seen["churn", "inference"].status == "updated"
    assert seen["churn", "inference"].result.to_tag == "v1.1.0"
    for repo, head in heads.items():  # a dry run changed nothing
        assert _git(repo, "rev-parse", "HEAD") == head
        assert _git(repo, "status", "--porcelain") == ""
    assert "(our way)" in ours.read_text() and "<<<<<<<" not in ours.read_text()
    for repo in (repos["churn"]["training"], repos["churn"]["inference"]):  # now for real
        update(repo)
        _git(repo, "add", "-A")
        _git(repo, "commit", "-qm", "template 1.1.0")
    again = {(r.usecase, r.kind): r.status for r in update_all(out, usecases_dir=usecases)
             if r.usecase == "churn"}  # fmt: skip
    assert again == {("churn", "training"): "current", ("churn", "inference"): "current"}
