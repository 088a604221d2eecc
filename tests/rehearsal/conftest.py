"""The estate of the rehearsal, built once per test process (bootstrap, platform and inference
programs for dev, staging and prod, ~30 s), and helpers to rehearse a changed copy of it."""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable

import pytest

from mlops.rehearsal.estate import Estate, build_estate
from mlops.rehearsal.programs import EstateRuns, build_estate_runs
from mlops.rehearsal.runner import Runner
from mlops.testing.mocks import RecordedResource

_cache: dict[str, EstateRuns] = {}


def estate_runs() -> EstateRuns:
    if "runs" not in _cache:
        _cache["runs"] = build_estate_runs("remedy")
    return _cache["runs"]


@pytest.fixture(scope="session")
def rehearsal_runs() -> EstateRuns:
    return estate_runs()


@pytest.fixture(scope="session")
def estate(rehearsal_runs: EstateRuns) -> Estate:
    return build_estate(rehearsal_runs)


@pytest.fixture
def runner(estate: Estate) -> Runner:
    return Runner(estate)


def mutated(
    runs: EstateRuns,
    program: str,
    resource: str | tuple[str, ...],
    change: Callable[[RecordedResource], None],
) -> tuple[Estate, RecordedResource]:
    """A copy of the estate in which `change` was applied to one recorded resource (named by its
    Pulumi name; a tuple names several, the last one is returned) of `program`: how the
    regression tests reintroduce a known failure."""
    names = (resource,) if isinstance(resource, str) else resource
    new_runs = copy.copy(runs)
    new_runs.runs = dict(runs.runs)
    run = copy.copy(runs.runs[program])
    target = None
    resources = []
    for r in run.resources:
        if r.name in names:
            r = dataclasses.replace(r, inputs=copy.deepcopy(r.inputs), state=copy.deepcopy(r.state))
            before = copy.deepcopy(r.inputs)
            change(r)
            _sync_state(r, before)
            target = r
        resources.append(r)
    if target is None:
        raise KeyError(f"{program} has no resource named {resource}")
    run.resources = resources
    new_runs.runs[program] = run
    return build_estate(new_runs), target


def _sync_state(r: RecordedResource, before: dict) -> None:
    """Outputs echo inputs (the provider returns what it was given): a changed input changes the
    output too, unless the change set the output itself."""
    for key in set(before) | set(r.inputs):
        if r.state.get(key) != before.get(key):
            continue
        if key in r.inputs:
            r.state[key] = copy.deepcopy(r.inputs[key])
        else:
            r.state.pop(key, None)
