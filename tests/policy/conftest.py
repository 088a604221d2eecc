"""Policy tests: build real pulumi-aws resources under the recording mocks, then run the rules."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pytest

from mlops.policy.check import CheckResult, check_resources
from mlops.testing.mocks import RecordingMocks, install, run

Checker = Callable[..., CheckResult]


def record(build: Callable[[], Any], stack: str = "dev") -> RecordingMocks:
    """Run `build` as a Pulumi program under fresh recording mocks (in the project the build
    names with a `project` attribute, e.g. a use case's inference program; else the platform)."""
    mocks = RecordingMocks()
    project = getattr(build, "project", None)
    install(mocks, stack, project=project) if project else install(mocks, stack)
    run(build)
    return mocks


@pytest.fixture
def check() -> Checker:
    """check(build, config=None) -> CheckResult for the resources `build` registers."""

    def _check(build: Callable[[], Any], config: Mapping[str, Any] | None = None) -> CheckResult:
        return check_resources(record(build).resources, config, stack="test")

    return _check
