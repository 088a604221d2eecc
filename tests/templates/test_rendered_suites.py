"""Each rendered repo's own test suite passes, run with this environment's Python.

Rendered once per template (the matrix tests render cheaply); the two suites run in parallel.
Remedy's rendered suites are run by tests/templates/test_remedy_*.py (the Remedy engineers').
"""

from __future__ import annotations

import os
import subprocess
import sys

from .conftest import OWNER, render, ruff


def test_tabular_rendered_suites_pass(store, tmp_path) -> None:
    answers = {"usecase_name": "churn-risk", "owner_email": OWNER}
    repos = {
        kind: render(store, "tabular-classification", answers, kind, tmp_path / f"churn-{kind}")
        for kind in ("training", "inference")
    }
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    runs = {
        kind: subprocess.Popen(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-x"],
            cwd=root,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for kind, root in repos.items()
    }
    for kind, proc in runs.items():
        out, _ = proc.communicate(timeout=240)
        assert proc.returncode == 0, f"{kind} suite failed:\n{out[-4000:]}"
        assert " passed" in out and "skipped" not in out, out[-500:]
    for root in repos.values():
        lint = ruff(root)
        assert lint.returncode == 0, lint.stdout
