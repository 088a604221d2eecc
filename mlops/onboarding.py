"""Onboarding: render a use case's two repos from a template, and update them later.

How versions work (copier's `update` needs a git-versioned template):

* A *template store* keeps one git repo per template (``$MLOPS_TEMPLATE_STORE`` or
  ``~/.cache/mlops-platform/template-store/<name>``). Before every render the template folder is
  *snapshotted* into it: a root commit whose tree is exactly the folder, tagged ``v<version>``
  (the version declared in copier.yml). Root commits keep every tag's history to itself, so copier
  reads each version exactly. A folder that changed without a version bump gets
  ``v<version>+dev.<n>`` and a warning.
* Rendered repos record ``_src_path`` (the store, as ``~/...`` when under the home directory, so it
  is the same path on every machine), ``_commit`` (the tag), ``_template``/``_template_version``
  and every answer in ``.copier-answers.yml``.
* ``update`` snapshots the current folder (version N+1) and runs ``copier update``; copier renders
  version N from the store, diffs it against the repo and applies N→N+1 keeping local edits. When
  the store lacks version N (a new machine, CI), it is restored from the platform repo's git
  history (the commit whose copier.yml declares N).

Onboarding renders into a staging folder inside ``--out`` and moves the results into place only
when everything (render, git init + first commit, manifest) succeeded: a failure leaves nothing.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml

from mlops.config import REPO_ROOT
from mlops.errors import MlopsError
from mlops.templates import (
    PLATFORM_CONFIG_QUESTIONS,
    AnswersError,
    TemplateInfo,
    get_template,
    platform_answers,
    validate_answers,
)

ANSWERS_FILE = ".copier-answers.yml"
REPO_KINDS = ("training", "inference")
_SKIP_DIRS = {"__pycache__", ".pytest_cache", ".ruff_cache", ".mypy_cache", ".git"}
_SKIP_SUFFIXES = (".pyc", ".pyo")
# Commits made by the platform itself work with no git identity configured (CI).
PLATFORM_AUTHOR = ("mlops-platform", "mlops-platform@users.noreply.github.com")


class OnboardingError(MlopsError):
    """Onboarding or updating a use case failed."""


class UpdateConflictError(OnboardingError):
    """`mlops update` left conflict markers to resolve."""


# --- git ----------------------------------------------------------------------------------------
def _identity_env(author: tuple[str, str] = PLATFORM_AUTHOR) -> dict[str, str]:
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
    full_env = {**os.environ, **_identity_env(author), **(env or {})}
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
def _git_identity_for_copier() -> Iterator[None]:
    """copier commits in temporary repos during update; give it an identity if none is set."""
    added = {k: v for k, v in _identity_env().items() if k not in os.environ}
    os.environ.update(added)
    try:
        yield
    finally:
        for key in added:
            os.environ.pop(key, None)


# --- template store -----------------------------------------------------------------------------
def template_files(path: Path) -> list[Path]:
    """The files of a template folder (relative), without caches."""
    files = []
    for root, dirs, names in os.walk(path):
        dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS)
        for n in sorted(names):
            if not n.endswith(_SKIP_SUFFIXES):
                files.append((Path(root) / n).relative_to(path))
    return files


def content_hash(path: Path) -> str:
    digest = hashlib.sha256()
    for rel in template_files(path):
        full = path / rel
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
                conf = yaml.safe_load(git("show", f"{commit}:{rel}/copier.yml", cwd=platform_repo))
            except (OnboardingError, yaml.YAMLError):
                continue
            declared = (conf or {}).get("template_version", {})
            if isinstance(declared, dict) and str(declared.get("default")) == version:
                with tempfile.TemporaryDirectory() as tmp, self._locked(name) as repo:
                    archive = Path(tmp) / "t.tar"
                    git("archive", "-o", str(archive), commit, rel, cwd=platform_repo)
                    shutil.unpack_archive(archive, tmp)
                    source = Path(tmp) / rel
                    subject = f"{name} {version} content {content_hash(source)}"
                    self._commit_tree(repo, source, tag, subject)
                return True
        return False


# --- rendering ----------------------------------------------------------------------------------
# One Jinja environment per exported template version, shared by every render in this process.
_JINJA_ENVS: dict[str, Any] = {}


def _shared_env(worker: Any) -> Any:
    """copier builds a fresh Jinja environment per render and compiles every path, default and
    file again; a version's export never changes, so one environment (with a compile cache for
    `from_string`) serves all its renders. The environment holds nothing render-specific: the
    loader (the export folder), extensions, filters and globals only."""
    import copier

    key = str(worker.template.local_abspath)
    env = _JINJA_ENVS.get(key)
    if env is None:
        env = copier.Worker.jinja_env.func(worker)
        compiled: dict[str, Any] = {}
        plain = env.from_string

        def from_string(source: Any, globals: Any = None, template_class: Any = None) -> Any:
            if globals is not None or template_class is not None or not isinstance(source, str):
                return plain(source, globals, template_class)
            if source not in compiled:
                compiled[source] = plain(source)
            return compiled[source]

        env.from_string = from_string
        _JINJA_ENVS[key] = env
    return env


def _worker_class() -> type:
    import copier

    class FreshWorker(copier.Worker):
        """copier's Worker for a brand-new, untracked destination, rendering from an export.

        * copier asks git about every rendered file to keep executable bits in a destination's
          git index (one `git config` process per file). Our destinations are fresh staging
          folders whose files are untracked, where that step is a no-op by copier's own
          definition, so it is skipped.
        * the Jinja environment is shared per exported version (`_shared_env`).
        Together they make a render ~3x faster. Updates use the stock Worker.
        """

        @cached_property
        def jinja_env(self) -> Any:
            return _shared_env(self)

        def _sync_git_index_executable_bit(self, *args: Any, **kwargs: Any) -> None:
            return None

    return FreshWorker


def render_repo(
    checkout: Path,
    origin: tuple[str, str],
    dst: Path,
    answers: dict[str, Any],
    kind: str,
) -> None:
    """Render one repo (`kind` is training or inference) from `checkout` into `dst`.

    `checkout` is an export of the store's tagged snapshot (`TemplateStore.checkout`), so one export
    serves both repos; `origin` = (store url, tag) is then recorded as `_src_path` / `_commit`,
    exactly what copier records when it clones the tag itself, so `copier update` works as usual.
    """
    import copier

    try:
        with _worker_class()(
            src_path=str(checkout),
            dst_path=dst,
            data={**answers, "repo_kind": kind},
            defaults=True,
            overwrite=True,
            unsafe=True,
            quiet=True,
            skip_tasks=True,
        ) as worker:
            worker.run_copy()
    except (ValueError, copier.errors.CopierError) as exc:
        raise OnboardingError(
            f"rendering {dst.name} ({kind}) failed: {exc}",
            "check the answers with `mlops templates`; if they are right, the template is broken",
        ) from exc
    _record_origin(dst / ANSWERS_FILE, checkout, *origin)


def _record_origin(answers_file: Path, checkout: Path, url: str, tag: str) -> None:
    if not answers_file.is_file():
        raise OnboardingError(
            f"the template wrote no {ANSWERS_FILE}",
            "add `{{_copier_conf.answers_file}}.jinja` to the template's training/ and inference/ "
            "(see templates/README.md)",
        )
    lines = answers_file.read_text().splitlines(keepends=True)
    found = [
        i
        for i, line in enumerate(lines)
        if line.startswith("_src_path:")
        and (yaml.safe_load(line) or {}).get("_src_path") == str(checkout)
    ]
    if len(found) != 1:
        raise OnboardingError(
            f"{answers_file} does not record _src_path as copier writes it",
            "render the answers file with `_copier_answers | to_nice_yaml` (templates/README.md)",
        )
    i = found[0]
    lines[i : i + 1] = [
        yaml.safe_dump({"_commit": tag}, default_flow_style=False),
        yaml.safe_dump({"_src_path": url}, default_flow_style=False, width=10_000),
    ]
    answers_file.write_text("".join(lines))


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


def load_answers_file(path: Path | None) -> dict[str, Any]:
    if path is None:
        return {}
    try:
        data = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise AnswersError(f"answers file {path} not found", "pass an existing YAML file") from None
    except yaml.YAMLError as exc:
        raise AnswersError(
            f"answers file {path} is not valid YAML: {exc}", "fix the YAML syntax"
        ) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise AnswersError(
            f"answers file {path} must be a mapping of question: answer",
            "write it like `eval_threshold: 0.8` (one answer per line)",
        )
    return data


# --- manifest -----------------------------------------------------------------------------------
def _studio_user(email: str) -> str:
    local = email.split("@", 1)[0].lower()
    user = "".join(c if c.isalnum() else "-" for c in local).strip("-")
    return user[:63] or "owner"


def build_manifest(
    info: TemplateInfo, answers: dict[str, Any], overrides: dict[str, Any]
) -> dict[str, Any]:
    """The `usecases/<name>.yaml` document for these answers (validated by mlops.usecases)."""
    name = answers["usecase_name"]
    serverless = {"mode": "serverless", "memory_mb": 2048, "max_concurrency": 5}
    data: dict[str, Any] = {
        "name": name,
        "description": answers.get("description", ""),
        "template": info.name,
        "template_version": info.version,
        "owners": {"lead_data_scientist": _studio_user(answers["owner_email"]), "members": []},
        "git": {
            "provider": "github",
            "training_repo": f"{name}-training",
            "inference_repo": f"{name}-inference",
            "branch": "main",
        },
        "evaluation": {
            "metric": answers["eval_metric"],
            "threshold": answers["eval_threshold"],
            "direction": answers.get(
                "eval_direction", info.gate_metrics.get(answers["eval_metric"], "maximize")
            ),
        },
        "tuning": {
            "max_jobs": answers["tuning_max_jobs"],
            "max_parallel": answers["tuning_max_parallel"],
        },
        "data_classification": "confidential",
        "stacks": {
            "dev": {"endpoint": serverless},
            "staging": {"endpoint": serverless},
            "prod": {
                "endpoint": {
                    "mode": "realtime",
                    "instance_type": "ml.m5.large",
                    "min_instances": 2,
                    "max_instances": 4,
                }
            },
        },
    }
    if "training_instance_type" in answers:
        for stack in data["stacks"].values():
            stack["training_instance_type"] = answers["training_instance_type"]
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key] = {**data[key], **value}
        else:
            data[key] = value
    return data


def _manifest_text(data: dict[str, Any], source: str, info: TemplateInfo) -> str:
    from mlops.usecases import dump_manifest, parse_manifest

    manifest = parse_manifest(data, source)
    manifest.check_against_template(info.gate_metrics, source)
    return dump_manifest(manifest)


# --- onboard ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class OnboardResult:
    name: str
    template: TemplateInfo
    tag: str
    repos: dict[str, Path]
    manifest: Path
    answers: dict[str, Any]

    def next_steps(self) -> list[str]:
        t, i = self.repos["training"], self.repos["inference"]
        return [
            f"cd {t} && python -m pytest   # the training repo's own tests; same in {i.name}",
            f"create the remote repos {t.name} and {i.name}, then in each: "
            "git remote add origin <url> && git push -u origin main",
            f"open a pull request on the platform repo adding {self.manifest.name} "
            f"(usecases/{self.manifest.name})",
            f"after merge, `pulumi up` creates for {self.name} in each stack: its model package "
            "group, pipeline and endpoint roles, S3 prefixes and KMS grants, CI/CD for both repos "
            "and the endpoint behind API Gateway (see `mlops preview`)",
        ]


def default_owner_email() -> str | None:
    """The owner when the answers name none: $MLOPS_OWNER_EMAIL, else git's user.email."""
    if email := os.environ.get("MLOPS_OWNER_EMAIL"):
        return email
    exe = shutil.which("git")
    if exe is None:
        return None
    proc = subprocess.run(  # noqa: S603 - fixed executable and arguments
        [exe, "config", "user.email"], capture_output=True, text=True, check=False
    )
    return proc.stdout.strip() or None


def _check_name(name: str) -> None:
    from mlops.usecases import NAME_MAX, is_valid_name

    if not is_valid_name(name):
        raise AnswersError(
            f"invalid use-case name {name!r}",
            f"use lower-case letters, digits and single hyphens, starting with a letter, at most "
            f"{NAME_MAX} characters (e.g. claims-demo)",
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
) -> OnboardResult:
    """Validate, render both repos, `git init` them, write the manifest; all or nothing."""
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
    manifest_text = _manifest_text(
        build_manifest(info, full, overrides), f"usecases/{name}.yaml", info
    )

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
            _first_commit(staging / kind, info, tag, author)
        staged_manifest.write_text(manifest_text)
        _install(staging, targets, staged_manifest, manifest_path)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        staged_manifest.unlink(missing_ok=True)
    return OnboardResult(name, info, tag, targets, manifest_path, full)


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


# --- update -------------------------------------------------------------------------------------
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
            _git_identity_for_copier(),
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
) -> list[RepoUpdate]:
    """Update every onboarded repo (manifests in usecases/; repos at `repos_dir/<repo name>` as
    the manifests' git settings name them) to its template's current version. With `dry_run` each
    update runs in a throw-away clone, so conflicts are found without touching any repo."""
    from mlops.usecases import load_manifests

    out: list[RepoUpdate] = []
    for manifest in load_manifests(usecases_dir):
        for kind, name in (("training", manifest.git.training_repo),
                           ("inference", manifest.git.inference_repo)):  # fmt: skip
            repo = repos_dir / name
            if not (repo / ANSWERS_FILE).is_file():
                out.append(RepoUpdate(manifest.name, kind, repo, "missing",
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
                out.append(RepoUpdate(manifest.name, kind, repo, "failed", error=exc.message))
                continue
            status = ("conflicts" if result.conflicts else
                      "current" if result.up_to_date else "updated")  # fmt: skip
            out.append(RepoUpdate(manifest.name, kind, repo, status, result))
    return out


def update_all_command(repos_dir: Path, dry_run: bool) -> list[RepoUpdate]:
    from rich.table import Table

    from mlops import console

    with console.status(f"updating every onboarded repo under {repos_dir}"
                        + (" (dry run, in clones)" if dry_run else "")):  # fmt: skip
        results = update_all(repos_dir, dry_run=dry_run)
    table = Table(title="mlops update --all" + (" --dry-run" if dry_run else ""))
    for col in ("use case", "repo", "status", "version", "files", "conflicts"):
        table.add_column(col)
    for r in results:
        res = r.result
        conflicts = "" if res is None else "; ".join(
            f"{path}: " + (f"lines {', '.join(map(str, marks))}" if marks else "rejected")
            for path, marks in sorted(res.conflicts.items())
        )  # fmt: skip
        table.add_row(
            r.usecase, f"{r.repo.name} ({r.kind})",
            r.status if dry_run or r.status != "updated" else "updated (review, commit)",
            "" if res is None else f"{res.from_tag} -> {res.to_tag}",
            "" if res is None else str(len(res.changed)),
            conflicts or r.error,
        )  # fmt: skip
    console.out.print(table)
    if dry_run:
        console.info("dry run: no repo was changed (each update ran in a throw-away clone)")
    failed = [r for r in results if r.status in ("missing", "failed")]
    if failed or (not dry_run and any(r.status == "conflicts" for r in results)):
        raise OnboardingError(
            f"{len(failed)} repo(s) could not be updated"
            + (", and some updates left conflict markers" if not dry_run else ""),
            "pass --repos-dir where the repos are checked out; resolve conflicts, then commit",
        )
    return results


__all__ = [
    "ANSWERS_FILE",
    "OnboardResult",
    "OnboardingError",
    "RepoUpdate",
    "TemplateStore",
    "UpdateConflictError",
    "UpdateResult",
    "build_manifest",
    "load_answers_file",
    "onboard",
    "onboard_command",
    "render_repo",
    "update",
    "update_all",
    "update_all_command",
    "update_command",
]


# --- CLI glue (mlops/cli.py stays thin) -----------------------------------------------------------
def onboard_command(
    name: str,
    template: str,
    answers_file: Path | None,
    out: Path,
    usecases_dir: Path | None,
    force: bool,
) -> OnboardResult:
    from mlops import console

    answers = load_answers_file(answers_file)
    with console.status(f"rendering {name} from template {template}"):
        result = onboard(
            name, template, answers=answers, out=out, usecases_dir=usecases_dir, force=force
        )
    console.success(
        f"onboarded {name} from template {result.template.name} {result.tag.removeprefix('v')}"
    )
    lines = [
        f"  training repo:  {result.repos['training']}",
        f"  inference repo: {result.repos['inference']}",
        f"  manifest:       {result.manifest}",
        "next steps:",
        *(f"  {n}. {step}" for n, step in enumerate(result.next_steps(), 1)),
    ]
    for line in lines:  # soft wrap: paths and commands stay on one line when piped
        console.out.print(line, markup=False, soft_wrap=True)
    return result


def update_command(repo: Path) -> UpdateResult:
    from mlops import console

    with console.status(f"updating {repo}"):
        result = update(repo)
    if result.conflicts:
        lines = [
            f"{path}: " + (f"markers at line {', '.join(map(str, marks))}" if marks else "rejected")
            for path, marks in sorted(result.conflicts.items())
        ]
        raise UpdateConflictError(
            f"updated {result.repo.name} {result.from_tag} -> {result.to_tag} with conflicts in "
            f"{len(lines)} file(s):\n  " + "\n  ".join(lines),
            "in each file choose between the two sides of every <<<<<<< before updating / ======= "
            "/ >>>>>>> after updating block, delete the markers, run the tests, then commit",
        )
    if result.up_to_date:
        console.success(f"{result.repo.name} is already at {result.template} {result.to_tag}")
        return result
    console.success(
        f"updated {result.repo.name} from {result.template} {result.from_tag} to {result.to_tag}"
    )
    for path in result.changed:
        console.info(f"  changed: {path}")
    console.info("review with `git diff`, run the tests, then commit")
    return result
