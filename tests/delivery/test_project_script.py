"""`python -m mlops.delivery.project_script`: a repo's declared console script runs from its src/
without installing the repo (the builds install only the locked dependencies)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from mlops.delivery.project_script import ProjectScriptError, entry_point, main, run


def _repo(root: Path, scripts: str) -> Path:
    pkg = root / "src" / "demo_pkg"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "cli.py").write_text(
        "import sys\nfrom pathlib import Path\n\n"
        "def main():\n    Path(sys.argv[1]).write_text(' '.join(sys.argv))\n"
    )
    (root / "pyproject.toml").write_text(f'[project]\nname = "demo"\nversion = "0"\n{scripts}')
    return root


def test_a_declared_script_runs_with_its_arguments(tmp_path: Path) -> None:
    repo = _repo(tmp_path, '[project.scripts]\nlambda-package = "demo_pkg.cli:main"\n')
    out = tmp_path / "out.txt"
    proc = subprocess.run(
        [sys.executable, "-m", "mlops.delivery.project_script", "lambda-package", str(out)],
        cwd=repo, capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert out.read_text() == f"lambda-package {out}"


def test_an_undeclared_script_is_skipped(tmp_path: Path, capsys) -> None:
    repo = _repo(tmp_path, "")
    assert entry_point(repo / "pyproject.toml", "lambda-package") is None
    assert run("lambda-package", ["x"], repo) == 0
    assert "not declared" in capsys.readouterr().out
    assert run("lambda-package", [], tmp_path / "no-repo") == 0


def test_a_broken_entry_names_the_entry_and_the_fix(tmp_path: Path, capsys) -> None:
    repo = _repo(tmp_path, '[project.scripts]\nlambda-package = "demo_pkg.nowhere:main"\n')
    with pytest.raises(ProjectScriptError, match=r"demo_pkg\.nowhere:main") as exc:
        run("lambda-package", [], repo)
    assert "[project.scripts]" in exc.value.fix
    bad = _repo(tmp_path / "bad", '[project.scripts]\nlambda-package = "demo_pkg.cli"\n')
    with pytest.raises(ProjectScriptError, match="not 'module:function'"):
        run("lambda-package", [], bad)
    assert main([]) == 2
