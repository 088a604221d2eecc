"""`mlops onboard`: validate the answers, render both repos, `git init` and commit them, write the
manifest; all or nothing.

Onboarding renders into a staging folder inside ``--out`` and moves the results into place only
when everything (render, lock, git init + first commit, manifest) succeeded: a failure leaves
nothing. With a ``lock`` (the Studio onboarding build passes `uv_lock`), each repo's first commit
holds its ``uv.lock``, which every build of the repo installs exactly, hash-checked.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlops.onboarding.answers import default_owner_email, validate_answers
from mlops.onboarding.errors import AnswersError, OnboardingError
from mlops.onboarding.manifest import build_manifest, manifest_text
from mlops.onboarding.render import render_repo
from mlops.onboarding.store import TemplateStore
from mlops.onboarding.templates import REPO_KINDS, TemplateInfo, get_template
from mlops.onboarding.vcs import git


@dataclass(frozen=True)
class OnboardResult:
    name: str
    template: TemplateInfo
    tag: str
    repos: dict[str, Path]
    manifest: Path
    answers: dict[str, Any]
    locked: bool = False

    def next_steps(self) -> list[str]:
        t, i = self.repos["training"], self.repos["inference"]
        lock = [] if self.locked else [
            f"in {t.name} and {i.name}: `uv lock` with UV_DEFAULT_INDEX set to the platform's "
            "package index, then commit uv.lock (every build installs exactly the lock)"
        ]  # fmt: skip
        return [
            f"cd {t} && python -m pytest   # the training repo's own tests; same in {i.name}",
            *lock,
            f"create the remote repos {t.name} and {i.name}, then in each: "
            "git remote add origin <url> && git push -u origin main",
            f"open a pull request on the platform repo adding {self.manifest.name} "
            f"(usecases/{self.manifest.name})",
            f"after merge, `pulumi up` creates for {self.name} in each stack: its model package "
            "group, pipeline and endpoint roles, S3 prefixes and KMS grants, CI/CD for both repos "
            "and the endpoint behind API Gateway (see `mlops preview`)",
        ]


def _check_name(name: str) -> None:
    from mlops.usecases import NAME_MAX, is_valid_name

    if not is_valid_name(name):
        raise AnswersError(
            f"invalid use-case name {name!r}",
            f"use lower-case letters, digits and single hyphens, starting with a letter, at most "
            f"{NAME_MAX} characters (e.g. risk-demo)",
        )


def _check_free(paths: list[Path], force: bool) -> None:
    taken = [p for p in paths if p.exists()]
    if taken and not force:
        raise OnboardingError(
            "already exists: " + ", ".join(str(p) for p in taken),
            "choose another name or --out, or pass --force to replace them",
        )


def onboard(
    name: str,
    template: str,
    *,
    answers: dict[str, Any] | None = None,
    out: Path = Path(),
    usecases_dir: Path | None = None,
    force: bool = False,
    store: TemplateStore | None = None,
    templates_root: Path | None = None,
    author: tuple[str, str] | None = None,
    lock: Callable[[Path], None] | None = None,
) -> OnboardResult:
    """Validate, render both repos, lock them (`lock`, e.g. `uv_lock`), `git init` them, write
    the manifest; all or nothing."""
    from mlops.usecases import USECASES_DIR

    _check_name(name)
    info = get_template(template, templates_root)
    given = dict(answers or {})
    overrides = given.pop("manifest", None) or {}
    if not isinstance(overrides, dict):
        raise AnswersError("answers: manifest must be a mapping", "see templates/README.md")
    if given.setdefault("usecase_name", name) != name:
        raise AnswersError(
            f"answers: usecase_name is {given['usecase_name']!r} but the use case is {name!r}",
            "drop usecase_name from the answers file (the command's NAME sets it)",
        )
    if "owner_email" not in given and (email := default_owner_email()):
        given["owner_email"] = email
    full = validate_answers(info, given)
    usecases_dir = usecases_dir or USECASES_DIR
    manifest_path = usecases_dir / f"{name}.yaml"
    text = manifest_text(build_manifest(info, full, overrides), f"usecases/{name}.yaml", info)

    out = out.resolve()
    targets = {kind: out / f"{name}-{kind}" for kind in REPO_KINDS}
    _check_free([*targets.values(), manifest_path], force)
    store = store or TemplateStore()
    tag = store.snapshot(info)
    author = author or (f"{name} onboarding (mlops)", full["owner_email"])

    out.mkdir(parents=True, exist_ok=True)
    usecases_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".mlops-onboard-{name}-", dir=out))
    staged_manifest = usecases_dir / f".{name}.yaml.onboarding"
    try:
        checkout = store.checkout(info.name, tag)
        for kind in REPO_KINDS:
            render_repo(checkout, (store.url(info.name), tag), staging / kind, full, kind)
            if lock is not None:
                lock(staging / kind)
            _first_commit(staging / kind, info, tag, author)
        staged_manifest.write_text(text)
        _install(staging, targets, staged_manifest, manifest_path)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        staged_manifest.unlink(missing_ok=True)
    return OnboardResult(name, info, tag, targets, manifest_path, full, locked=lock is not None)


LOCK_TIMEOUT_S = 600


def uv_lock(repo: Path) -> None:
    """Resolve a rendered repo's dependencies into its ``uv.lock`` from the index uv is pointed at
    (the onboarding build exports the platform's CodeArtifact repository as UV_DEFAULT_INDEX)."""
    uv = shutil.which("uv")
    if uv is None:
        raise OnboardingError(
            "uv is not on PATH: each rendered repo needs a uv.lock before its first build",
            "install uv (https://docs.astral.sh/uv/), or onboard without --lock and run"
            " `uv lock` in each repo before pushing it",
        )
    try:
        done = subprocess.run(  # noqa: S603  (uv from PATH, fixed arguments)
            [uv, "lock", "--quiet"], cwd=repo, capture_output=True, text=True,
            timeout=LOCK_TIMEOUT_S, check=False,
        )  # fmt: skip
    except subprocess.TimeoutExpired as exc:
        raise OnboardingError(
            f"uv lock did not finish in {LOCK_TIMEOUT_S} s for the {repo.name} repo",
            "check that the package index (UV_DEFAULT_INDEX) is reachable from here",
        ) from exc
    if done.returncode != 0 or not (repo / "uv.lock").is_file():
        detail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        raise OnboardingError(
            f"uv lock failed for the {repo.name} repo: " + " / ".join(detail),
            "the package index (UV_DEFAULT_INDEX) must serve every dependency the template"
            " pins, the platform library included; nothing was written",
        )


def _install(staging: Path, targets: dict[str, Path], staged: Path, manifest: Path) -> None:
    """Move the staged repos and manifest into place; undo every move if one fails.

    Replaced repos (``--force``) go into the staging folder, which the caller deletes.
    """
    moved: list[tuple[Path, Path]] = []

    def move(src: Path, dst: Path) -> None:
        os.replace(src, dst)
        moved.append((src, dst))

    try:
        for kind, target in targets.items():
            if target.exists():
                move(target, staging / f"replaced-{kind}")
            move(staging / kind, target)
        if manifest.exists():
            move(manifest, staged.with_suffix(".replaced"))
        move(staged, manifest)
    except BaseException:
        for src, dst in reversed(moved):  # best effort: undo as much as possible, then re-raise
            with contextlib.suppress(OSError):
                os.replace(dst, src)
        raise
    staged.with_suffix(".replaced").unlink(missing_ok=True)


def _first_commit(repo: Path, info: TemplateInfo, tag: str, author: tuple[str, str]) -> None:
    git("init", "-q", "-b", "main", cwd=repo)
    git("add", "-A", cwd=repo, author=author)
    git(
        "commit",
        "-q",
        "--no-verify",
        "-m",
        f"Render from template {info.name} {tag.removeprefix('v')} (mlops onboard)",
        cwd=repo,
        author=author,
    )
