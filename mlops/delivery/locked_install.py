"""Hash-pinned installs for the use-case builds: each build installs exactly its repo's `uv.lock`,
every distribution checked against the SHA-256 the lock recorded, from the platform's CodeArtifact
repository (the index the build's login exported), never a version range resolved at build time.

- uv itself is the first install: `pip --require-hashes` against the digests of its manylinux
  wheels (`UV_WHEEL_SHA256`, for `toolchain.UV_VERSION`), so a substituted uv cannot run.
- `uv export --locked` turns the lock into a requirements file in which every line carries its
  hashes (`--locked` also fails when the lock no longer matches pyproject.toml), and
  `uv pip install --require-hashes --no-deps` installs it into the repo's `.venv`: a line without a
  hash, a different file or an unlisted dependency stops the build.
- The repo's own code is not built or installed (the rendered projects are not packages): it runs
  from `src/` (`PYTHONPATH`), and its console scripts are called through `project_script`.
- `mlops-platform` is one of the locked dependencies, so the builds run the platform library at the
  version and hash the repo locked, like every other package.
"""

from __future__ import annotations

from mlops.delivery.toolchain import UV_VERSION

#: SHA-256 of the uv wheels CodeBuild can run (amd64 and arm64 Linux), as the index lists them
UV_WHEEL_SHA256 = {
    "manylinux_2_17_x86_64": "d7f459fe4fd247d830351c75686d3996ace3c6f3f728eb0e85a30b7ada0cef19",
    "manylinux_2_17_aarch64": "5435c5ce14a56431208ca0996416d310f1598e8c2c8ba707688985a16bb82dbe",
}
UV_REQUIREMENTS = "/tmp/uv-requirements.txt"  # noqa: S108  (build container, one build)
REQUIREMENTS = "/tmp/requirements.txt"  # noqa: S108
NO_LOCK = (
    "uv.lock is missing: every build installs exactly the repo's lock file, hash-checked."
    " Run 'uv lock' (index: the platform's CodeArtifact repository) and commit uv.lock"
)


def uv_requirement() -> str:
    hashes = " ".join(f"--hash=sha256:{digest}" for digest in UV_WHEEL_SHA256.values())
    return f"uv=={UV_VERSION} {hashes}"


def uv_bootstrap() -> list[str]:
    """Install uv by hash with the build image's pip (from the index the login exported)."""
    return [
        f"printf '%s\\n' '{uv_requirement()}' > {UV_REQUIREMENTS}",
        "python -m pip install --quiet --disable-pip-version-check --require-hashes --no-deps"
        f" -r {UV_REQUIREMENTS}",
    ]


#: which dependency groups of the lock a build installs (`uv export` options)
TEST_GROUPS = ""  # the project's default groups: dev (pytest, ruff)
RUNTIME_GROUPS = " --no-dev"
ONLY_PROJECT = " --no-default-groups"  # the platform repo: its runtime dependencies only


def locked_install(groups: str = RUNTIME_GROUPS, code: str = "$PWD/src") -> list[str]:
    """Buildspec lines: uv by hash, then exactly the repo's uv.lock (`groups`) into `.venv`,
    activated for the rest of the build (buildspec 0.2 keeps one shell), with the repo's code
    (`code`) on the path. `MLOPS_LOCKED_REQUIREMENTS` names the hashed requirements file, from
    which the Lambda layer builder takes its wheels' hashes."""
    return [
        *uv_bootstrap(),
        f'test -f uv.lock || {{ echo "{NO_LOCK}" >&2; exit 1; }}',
        "uv export --locked --no-emit-project --format requirements-txt --quiet"
        f"{groups} -o {REQUIREMENTS}",
        'uv venv --quiet --python "$(command -v python)" .venv',
        f"uv pip install --quiet --python .venv --require-hashes --no-deps -r {REQUIREMENTS}",
        ". .venv/bin/activate",
        f'export PYTHONPATH="{code}${{PYTHONPATH:+:$PYTHONPATH}}"',
        f"export MLOPS_LOCKED_REQUIREMENTS={REQUIREMENTS}",
    ]


def image_requirements(context: str) -> str:
    """The command that writes an image's hash-pinned requirements (`image` dependency group of the
    repo's lock) into its build context, where the Dockerfile installs them `--require-hashes`."""
    return (
        f'(cd "{context}" && uv export --locked --no-emit-project --only-group image'
        " --format requirements-txt --quiet -o image-requirements.txt)"
    )
