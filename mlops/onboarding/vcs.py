"""git for onboarding: one runner with the platform's identity (commits work with no git identity
configured, as on a fresh CI runner)."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

from mlops.onboarding.errors import OnboardingError

# Commits made by the platform itself work with no git identity configured (CI).
PLATFORM_AUTHOR = ("mlops-platform", "mlops-platform@users.noreply.github.com")


def identity_env(author: tuple[str, str] = PLATFORM_AUTHOR) -> dict[str, str]:
    name, email = author
    return {
        "GIT_AUTHOR_NAME": name,
        "GIT_AUTHOR_EMAIL": email,
        "GIT_COMMITTER_NAME": name,
        "GIT_COMMITTER_EMAIL": email,
    }


def git(
    *args: str,
    cwd: Path,
    author: tuple[str, str] = PLATFORM_AUTHOR,
    env: dict[str, str] | None = None,
    stdin: str | None = None,
) -> str:
    exe = shutil.which("git")
    if exe is None:
        raise OnboardingError("git is not installed", "install git (it versions rendered repos)")
    cmd = [exe, "-c", "commit.gpgsign=false", "-c", "tag.gpgsign=false", *args]
    full_env = {**os.environ, **identity_env(author), **(env or {})}
    proc = subprocess.run(  # noqa: S603 - fixed executable, arguments built here
        cmd, cwd=cwd, env=full_env, input=stdin, capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        raise OnboardingError(
            f"git {' '.join(args[:2])} failed in {cwd}: {proc.stderr.strip() or proc.stdout}",
            "check that git works in that folder",
        )
    return proc.stdout


@contextlib.contextmanager
def git_identity_for_copier() -> Iterator[None]:
    """copier commits in temporary repos during update; give it an identity if none is set."""
    added = {k: v for k, v in identity_env().items() if k not in os.environ}
    os.environ.update(added)
    try:
        yield
    finally:
        for key in added:
            os.environ.pop(key, None)
