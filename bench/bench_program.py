"""Platform program build time under Pulumi mocks for 1, 10 and 50 use cases.

Generates N copies of `usecases/remedy.yaml` (names uc001...) in a temp dir, points the loaders at
it with $MLOPS_USECASES_DIR and builds the dev stack (the governance account, where each use case
gets its registry, repositories and pipelines) with `mlops.program.build_stack`.

While the composition root does not load use cases yet, the N UseCase components are built next
to the real program in the same mocked run (stand-in platform inputs, as in the component tests);
the rows say which way was measured.
"""

from __future__ import annotations

import copy
import os
import runpy
import tempfile
from pathlib import Path
from typing import Any

import yaml

from bench.common import row, timed_cpu

STACK = "dev"


def write_manifests(directory: Path, count: int) -> list[str]:
    from mlops.usecases import USECASES_DIR

    base = yaml.safe_load((USECASES_DIR / "remedy.yaml").read_text())
    names = []
    for index in range(1, count + 1):
        data = copy.deepcopy(base)
        name = f"uc{index:03d}"
        data["name"] = name
        data["git"] = {**data["git"], "training_repo": f"{name}-training",
                       "inference_repo": f"{name}-inference"}  # fmt: skip
        (directory / f"{name}.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
        names.append(name)
    return names


def _usecase_components(cfg) -> None:
    """The N UseCase components with stand-in platform inputs (only until the root loads them)."""
    from mlops.components.usecase import UseCase, UseCaseArgs
    from mlops.tags import base_tags
    from mlops.usecases import load_manifests

    for m in load_manifests():
        UseCase(f"usecase-{m.name}", UseCaseArgs(
            manifest=m, config=cfg, tags=base_tags(cfg),
            kms_key_arn=f"arn:aws:kms:{cfg.region}:{cfg.account_id}:key/artifacts",
            model_execution_role_arn=f"arn:aws:iam::{cfg.account_id}:role/mlops-dev-model-exec",
            artifact_bucket=f"mlops-dev-model-artifacts-{cfg.account_id}-{cfg.region}",
            vpc_id="vpc-0a1b2c3d", subnet_ids=["subnet-0a", "subnet-0b"],
            security_group_ids=["sg-0build"], git_connection_arn=cfg.git.connection_arn,
            lead_data_scientist_role_name="mlops-dev-lead-data-scientist",
            data_scientist_role_name="mlops-dev-data-scientist",
        ))  # fmt: skip


def build(with_components: bool) -> int:
    """One build of the dev stack; returns the number of resources registered."""
    from mlops.config import flatten_for_mocks, load_stack_config, read_stack_file
    from mlops.program import PROGRAM, build_stack
    from mlops.testing.mocks import RecordingMocks, install, run

    if not with_components:
        return len(build_stack(STACK).resources)
    cfg = load_stack_config(STACK)
    mocks = RecordingMocks(account_id=cfg.account_id, region=cfg.region,
                           az_count=max(3, cfg.network.az_count))  # fmt: skip
    install(mocks, STACK, flatten_for_mocks(read_stack_file(STACK)))

    def program() -> None:
        runpy.run_path(str(PROGRAM), run_name="__main__")
        _usecase_components(cfg)

    run(program)
    return len(mocks.resources)


def measure(
    counts: tuple[int, ...], repeat: int
) -> tuple[dict[int, tuple[float, float, int]], str]:
    """{use cases: (wall s, CPU s, resources)} and a sentence saying what was built."""
    from mlops.usecases import USECASES_DIR_ENV

    previous = os.environ.get(USECASES_DIR_ENV)
    results: dict[int, tuple[float, float, int]] = {}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            dirs = {}
            for n in counts:
                dirs[n] = Path(tmp) / str(n)
                dirs[n].mkdir()
                write_manifests(dirs[n], n)
            # Does the program itself load the manifests? Compare the smallest and largest sets.
            sizes = {}
            for n in (counts[0], counts[-1]):
                os.environ[USECASES_DIR_ENV] = str(dirs[n])
                sizes[n] = build(with_components=False)  # also warms imports up
            loads_usecases = sizes[counts[-1]] > sizes[counts[0]]
            how = (
                "measured: the program, which loads $MLOPS_USECASES_DIR"
                if loads_usecases
                else "measured: program + N UseCase components (the root does not load use cases)"
            )
            os.environ[USECASES_DIR_ENV] = str(dirs[counts[0]])
            build(not loads_usecases)  # warm-up: imports of the components the runs will use
            for n in counts:
                os.environ[USECASES_DIR_ENV] = str(dirs[n])
                results[n] = timed_cpu(lambda: build(not loads_usecases), repeat)
    finally:
        if previous is None:
            os.environ.pop(USECASES_DIR_ENV, None)
        else:
            os.environ[USECASES_DIR_ENV] = previous
    return results, how


def run(quick: bool) -> list[dict[str, Any]]:
    counts = (1, 3) if quick else (1, 10, 50)
    results, how = measure(counts, repeat=1 if quick else 3)
    first, last = counts[0], counts[-1]
    t1, c1, r1 = results[first]
    rows = []
    for n in counts:
        t, c, r = results[n]
        rows.append(row(f"dev build, {n} use case(s), wall", f"vs {first} use case", t, "s",
                        None if n == first else t / t1, note=f"{r} resources; {how}"))  # fmt: skip
    for n in counts:
        t, c, r = results[n]
        rows.append(row(f"dev build, {n} use case(s), CPU", f"vs {first} use case", c, "s",
                        None if n == first else c / c1, note="robust to other load"))  # fmt: skip
    for n in counts:
        t, c, r = results[n]
        rows.append(row(f"resources, {n} use case(s)", f"vs {first}", r, "resources",
                        None if n == first else r / r1))  # fmt: skip
    for n in counts:
        t, c, r = results[n]
        rows.append(row(f"CPU per resource, {n} use case(s)", f"vs {first}", 1000 * c / r, "ms",
                        None if n == first else (c / r) / (c1 / r1)))  # fmt: skip
    tn, cn, rn = results[last]
    per_uc_resources = (rn - r1) / (last - first)
    rows.append(row("marginal CPU per use case", f"slope {first} -> {last}",
                    1000 * (cn - c1) / (last - first), "ms", None,
                    note=f"{per_uc_resources:.0f} resources per use case"))  # fmt: skip
    rows.append(row("marginal wall per use case", f"slope {first} -> {last}",
                    1000 * (tn - t1) / (last - first), "ms", None))  # fmt: skip
    rows.append(row(f"linearity {first} -> {last}, CPU",
                    "CPU ratio / resource ratio (1.0 = linear in resources)",
                    (cn / c1) / (rn / r1), "x", None))  # fmt: skip
    return rows
