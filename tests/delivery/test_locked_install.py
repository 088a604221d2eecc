"""The use-case builds install exactly their repo's uv.lock, hash-checked: the buildspecs carry no
unpinned install, and the install lines, run for real in a shell against a locked project (PyPI as
the index, as CodeArtifact would be), install the locked files and refuse a tampered, stale or
missing lock. uv itself is installed by the digests of its wheels."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import urllib.request
from pathlib import Path

import pytest
import yaml

from mlops.delivery import buildspecs, locked_install
from mlops.delivery.toolchain import UV_VERSION

REPO_BUILDS = {
    "tests": buildspecs.training_tests,
    "pipeline": buildspecs.upsert_and_start_pipeline,
    "deploy": buildspecs.deploy,
    "smoke": buildspecs.smoke_test,
}


def _install(spec: str) -> list[str]:
    return yaml.safe_load(spec)["phases"]["install"]["commands"]


@pytest.mark.parametrize("build", sorted(REPO_BUILDS))
def test_every_repo_build_installs_only_hash_checked_files(build: str) -> None:
    spec = REPO_BUILDS[build]()
    commands = _install(spec)
    installs = [c for c in commands if "pip install" in c]
    assert installs, commands
    assert all("--require-hashes" in c for c in installs), installs
    assert not [c for c in commands if "install -e" in c or "--upgrade" in c], commands
    assert "MLOPS_PLATFORM_PIP_SPEC" not in spec  # the platform library comes from the lock
    # uv first (by hash), then the lock's export, then the install from it
    order = [next(i for i, c in enumerate(commands) if needle in c) for needle in (
        "python -m pip install", "uv export --locked", "uv pip install")]  # fmt: skip
    assert order == sorted(order), commands
    groups = " --no-dev" if build != "tests" else ""
    assert f"--format requirements-txt --quiet{groups} -o" in " ".join(commands)


def test_the_lambda_layer_script_runs_from_the_repo_without_installing_it() -> None:
    build = yaml.safe_load(buildspecs.deploy())["phases"]["build"]["commands"]
    assert "python -m mlops.delivery.project_script lambda-package build/lambda" in build


def test_uv_is_pinned_by_the_digests_of_its_wheels() -> None:
    requirement = locked_install.uv_requirement()
    assert requirement.startswith(f"uv=={UV_VERSION} --hash=sha256:")
    assert requirement.count("--hash=sha256:") == len(locked_install.UV_WHEEL_SHA256) == 2


def test_the_uv_digests_are_those_the_index_publishes() -> None:
    """The digests the index lists for uv's wheels (PyPI's simple page, as pip reads it)."""
    with urllib.request.urlopen("https://pypi.org/simple/uv/", timeout=120) as page:
        listed = dict(re.findall(r"(uv-[^\"#/]+\.whl)#sha256=([0-9a-f]{64})", page.read().decode()))
    for platform, digest in locked_install.UV_WHEEL_SHA256.items():
        wheels = [n for n in listed if n.startswith(f"uv-{UV_VERSION}-") and f"{platform}." in n]
        assert len(wheels) == 1, (platform, wheels)
        assert listed[wheels[0]] == digest, wheels[0]


PYPROJECT = """[project]
name = "demo"
version = "0.1.0"
requires-python = ">=3.11"
dependencies = ["six==1.16.0"]

[dependency-groups]
dev = ["iniconfig==2.0.0"]
"""


def _locked_project(root: Path) -> Path:
    (root / "src" / "demo").mkdir(parents=True)
    (root / "src" / "demo" / "__init__.py").write_text("VALUE = 42\n")
    (root / "pyproject.toml").write_text(PYPROJECT)
    subprocess.run(["uv", "lock", "--quiet"], cwd=root, check=True, timeout=300)
    return root


def _run_install(root: Path, groups: str = locked_install.RUNTIME_GROUPS):
    lines = [c for c in locked_install.locked_install(groups) if "/tmp/uv-requirements" not in c]
    probe = 'python -c "import demo, six; print(demo.VALUE, six.__version__)"'
    script = "set -e\n" + "\n".join(lines) + f"\n{probe}\n"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "PYTHONPATH"))}
    return subprocess.run(
        ["bash", "-c", script.replace(locked_install.REQUIREMENTS, str(root / "req.txt"))],
        cwd=root, env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip


@pytest.fixture(scope="module")
def locked(tmp_path_factory) -> Path:
    if not shutil.which("uv"):
        pytest.fail("uv is missing: it comes with the dev environment (make setup)")
    return _locked_project(tmp_path_factory.mktemp("locked"))


def test_the_install_lines_install_exactly_the_lock(locked: Path, tmp_path: Path) -> None:
    root = shutil.copytree(locked, tmp_path / "repo")
    out = _run_install(root)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["42", "1.16.0"]  # the repo's code from src/, six from the lock
    exported = (root / "req.txt").read_text()
    assert "six==1.16.0" in exported and "--hash=sha256:" in exported
    assert "iniconfig" not in exported  # the runtime builds leave the dev group out


def test_a_tampered_lock_stops_the_build(locked: Path, tmp_path: Path) -> None:
    root = shutil.copytree(locked, tmp_path / "repo")
    lock = root / "uv.lock"
    flip = {"0": "1"}  # every recorded digest changed in its first hex digit
    lock.write_text(
        re.sub(r"(sha256:)([0-9a-f])", lambda m: m[1] + flip.get(m[2], "0"), lock.read_text())
    )
    out = _run_install(root)
    assert out.returncode != 0
    assert "Hash mismatch" in out.stderr, out.stderr


def test_a_missing_or_stale_lock_stops_the_build(locked: Path, tmp_path: Path) -> None:
    missing = shutil.copytree(locked, tmp_path / "missing")
    (missing / "uv.lock").unlink()
    out = _run_install(missing)
    assert out.returncode == 1 and "uv.lock is missing" in out.stderr, out.stderr
    stale = shutil.copytree(locked, tmp_path / "stale")
    pyproject = stale / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace("six==1.16.0", "six==1.17.0"))
    out = _run_install(stale)
    assert out.returncode != 0 and "lock" in out.stderr.lower(), out.stderr
