"""The template store: one tagged root commit per version, idempotent, dev snapshots flagged."""

from __future__ import annotations

import subprocess
from pathlib import Path

from mlops.onboarding import TemplateStore, load_template
from mlops.onboarding.templates import PLATFORM_FILE

from .conftest import copy_template


def test_snapshot_is_idempotent_and_tags_root_commits(tmp_path) -> None:
    folder = copy_template("tabular-classification", tmp_path / "templates")
    store = TemplateStore(str(tmp_path / "store"))
    info = load_template(folder)
    assert store.snapshot(info) == "v1.0.0"
    assert store.snapshot(info) == "v1.0.0"
    assert list(store.tags("tabular-classification")) == ["v1.0.0"]
    parents = subprocess.run(
        ["git", "rev-list", "--parents", "-n1", "v1.0.0"],
        cwd=store.repo("tabular-classification"),
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert len(parents) == 1  # a root commit: the tag's history is only this version


def test_changed_template_without_version_bump_gets_a_dev_tag(tmp_path) -> None:
    folder = copy_template("tabular-classification", tmp_path / "templates")
    store = TemplateStore(str(tmp_path / "store"))
    assert store.snapshot(load_template(folder)) == "v1.0.0"
    (folder / "training" / "NOTES.md").write_text("draft\n")
    assert store.snapshot(load_template(folder)) == "v1.0.0+dev.1"
    (folder / "training" / "NOTES.md").write_text("draft 2\n")
    assert store.snapshot(load_template(folder)) == "v1.0.0+dev.2"
    (folder / "training" / "NOTES.md").unlink()
    assert store.snapshot(load_template(folder)) == "v1.0.0"  # back to the released content


def test_a_change_of_the_shared_platform_questions_is_a_new_snapshot(tmp_path) -> None:
    folder = copy_template("tabular-classification", tmp_path / "templates")
    store = TemplateStore(str(tmp_path / "store"))
    assert store.snapshot(load_template(folder)) == "v1.0.0"
    shared = folder.parent / PLATFORM_FILE
    shared.write_text(shared.read_text().replace("(e.g. churn-risk)", "(e.g. fraud-score)"))
    assert store.snapshot(load_template(folder)) == "v1.0.0+dev.1"
    checkout = store.checkout("tabular-classification", "v1.0.0+dev.1")
    assert "(e.g. fraud-score)" in (checkout / PLATFORM_FILE).read_text()


def test_checkout_is_exactly_the_tagged_files(tmp_path) -> None:
    folder = copy_template("tabular-classification", tmp_path / "templates")
    (folder / "training" / "__pycache__").mkdir()
    (folder / "training" / "__pycache__" / "x.pyc").write_bytes(b"\0")
    store = TemplateStore(str(tmp_path / "store"))
    tag = store.snapshot(load_template(folder))
    checkout = store.checkout("tabular-classification", tag)
    files = sorted(p.relative_to(checkout) for p in checkout.rglob("*") if p.is_file())
    expected = sorted(
        [
            *(
                p.relative_to(folder)
                for p in folder.rglob("*")
                if p.is_file()
                and not set(p.parts) & {"__pycache__", ".ruff_cache", ".pytest_cache"}
            ),
            Path(PLATFORM_FILE),  # the platform questions copier.yml includes, added by the store
        ]
    )
    assert files == expected
    shared = (folder.parent / PLATFORM_FILE).read_bytes()
    assert (checkout / PLATFORM_FILE).read_bytes() == shared
    assert store.checkout("tabular-classification", tag) == checkout  # reused
