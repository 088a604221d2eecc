"""`mlops train <usecase> --local`: run a rendered training repo's local pipeline.

The repo's own `run_local` module does the work (same code as its SageMaker pipeline); this finds
it, runs it with the repo's `src/` on the path and passes options through.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from mlops.errors import MlopsError, UsageError


class TrainingError(MlopsError):
    """The local training run could not start or failed."""


def find_run_local(repo: Path) -> str:
    """The dotted module of the repo's local pipeline (`src/<package>/run_local.py`)."""
    found = sorted(repo.glob("src/*/run_local.py"))
    if not found:
        raise TrainingError(
            f"{repo} has no src/<package>/run_local.py",
            "pass --repo pointing at a training repo rendered by `mlops onboard`",
        )
    return f"{found[0].parent.name}.run_local"


def train_local(usecase: str, repo: Path | None, extra: Sequence[str]) -> int:
    repo = (repo or Path(f"{usecase}-training")).resolve()
    if not repo.is_dir():
        raise UsageError(
            f"training repo {repo} not found",
            f"run `mlops onboard {usecase} --template <t>` first, or pass --repo",
        )
    module = find_run_local(repo)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(repo / "src"), os.environ.get(
        "PYTHONPATH", "")]).rstrip(os.pathsep)}  # fmt: skip
    result = subprocess.run(  # noqa: S603 - our interpreter and the repo's own module
        [sys.executable, "-m", module, *extra], cwd=repo, env=env, check=False
    )
    if result.returncode != 0:
        raise TrainingError(f"{module} exited with {result.returncode}", "see its output above")
    return 0
