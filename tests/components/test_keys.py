"""Keys: one customer-managed key per purpose, rotation on, policies naming their principals."""

from __future__ import annotations

import pytest

from components._helpers import ctx_of, of_type, policy, statements, tags_of
from mlops.components.keys import PURPOSES, Keys, KeysArgs, key_policy_for
from mlops.config import StackConfig
from mlops.iam import account_root
from mlops.testing.mocks import RecordingMocks, run

STAGING_ROLE = "arn:aws:iam::222222222222:role/mlops-staging-model-execution"


def _args(cfg: StackConfig, **kw) -> KeysArgs:
    return KeysArgs(
        names=ctx_of(cfg), tags=tags_of(cfg), admin_arns=[account_root(cfg.account_id)], **kw
    )


def test_one_rotating_key_per_purpose(stack_config: StackConfig, pulumi_mocks: RecordingMocks):
    run(lambda: Keys("keys", _args(stack_config)))
    keys = of_type(pulumi_mocks, "aws:kms/key:Key")
    assert sorted(k.name for k in keys) == sorted(f"keys-{p}" for p in PURPOSES)
    for key in keys:
        assert key.inputs["enableKeyRotation"] is True, key.name
        assert key.inputs["deletionWindowInDays"] == 30, key.name
    aliases = sorted(a.inputs["name"] for a in pulumi_mocks.of_type("aws:kms/alias:Alias"))
    assert aliases == sorted(f"alias/mlops-{stack_config.environment}-{p}" for p in PURPOSES)


def test_key_policies_name_principals(stack_config: StackConfig, pulumi_mocks: RecordingMocks):
    run(lambda: Keys("keys", _args(stack_config)))
    for key in of_type(pulumi_mocks, "aws:kms/key:Key"):
        sts = statements(policy(key))
        use = sts["KeyUseByNamedRoles"]
        # Not "any principal of the account": only roles named by mlops.naming for this stack.
        assert use["Condition"]["ArnLike"]["aws:PrincipalArn"] == (
            f"arn:aws:iam::{stack_config.account_id}:role/mlops-{stack_config.environment}-*"
        ), key.name
        for st in sts.values():
            assert st["Principal"] != "*" and st["Principal"] != {"AWS": "*"}, (key.name, st)


def test_logs_key_allows_logs_trail_and_access_logs(
    stack_config: StackConfig, pulumi_mocks: RecordingMocks
):
    run(lambda: Keys("keys", _args(stack_config)))
    sids = set(statements(policy(pulumi_mocks.named("keys-logs"))))
    assert {"CloudWatchLogsUse", "CloudTrailEncrypt", "S3ServerAccessLogDelivery"} <= sids
    assert "CloudWatchLogsUse" not in statements(policy(pulumi_mocks.named("keys-data")))


@pytest.mark.parametrize("stack_config", ["dev"], indirect=True)  # only dev shares artifacts
def test_cross_account_artifact_decrypt(stack_config: StackConfig, pulumi_mocks: RecordingMocks):
    run(lambda: Keys("keys", _args(stack_config, cross_account_artifact_readers={
        "222222222222": [STAGING_ROLE]})))  # fmt: skip
    st = statements(policy(pulumi_mocks.named("keys-artifacts")))["CrossAccountDecrypt222222222222"]
    assert st["Principal"] == {"AWS": "arn:aws:iam::222222222222:root"}
    assert st["Condition"]["ArnLike"]["aws:PrincipalArn"] == STAGING_ROLE
    assert set(st["Action"]) == {"kms:Decrypt", "kms:DescribeKey"}
    data_sids = statements(policy(pulumi_mocks.named("keys-data")))
    assert not any(s.startswith("CrossAccount") for s in data_sids)


def test_args_are_validated(stack_config: StackConfig):
    with pytest.raises(ValueError, match="admin_arns"):
        KeysArgs(names=ctx_of(stack_config), tags={}, admin_arns=[])
    with pytest.raises(ValueError, match="other accounts"):
        _args(stack_config, cross_account_artifact_readers={stack_config.account_id: ["x"]})
    assert key_policy_for("studio", _args(stack_config))["Version"] == "2012-10-17"
