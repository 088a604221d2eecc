"""Run the real Pulumi program (platform/__main__.py) offline under recording mocks.

StackReferences resolve the way the engine would resolve them in the state-backend layout of
``mlops.backends`` (docs/deploy.md, ``bootstrap/``): a reference can only read stacks in the
referencing program's backend.
The referenced stack's outputs are what its own program exports under the same mocks.
"""

from __future__ import annotations

import runpy
from pathlib import Path
from typing import Any

from mlops.backends import platform_backend_url, platform_stack_fqn
from mlops.config import (
    REPO_ROOT,
    flatten_for_mocks,
    load_stack_config,
    read_stack_file,
)
from mlops.testing.mocks import RecordingMocks, install, run
from mlops.usecases import usecases_dir

PROGRAM = REPO_ROOT / "platform" / "__main__.py"

_exports: dict[tuple[str, Path, Path], dict[str, Any]] = {}
"""(stack, repository root, use-case manifests folder) -> the exports: the exports depend on the
manifests too (`MLOPS_USECASES_DIR`, e.g. the quota checks' generated use cases)."""


def referenced_stacks(stack: str, root: Path = REPO_ROOT) -> list[str]:
    """Platform stacks whose outputs this stack's program may read: its governance stack, for
    every staging or prod stack (they read dev's registry, artifacts and roles)."""
    governance = load_stack_config(stack, root).governance
    return [governance] if governance else []


def stack_exports(stack: str, root: Path = REPO_ROOT) -> dict[str, Any]:
    """What the stack's program exports under the mocks (cached per process)."""
    key = (stack, root, usecases_dir())
    if key not in _exports:
        build_stack(stack, root)
    return _exports[key]


def build_stack(
    stack: str, root: Path = REPO_ROOT, *, strict_references: bool = False
) -> RecordingMocks:
    """Validate the stack file, then run the program for it; returns what it registered.

    Stacks it references are built first (their exports are what the reference reads). Lenient by
    default: a reference the real engine could not resolve is kept in ``reference_failures`` and
    the build goes on; ``strict_references=True`` raises as the engine would.
    """
    cfg = load_stack_config(stack, root)
    backends: dict[str, dict[str, dict[str, Any]]] = {}
    for other in referenced_stacks(stack, root):
        other_cfg = load_stack_config(other, root)
        backends.setdefault(platform_backend_url(other_cfg), {})[platform_stack_fqn(other)] = (
            stack_exports(other, root)
        )
    mocks = RecordingMocks(
        account_id=cfg.account_id,
        region=cfg.region,
        az_count=max(3, cfg.network.az_count),
        backend_url=platform_backend_url(cfg),
        backends=backends,
        strict_references=strict_references,
    )
    install(mocks, stack, flatten_for_mocks(read_stack_file(stack, root)))
    program = root / "platform" / "__main__.py"
    run(lambda: runpy.run_path(str(program), run_name="__main__"))
    _exports[(stack, root, usecases_dir())] = dict(mocks.stack_exports)
    return mocks


__all__ = ["PROGRAM", "build_stack", "platform_backend_url", "referenced_stacks", "stack_exports"]
