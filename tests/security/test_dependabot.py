"""Dependency updates are configured for the platform and for every rendered use-case repo."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
INTERVALS = {"daily", "weekly", "monthly"}


def _updates(path: Path) -> dict[str, dict]:
    doc = yaml.safe_load(path.read_text())
    assert doc["version"] == 2, f"{path}: dependabot config must be version 2"
    updates = {u["package-ecosystem"]: u for u in doc["updates"]}
    for eco, u in updates.items():
        assert u["directory"].startswith("/"), f"{path}: {eco}.directory must be absolute"
        assert u["schedule"]["interval"] in INTERVALS, f"{path}: {eco}.schedule.interval"
    return updates


def test_platform_updates_python_actions_and_npm() -> None:
    updates = _updates(REPO / ".github" / "dependabot.yml")
    assert set(updates) == {"uv", "github-actions", "npm"}
    # each ecosystem has something to update in this repository
    assert (REPO / "uv.lock").exists() and (REPO / "pyproject.toml").exists()
    assert (REPO / "package.json").exists()
    assert list((REPO / ".github" / "workflows").glob("*.yml"))


def _template_repo_dirs() -> list[Path]:
    return sorted(
        d for t in (REPO / "templates").iterdir() if (t / "copier.yml").exists()
        for d in (t / "training", t / "inference") if d.is_dir()
    )  # fmt: skip


def test_templates_exist() -> None:
    assert _template_repo_dirs(), "no templates/<t>/{training,inference} folders found"


@pytest.mark.parametrize("repo_dir", _template_repo_dirs(), ids=lambda p: str(p.relative_to(REPO)))
def test_every_rendered_repo_gets_a_dependabot_config(repo_dir: Path) -> None:
    path = repo_dir / ".github" / "dependabot.yml"
    assert path.exists(), (
        f"{path.relative_to(REPO)} is missing: copy templates/remedy/training/.github/"
        "dependabot.yml so the rendered repo updates its libraries"
    )
    assert "{{" not in path.read_text(), "copied verbatim (no .jinja suffix): no Jinja inside"
    updates = _updates(path)
    assert {"pip", "github-actions"} <= set(updates)
