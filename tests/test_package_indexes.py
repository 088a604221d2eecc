"""Every package of `mlops/` indexes its own modules: a newcomer opening a package's `__init__`
finds every module and subpackage in it named in the docstring, so the index cannot drift
silently when a module is added or moved."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from mlops.config import REPO_ROOT

PACKAGE = REPO_ROOT / "mlops"
PACKAGES = sorted(p.parent for p in PACKAGE.rglob("__init__.py"))


def members(package: Path) -> list[str]:
    """The modules and subpackages directly inside a package."""
    modules = [p.stem for p in package.glob("*.py") if p.stem != "__init__"]
    subpackages = [p.name for p in package.iterdir() if (p / "__init__.py").is_file()]
    return sorted(modules + subpackages)


def unindexed(package: Path) -> list[str]:
    docstring = ast.get_docstring(ast.parse((package / "__init__.py").read_text())) or ""
    return [m for m in members(package) if not re.search(rf"\b{re.escape(m)}\b", docstring)]


@pytest.mark.parametrize("package", PACKAGES, ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_the_package_docstring_names_every_module(package: Path):
    assert unindexed(package) == [], (
        f"{package.relative_to(REPO_ROOT)}/__init__.py: its docstring does not name "
        f"{unindexed(package)}; add a line per module saying what it holds"
    )


def test_the_check_sees_a_module_missing_from_an_index(tmp_path: Path):
    (tmp_path / "__init__.py").write_text('"""Things.\n\n- ``alpha``: the first thing\n"""\n')
    (tmp_path / "alpha.py").write_text("")
    (tmp_path / "alphabet.py").write_text("")
    (tmp_path / "beta").mkdir()
    (tmp_path / "beta" / "__init__.py").write_text("")
    assert unindexed(tmp_path) == ["alphabet", "beta"]


def test_every_package_is_checked():
    names = {str(p.relative_to(PACKAGE)) for p in PACKAGES}
    assert {".", "components", "rehearsal", "rehearsal/provider_calls", "onboarding"} <= names
