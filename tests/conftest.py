"""Shared Pulumi mock harness.

- `stack_config`: parametrized over dev, staging and prod, loaded from each Pulumi.<stack>.yaml.
- `pulumi_mocks`: engine-faithful recording mocks installed for that stack (preview=False; state in
  the stack's own backend, StackReferences strict); build components inside `run(...)` (waits for
  every registration and `.apply`); assert on `pulumi_mocks.resources` (`physical_name` is the
  name AWS gets, auto-named where the program gave none). On teardown it fails the test if two
  resources share (type, name): the engine rejects them.
- `program`: the whole platform program built for the stack (cached per stack for the session);
  its StackReferences are lenient: `program.reference_failures` lists what the engine would refuse.
"""

from __future__ import annotations

import pytest

from mlops.backends import platform_backend_url
from mlops.config import (
    ENVIRONMENTS,
    StackConfig,
    flatten_for_mocks,
    load_stack_config,
    read_stack_file,
)
from mlops.program import build_stack
from mlops.testing.mocks import RecordingMocks, install, run

__all__ = ["run"]


@pytest.fixture(params=ENVIRONMENTS)
def stack_config(request: pytest.FixtureRequest) -> StackConfig:
    return load_stack_config(request.param)


@pytest.fixture
def pulumi_mocks(stack_config: StackConfig):
    mocks = RecordingMocks(
        account_id=stack_config.account_id,
        region=stack_config.region,
        az_count=max(3, stack_config.network.az_count),
        backend_url=platform_backend_url(stack_config),
    )
    install(
        mocks,
        stack_config.environment,
        flatten_for_mocks(read_stack_file(stack_config.environment)),
    )
    yield mocks
    dupes = mocks.duplicate_keys()
    assert not dupes, f"resources registered twice (type, name): {dupes}"


_programs: dict[str, RecordingMocks] = {}


@pytest.fixture
def program(stack_config: StackConfig) -> RecordingMocks:
    """The real platform program for this stack, built once per session."""
    env = stack_config.environment
    if env not in _programs:
        _programs[env] = build_stack(env)
    return _programs[env]
