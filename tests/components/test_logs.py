"""The shared log-group helper: the caller's name, key, retention, tags and parent, nothing else."""

from __future__ import annotations

import pulumi
import pytest

from components._helpers import of_type
from mlops.components.logs import encrypted_log_group
from mlops.config import StackConfig
from mlops.testing.mocks import RecordingMocks, run

KEY = "arn:aws:kms:eu-west-2:111111111111:key/logs"


@pytest.mark.parametrize("stack_config", ["dev"], indirect=True)
def test_log_group_is_encrypted_and_kept_as_configured(
    stack_config: StackConfig, pulumi_mocks: RecordingMocks
):
    def build() -> None:
        parent = pulumi.ComponentResource("mlops:test:Parent", "owner")
        encrypted_log_group(
            "owner-logs",
            physical_name="/mlops/dev/owner",
            kms_key_arn=KEY,
            retention_days=stack_config.retention.log_days,
            tags={"component": "owner"},
            opts=pulumi.ResourceOptions(parent=parent),
        )

    run(build)
    (group,) = of_type(pulumi_mocks, "aws:cloudwatch/logGroup:LogGroup")
    assert group.name == "owner-logs"
    assert group.inputs["name"] == "/mlops/dev/owner", group.inputs
    assert group.inputs["kmsKeyId"] == KEY, group.inputs
    assert group.inputs["retentionInDays"] == stack_config.retention.log_days, group.inputs
    assert group.inputs["tags"] == {"component": "owner"}, group.inputs
    assert "mlops:test:Parent" in group.parent_urn, group.parent_urn
