"""The template store: one git repo per template, each version a tagged root commit.

copier's `update` needs a git-versioned template. The store (``$MLOPS_TEMPLATE_STORE`` or
``~/.cache/mlops-platform/template-store/<name>``) keeps one git repo per template. Before every
render the template folder is *snapshotted* into it: a root commit whose tree is exactly the
folder, tagged ``v<version>`` (the version declared in copier.yml). Root commits keep every tag's
history to itself, so copier reads each version exactly. A folder that changed without a version
bump gets ``v<version>+dev.<n>``. When the store lacks a version (a new machine, CI), it is
restored from the platform repo's git history (the commit whose copier.yml declares it).

copier includes only files inside a template, so every snapshot also holds the platform's shared
settings and questions (``templates/platform-questions.yml``, `PLATFORM_FILE`) next to its
copier.yml, which includes it; its content is part of the snapshot's content hash.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from mlops.config import REPO_ROOT
from mlops.onboarding.errors import OnboardingError
from mlops.onboarding.templates import PLATFORM_FILE, TemplateInfo, copier_documents
from mlops.onboarding.vcs import git

_SKIP_DIRS = {"__pycache__", ".pytest_cache", ".ruff_cache", ".mypy_cache", ".git"}
_SKIP_SUFFIXES = (".pyc", ".pyo")


def template_files(path: Path) -> list[Path]:
    """The files of a template folder (relative), without caches."""
    files = []
    for root, dirs, names in os.walk(path):
        dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS)
        for n in sorted(names):
            if not n.endswith(_SKIP_SUFFIXES):
                files.append((Path(root) / n).relative_to(path))
    return files


def platform_file(path: Path) -> Path | None:
    """The shared `PLATFORM_FILE` a snapshot of template folder `path` adds (from the folder
    holding the templates), None when the template has its own or there is none."""
    shared = path.parent / PLATFORM_FILE
    return shared if shared.is_file() and not (path / PLATFORM_FILE).exists() else None


def snapshot_files(path: Path) -> list[tuple[Path, Path]]:
    """(path in the snapshot, file on disk) of template folder `path`'s snapshot."""
    files = [(rel, path / rel) for rel in template_files(path)]
    shared = platform_file(path)
    return sorted([*files, (Path(PLATFORM_FILE), shared)] if shared else files)


def content_hash(path: Path) -> str:
    digest = hashlib.sha256()
    for rel, full in snapshot_files(path):
        digest.update(f"{rel.as_posix()}\0{os.access(full, os.X_OK)}\0".encode())
        digest.update(full.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()[:16]


def default_store_root() -> str:
    """The store root as copier should record it (``~/...`` under the home directory)."""
    if env := os.environ.get("MLOPS_TEMPLATE_STORE"):
        return env
    cache = os.environ.get("XDG_CACHE_HOME")
    if cache:
        return str(Path(cache) / "mlops-platform" / "template-store")
    return "~/.cache/mlops-platform/template-store"


@dataclass(frozen=True)
class TemplateStore:
    """One git repo per template; each version a tagged root commit (see module docstring)."""

    root: str = field(default_factory=default_store_root)

    def url(self, name: str) -> str:
        return f"{self.root.rstrip('/')}/{name}"

    def repo(self, name: str) -> Path:
        return Path(self.url(name)).expanduser()

    @contextlib.contextmanager
    def _locked(self, name: str) -> Iterator[Path]:
        repo = self.repo(name)
        repo.mkdir(parents=True, exist_ok=True)
        with open(repo.parent / f".{name}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not (repo / ".git").is_dir():
                git("init", "-q", "-b", "main", cwd=repo)
            yield repo

    def tags(self, name: str) -> dict[str, str]:
        """tag -> commit subject."""
        repo = self.repo(name)
        if not (repo / ".git").is_dir():
            return {}
        out = git("for-each-ref", "refs/tags", "--format=%(refname:short)\t%(subject)", cwd=repo)
        return dict(line.split("\t", 1) for line in out.splitlines() if "\t" in line)

    def _commit_tree(self, repo: Path, source: Path, tag: str, subject: str) -> None:
        files = "\n".join(p.as_posix() for p in template_files(source))
        with tempfile.TemporaryDirectory() as tmp:
            env = {"GIT_INDEX_FILE": str(Path(tmp) / "index"), "GIT_WORK_TREE": str(source)}
            git("add", "-f", "--pathspec-from-file=-", cwd=repo, env=env, stdin=files)
            if shared := platform_file(source):
                blob = git("hash-object", "-w", str(shared), cwd=repo).strip()
                entry = f"100644,{blob},{PLATFORM_FILE}"
                git("update-index", "--add", "--cacheinfo", entry, cwd=repo, env=env)
            tree = git("write-tree", cwd=repo, env=env).strip()
        commit = git("commit-tree", tree, "-m", subject, cwd=repo).strip()
        git("tag", tag, commit, cwd=repo)
        git("update-ref", "refs/heads/main", commit, cwd=repo)

    def snapshot(self, info: TemplateInfo) -> str:
        """Make sure the folder as it is now is a tagged version in the store; return the tag."""
        digest = content_hash(info.path)
        subject = f"{info.name} {info.version} content {digest}"
        with self._locked(info.name) as repo:
            tags = self.tags(info.name)
            for tag, subj in tags.items():
                if subj == subject:
                    return tag
            tag = f"v{info.version}"
            if tag in tags:  # same version, different content: a development snapshot
                n = 1 + sum(1 for t in tags if t.startswith(f"{tag}+dev."))
                tag = f"{tag}+dev.{n}"
            self._commit_tree(repo, info.path, tag, subject)
            return tag

    def checkout(self, name: str, tag: str) -> Path:
        """The files of version `tag` as a plain folder (exported once per tag, then reused).

        Tags are immutable in the store, so the export is too; it is written to a temporary name
        and renamed into place, so a half-written export is never used.
        """
        exports = self.repo(name).parent / f".{name}-exports"
        dst = exports / tag
        if dst.is_dir():
            return dst
        exports.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".export-", dir=exports))
        try:
            archive = tmp / "t.tar"
            git("archive", "-o", str(archive), tag, cwd=self.repo(name))
            shutil.unpack_archive(archive, tmp / "files", format="tar")
            try:
                os.replace(tmp / "files", dst)
            except OSError:
                if not dst.is_dir():  # another process won the race: use its export
                    raise
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return dst

    def ensure_version(self, name: str, tag: str, platform_repo: Path = REPO_ROOT) -> bool:
        """Restore `tag` (``vX.Y.Z``) from the platform repo's history if the store lacks it."""
        if tag in self.tags(name):
            return True
        version = tag.removeprefix("v").split("+", 1)[0]
        rel = f"templates/{name}"
        try:
            log = git("log", "--format=%H", "--", f"{rel}/copier.yml", cwd=platform_repo)
        except OnboardingError:
            return False
        for commit in log.split():
            try:
                text = git("show", f"{commit}:{rel}/copier.yml", cwd=platform_repo)
                conf = copier_documents(text, include=lambda _pattern: [])
            except (OnboardingError, yaml.YAMLError):
                continue
            declared = (conf or {}).get("template_version", {})
            if isinstance(declared, dict) and str(declared.get("default")) == version:
                with tempfile.TemporaryDirectory() as tmp, self._locked(name) as repo:
                    archive = Path(tmp) / "t.tar"
                    paths = [rel]
                    with contextlib.suppress(OnboardingError):  # older commits lack the file
                        shared = f"templates/{PLATFORM_FILE}"
                        git("cat-file", "-e", f"{commit}:{shared}", cwd=platform_repo)
                        paths.append(shared)
                    git("archive", "-o", str(archive), commit, *paths, cwd=platform_repo)
                    shutil.unpack_archive(archive, tmp)
                    source = Path(tmp) / rel
                    subject = f"{name} {version} content {content_hash(source)}"
                    self._commit_tree(repo, source, tag, subject)
                return True
        return False
