"""Run a console script a use-case repo declares in its pyproject.toml (`[project.scripts]`) without
installing the repo: the builds install only the locked, hash-checked dependencies
(`mlops.delivery.locked_install`) and run the repo's code from `src/`.

    python -m mlops.delivery.project_script lambda-package build/lambda

A repo that does not declare the script is skipped (exit 0, one line saying so): the script is an
optional contract (docs in `mlops.delivery.buildspecs`).
"""

from __future__ import annotations

import importlib
import sys
import tomllib
from collections.abc import Sequence
from pathlib import Path

from mlops.errors import MlopsError


class ProjectScriptError(MlopsError):
    """The repo declares the script, but it cannot be loaded."""


def entry_point(pyproject: Path, script: str) -> str | None:
    """`module:function` of `script` in `pyproject`'s `[project.scripts]`, or None."""
    if not pyproject.is_file():
        return None
    data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    return data.get("project", {}).get("scripts", {}).get(script)


def load(target: str, src: Path) -> object:
    module_name, _, attr = target.partition(":")
    if not attr:
        raise ProjectScriptError(
            f"[project.scripts] entry {target!r} is not 'module:function'",
            "write it as package.module:function",
        )
    if str(src) not in sys.path:
        sys.path.insert(0, str(src))
    try:
        func = importlib.import_module(module_name)
        for part in attr.split("."):
            func = getattr(func, part)
    except (ImportError, AttributeError) as exc:
        raise ProjectScriptError(
            f"cannot load {target} from {src}: {exc}",
            "check the [project.scripts] entry and that the module is under src/",
        ) from exc
    return func


def run(script: str, args: Sequence[str], repo: Path = Path()) -> int:
    target = entry_point(repo / "pyproject.toml", script)
    if target is None:
        print(f"{script}: not declared in {repo / 'pyproject.toml'}; skipped")
        return 0
    func = load(target, (repo / "src").resolve())
    sys.argv = [script, *args]
    result = func()  # type: ignore[operator]
    return result if isinstance(result, int) else 0


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv:
        print("usage: python -m mlops.delivery.project_script SCRIPT [ARG...]", file=sys.stderr)
        return 2
    try:
        return run(argv[0], argv[1:])
    except MlopsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
