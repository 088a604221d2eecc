"""`platform/` is the Pulumi program folder, never a package: the stdlib module must win."""

from __future__ import annotations

import subprocess
import sys

import pytest

from mlops.config import REPO_ROOT

PROBE = "import platform, pulumi, boto3; platform.python_version(); print(platform.__file__)"


@pytest.mark.parametrize("cwd", [REPO_ROOT, REPO_ROOT / "platform"], ids=["repo-root", "program"])
def test_standard_platform_module_is_the_real_one(cwd) -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=cwd, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    path = result.stdout.strip()
    assert path.endswith("/platform.py"), path
    assert not path.startswith(str(REPO_ROOT)), path


def test_no_package_marker_in_program_folder() -> None:
    assert not (REPO_ROOT / "platform" / "__init__.py").exists()
