"""The platform's policy pack over this repo's Pulumi program, offline: every stack, with and
without an approved model, built under the platform's mocks (as in test_infra.py) and fed to the
same CrossGuard rules that `pulumi up --policy-pack` enforces at deploy time and `mlops check`
runs over the platform's own stacks.

The PR workflow runs this file as its policy check; run it locally with

    python -m pytest tests/test_policy.py

A policy config in the shape of `pulumi preview --policy-pack-config` (levels or rule settings,
e.g. {"log-group-retention": {"minimumRetentionDays": 365}}) is read from the JSON file named by
MLOPS_POLICY_CONFIG; a mandatory violation fails the test with each rule's message and fix.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from mlops.policy.check import check_resources, format_result, load_policy_config

from test_infra import PACKAGE, deploy


def _config() -> dict | None:
    path = os.environ.get("MLOPS_POLICY_CONFIG")
    return load_policy_config(Path(path)) if path else None


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
@pytest.mark.parametrize("model", [PACKAGE, None], ids=["model", "no-model"])
def test_stack_passes_the_platform_policy_pack(env: str, model: str | None) -> None:
    result = check_resources(deploy(env, model).resources, _config(), stack=env)
    assert result.resource_count > 0, "the program registered no resources"
    assert result.ok, "\n".join(format_result(result))
