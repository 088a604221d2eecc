"""Module indexes stay true: `mlops/components/__init__.py` names every module of the package and
every type token the modules register."""

from __future__ import annotations

import re

import mlops.components
from mlops.config import REPO_ROOT

COMPONENTS = REPO_ROOT / "mlops" / "components"


def test_components_index_names_every_module_and_type_token() -> None:
    index = mlops.components.__doc__ or ""
    modules = sorted(p.name for p in COMPONENTS.glob("*.py") if p.name != "__init__.py")
    assert len(modules) > 20, modules
    missing = [m for m in modules if not re.search(rf"(?<![\w.]){re.escape(m)}", index)]
    assert not missing, f"mlops/components/__init__.py does not list {missing}"
    tokens = sorted(
        {
            t
            for p in COMPONENTS.glob("*.py")
            for t in re.findall(r'"(mlops:\w+:\w+)"', p.read_text())
        }
    )
    unlisted = [t for t in tokens if f"`{t}`" not in index]
    assert not unlisted, f"mlops/components/__init__.py does not name the type tokens {unlisted}"
    stale = [m for m in re.findall(r"\b(\w+\.py)\b", index) if m not in modules]
    assert not stale, f"mlops/components/__init__.py lists modules that do not exist: {stale}"
