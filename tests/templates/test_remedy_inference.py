"""Remedy inference repo: render it, check it, and run its own test suite (< 60 s)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from mlops.config import REPO_ROOT

from .conftest import OWNER, jinja_leftovers, render, ruff, unparsable

CORE = REPO_ROOT / "templates" / "remedy" / "core" / "remedy_core"


def _answers(jurisdiction: str) -> dict[str, object]:
    return {"usecase_name": "claims-remedy", "owner_email": OWNER, "jurisdiction": jurisdiction}


@pytest.fixture(scope="module")
def uk_repo(tmp_path_factory):
    from mlops.onboarding import TemplateStore

    store = TemplateStore(str(tmp_path_factory.getbasetemp() / "template-store"))
    return render(store, "remedy", _answers("uk"), "inference", tmp_path_factory.mktemp("uk"))


def test_rendered_repo_is_complete_and_clean(uk_repo: Path):
    assert jinja_leftovers(uk_repo) == []
    assert unparsable(uk_repo) == []
    for module in CORE.glob("*.py"):
        rendered = uk_repo / "src" / "remedy_core" / module.name
        assert rendered.read_bytes() == module.read_bytes(), f"{module.name} differs from core"
    for path in (
        "Pulumi.yaml", "Pulumi.dev.yaml", "Pulumi.staging.yaml", "Pulumi.prod.yaml",
        "infra/__main__.py", "src/remedy_inference/inference.py", "src/remedy_inference/api.py",
        "src/remedy_inference/handlers/decide.py", "tests/snapshots/openapi.json",
    ):  # fmt: skip
        assert (uk_repo / path).is_file(), path
    usecase = (uk_repo / "src" / "remedy_inference" / "usecase.py").read_text()
    assert 'USECASE_NAME = "claims-remedy"' in usecase and 'JURISDICTION = "uk"' in usecase
    assert "claims-remedy-inference:accountId" in (uk_repo / "Pulumi.prod.yaml").read_text()
    result = ruff(uk_repo)
    assert result.returncode == 0, result.stdout + result.stderr


def test_rendered_repo_test_suite_passes(uk_repo: Path):
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=uk_repo,
        capture_output=True,
        text=True,
        timeout=600,  # ≈ 200 s alone; the layer build (test_package.py) and a loaded machine
        check=False,
    )
    tail = "\n".join(proc.stdout.splitlines()[-25:])
    assert proc.returncode == 0, tail + proc.stderr[-2000:]
    assert " passed" in tail and "skipped" not in tail, tail


def test_us_jurisdiction_renders_the_us_rule_set(tmp_path, store):
    repo = render(store, "remedy", _answers("us"), "inference", tmp_path / "us")
    code = (
        "from remedy_inference import usecase; from remedy_core.rules import RuleConfig; "
        "c = RuleConfig.for_jurisdiction(usecase.JURISDICTION); "
        "print(c.jurisdiction.kind, c.currency, c.jurisdiction.threshold('NV'))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        cwd=repo,
        env={"PYTHONPATH": str(repo / "src")},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.stdout.split() == ["us", "USD", "0.65"], proc.stderr
