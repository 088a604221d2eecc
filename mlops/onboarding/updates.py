"""`mlops update`: re-render a repo from its template's current version, keeping local edits; and
`mlops update --all` over every onboarded repo.

copier renders version N from the store recorded in the repo (`_src_path`), diffs it against the
repo and applies N→N+1 keeping local edits.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from mlops.config import REPO_ROOT
from mlops.onboarding.answers import PLATFORM_CONFIG_QUESTIONS, platform_answers
from mlops.onboarding.errors import OnboardingError
from mlops.onboarding.provider import GitProvider
from mlops.onboarding.render import ANSWERS_FILE
from mlops.onboarding.store import TemplateStore
from mlops.onboarding.templates import get_template
from mlops.onboarding.vcs import git, git_identity_for_copier


@dataclass(frozen=True)
class UpdateResult:
    repo: Path
    template: str
    from_tag: str
    to_tag: str
    changed: list[str]
    conflicts: dict[str, list[int]]

    @property
    def up_to_date(self) -> bool:
        return self.from_tag == self.to_tag and not self.changed


def read_recorded(repo: Path) -> dict[str, Any]:
    path = repo / ANSWERS_FILE
    if not path.is_file():
        raise OnboardingError(
            f"{repo} has no {ANSWERS_FILE}: it was not rendered by `mlops onboard`",
            "pass the folder of a rendered training or inference repo",
        )
    data = yaml.safe_load(path.read_text()) or {}
    missing = [k for k in ("_src_path", "_commit", "_template") if k not in data]
    if missing:
        raise OnboardingError(
            f"{path} lacks {', '.join(missing)}",
            "restore the file from git (it is written by the template and managed by mlops update)",
        )
    return data


def _conflicts(repo: Path, paths: list[str]) -> dict[str, list[int]]:
    found: dict[str, list[int]] = {}
    for rel in paths:
        path = repo / rel
        if rel.endswith(".rej"):
            found[rel] = []
            continue
        if not path.is_file():
            continue
        try:
            lines = path.read_text().splitlines()
        except UnicodeDecodeError:
            continue
        marks = [n for n, line in enumerate(lines, 1) if line.startswith("<<<<<<< ")]
        if marks:
            found[rel] = marks
    return found


def update(
    repo: Path, *, templates_root: Path | None = None, platform_repo: Path = REPO_ROOT
) -> UpdateResult:
    """copier update to the template's current version, keeping local edits.

    copier renders both the old and the new version from the store recorded in the repo
    (`_src_path`), so the current template folder is snapshotted into that store (created if this
    machine has none yet; the old version is then restored from the platform's git history).
    """
    import copier

    repo = repo.resolve()
    recorded = read_recorded(repo)
    if not (repo / ".git").exists():
        raise OnboardingError(f"{repo} is not a git repository", "run `git init` and commit first")
    dirty = git("status", "--porcelain", cwd=repo).rstrip()
    if dirty.strip():
        raise OnboardingError(
            f"{repo} has uncommitted changes:\n  " + "\n  ".join(dirty.splitlines()[:10]),
            "commit or stash them first; mlops update merges into a clean repo",
        )
    info = get_template(str(recorded["_template"]), templates_root)
    src = str(recorded["_src_path"])
    store = TemplateStore(src.rsplit("/", 1)[0])
    if store.url(info.name) != src:
        raise OnboardingError(
            f"{ANSWERS_FILE} records _src_path {src}, which is not a store of template {info.name}",
            "restore the file from git (it is managed by mlops update)",
        )
    from_tag = str(recorded["_commit"])
    if not store.ensure_version(info.name, from_tag, platform_repo=platform_repo):
        raise OnboardingError(
            f"template {info.name} {from_tag} (the version {repo.name} was rendered from) is not "
            f"in the template store {src} nor in the platform's git history",
            "render a fresh repo with `mlops onboard --force` and port your changes",
        )
    to_tag = store.snapshot(info)
    # questions added since the repo was rendered that the platform's config answers (accounts)
    missing = [
        k for k in PLATFORM_CONFIG_QUESTIONS if k not in recorded and info.question(k) is not None
    ]
    new_answers = {k: platform_answers(platform_repo)[k] for k in missing} if missing else {}
    try:
        with (
            git_identity_for_copier(),
            copier.Worker(
                dst_path=repo,
                src_path=store.url(info.name),
                vcs_ref=to_tag,
                data=new_answers,
                defaults=True,
                overwrite=True,
                unsafe=True,
                quiet=True,
                skip_answered=True,
                skip_tasks=True,
                conflict="inline",
            ) as worker,
        ):
            worker.run_update()
    except (ValueError, copier.errors.CopierError) as exc:
        raise OnboardingError(
            f"updating {repo.name} to {info.name} {to_tag} failed: {exc}",
            "check the repo's .copier-answers.yml against `mlops templates`",
        ) from exc
    status = git("status", "--porcelain", "--untracked-files=all", cwd=repo).splitlines()
    changed = sorted(line[3:].strip() for line in status)
    return UpdateResult(repo, info.name, from_tag, to_tag, changed, _conflicts(repo, changed))


@dataclass
class RepoUpdate:
    """One onboarded repo in `mlops update --all`: updated, conflicts, current, missing, failed."""

    usecase: str
    kind: str  # training | inference
    repo: Path
    status: str
    result: UpdateResult | None = None
    error: str = ""
    branch: str = "main"
    """The repo's default branch (the manifest's git.branch): pull requests go there."""
    pull_request: str = ""
    """With --open-prs: the pull request opened for this update."""


def _clone_for_dry_run(repo: Path, into: Path) -> Path:
    """A throw-away clone (with the repo's answers and history) to run the update in."""
    clone = into / repo.name
    git("clone", "--quiet", "--no-hardlinks", str(repo), str(clone), cwd=into)
    return clone


def update_all(
    repos_dir: Path,
    *,
    dry_run: bool = False,
    usecases_dir: Path | None = None,
    templates_root: Path | None = None,
    platform_repo: Path = REPO_ROOT,
    clone_from: GitProvider | None = None,
) -> list[RepoUpdate]:
    """Update every onboarded repo (manifests in usecases/; repos at `repos_dir/<repo name>` as
    the manifests' git settings name them) to its template's current version. With `dry_run` each
    update runs in a throw-away clone, so conflicts are found without touching any repo. With
    `clone_from`, a repo not checked out under `repos_dir` is cloned from that provider first
    (CI starts with none)."""
    from mlops.usecases import load_manifests

    out: list[RepoUpdate] = []
    for manifest in load_manifests(usecases_dir):
        for kind, name in (("training", manifest.git.training_repo),
                           ("inference", manifest.git.inference_repo)):  # fmt: skip
            repo = repos_dir / name
            branch = manifest.git.branch
            if clone_from is not None and not repo.exists():
                try:
                    repos_dir.mkdir(parents=True, exist_ok=True)
                    clone_from.clone(name, repo.resolve(), branch=branch)
                except OnboardingError as exc:
                    out.append(RepoUpdate(manifest.name, kind, repo, "missing",
                                          error=exc.message, branch=branch))  # fmt: skip
                    continue
            if not (repo / ANSWERS_FILE).is_file():
                out.append(RepoUpdate(manifest.name, kind, repo, "missing", branch=branch,
                                      error=f"no rendered repo at {repo}"))  # fmt: skip
                continue
            try:
                with tempfile.TemporaryDirectory(prefix="mlops-update-") as tmp:
                    target = _clone_for_dry_run(repo, Path(tmp)) if dry_run else repo
                    result = update(target, templates_root=templates_root,
                                    platform_repo=platform_repo)  # fmt: skip
                    result = UpdateResult(repo, result.template, result.from_tag, result.to_tag,
                                          result.changed, result.conflicts)  # fmt: skip
            except OnboardingError as exc:
                out.append(RepoUpdate(manifest.name, kind, repo, "failed", error=exc.message,
                                      branch=branch))  # fmt: skip
                continue
            status = ("conflicts" if result.conflicts else
                      "current" if result.up_to_date else "updated")  # fmt: skip
            out.append(RepoUpdate(manifest.name, kind, repo, status, result, branch=branch))
    return out
