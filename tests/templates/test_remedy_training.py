"""Remedy training repo: render it, check it, and run its own test suite."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from mlops.config import REPO_ROOT

from .conftest import OWNER, jinja_leftovers, render, ruff, unparsable

CORE = REPO_ROOT / "templates" / "remedy" / "core" / "remedy_core"
ANSWERS = {
    "usecase_name": "claims-remedy",
    "owner_email": OWNER,
    "eval_metric": "repair_cost_mdape",
    "eval_threshold": 0.3,
    "tuning_max_jobs": 60,
    "tuning_max_parallel": 12,
}


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> Path:
    from mlops.onboarding import TemplateStore

    store = TemplateStore(str(tmp_path_factory.getbasetemp() / "template-store"))
    return render(store, "remedy", ANSWERS, "training", tmp_path_factory.mktemp("training"))


def test_rendered_training_repo_is_complete_and_clean(repo: Path):
    assert jinja_leftovers(repo) == []
    assert unparsable(repo) == []
    for module in CORE.glob("*.py"):
        rendered = repo / "src" / "remedy_core" / module.name
        assert rendered.read_bytes() == module.read_bytes(), f"{module.name} differs from core"
    for path in (
        "pyproject.toml", "src/remedy_training/preprocess.py", "src/remedy_training/train.py",
        "src/remedy_training/evaluate.py", "src/remedy_training/recipe.py",
        "src/remedy_training/run_local.py", "tests/test_pipeline.py",
        "Dockerfile", "tests/test_dockerfile.py",
    ):  # fmt: skip
        assert (repo / path).is_file(), path
    assert not (repo / "src" / "remedy_inference").exists()
    usecase = (repo / "src" / "remedy_training" / "usecase.py").read_text()
    for line in ('USECASE_NAME = "claims-remedy"', "TUNING_MAX_JOBS = 60",
                 "TUNING_MAX_PARALLEL = 12", 'EVAL_METRIC = "repair_cost_mdape"'):  # fmt: skip
        assert line in usecase, line
    result = ruff(repo)
    assert result.returncode == 0, result.stdout + result.stderr


def test_rendered_training_suite_passes(repo: Path):
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    tail = "\n".join(proc.stdout.splitlines()[-25:])
    assert proc.returncode == 0, tail + proc.stderr[-2000:]
    assert " passed" in tail and "skipped" not in tail, tail
