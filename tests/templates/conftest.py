"""Shared helpers for the template tests: an isolated template store and rendered-tree checks."""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from mlops.onboarding import (
    TemplateInfo,
    TemplateStore,
    get_template,
    render_repo,
    validate_answers,
)
from mlops.onboarding.templates import PLATFORM_FILE

RUFF = Path(sys.executable).with_name("ruff")
OWNER = "jane.doe@example.com"


@pytest.fixture(autouse=True)
def _isolated_store(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """Never touch the user's ~/.cache store; no git identity from the environment."""
    store = tmp_path_factory.getbasetemp() / "template-store"
    monkeypatch.setenv("MLOPS_TEMPLATE_STORE", str(store))
    for key in ("GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL"):
        monkeypatch.delenv(key, raising=False)


@pytest.fixture
def store(tmp_path_factory: pytest.TempPathFactory) -> TemplateStore:
    return TemplateStore(str(tmp_path_factory.getbasetemp() / "template-store"))


def render(
    store: TemplateStore, template: str, answers: dict[str, Any], kind: str, dst: Path
) -> Path:
    """Validate and render one repo the way `mlops onboard` does (without git and manifest)."""
    info = get_template(template)
    full = validate_answers(info, answers)
    tag = store.snapshot(info)
    render_repo(store.checkout(info.name, tag), (store.url(info.name), tag), dst, full, kind)
    return dst


def text_files(root: Path) -> list[Path]:
    files = []
    for path in sorted(root.rglob("*")):
        if ".git" in path.parts or not path.is_file():
            continue
        try:
            path.read_text()
        except UnicodeDecodeError:
            continue
        files.append(path)
    return files


def is_runtime_template(path: Path) -> bool:
    """HTML pages a rendered repo renders itself at run time (e.g. the claims-handler view's
    `web/*.html`, served by FastAPI through Jinja): their markers are meant to stay."""
    return path.suffix in {".html", ".css"} and path.parent.name == "web"


# GitHub Actions expressions (`${{ github.ref }}`) in a rendered repo's .github/ are not Jinja.
_GITHUB_EXPRESSION = re.compile(r"\$\{\{[^{}]*\}\}")


def _unrendered(root: Path, path: Path, line: str) -> bool:
    if path.relative_to(root).parts[0] == ".github":
        line = _GITHUB_EXPRESSION.sub("", line)
    return "{{" in line or "{%" in line


def jinja_leftovers(root: Path) -> list[str]:
    return [
        f"{p.relative_to(root)}:{n}"
        for p in text_files(root)
        if not is_runtime_template(p)
        for n, line in enumerate(p.read_text().splitlines(), 1)
        if _unrendered(root, p, line)
    ] + [str(p.relative_to(root)) for p in root.rglob("*") if "{{" in p.name or "{%" in p.name]


def unparsable(root: Path) -> list[str]:
    bad = []
    for path in sorted(root.rglob("*.py")):
        try:
            ast.parse(path.read_text(), filename=str(path))
        except SyntaxError as exc:
            bad.append(f"{path.relative_to(root)}: {exc}")
    return bad


def ruff(root: Path) -> subprocess.CompletedProcess[str]:
    """`ruff check` with the rendered repo's own configuration (its pyproject.toml)."""
    return subprocess.run(
        [str(RUFF), "check", "--no-cache", "--output-format", "concise", "."],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )


def copy_template(name: str, root: Path) -> Path:
    """A private copy of a template folder (for tests that change the template), next to a copy
    of the platform questions every template includes (`templates/platform-questions.yml`)."""
    src = get_template(name).path
    dst = root / name
    shutil.copytree(
        src,
        dst,
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".ruff_cache", ".pytest_cache"),
    )
    if not (root / PLATFORM_FILE).exists():
        shutil.copy2(src.parent / PLATFORM_FILE, root / PLATFORM_FILE)
    return dst


def info_of(name: str) -> TemplateInfo:
    return get_template(name)
