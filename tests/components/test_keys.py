"""Keys: one customer-managed key per purpose, rotation on, policies naming their principals."""

from __future__ import annotations

import pytest

from components._helpers import ctx_of, of_type, policy, statements, tags_of
from mlops.components.keys import PURPOSES, Keys, KeysArgs, key_policy_for
from mlops.config import StackConfig
from mlops.delivery import artifacts
from mlops.iam import account_root
from mlops.testing.mocks import RecordingMocks, run

STAGING_MODEL_ROLES = "arn:aws:iam::222222222222:role/mlops-staging-*-model"


def _args(cfg: StackConfig, **kw) -> KeysArgs:
    glass = [cfg.break_glass_role_arn] if cfg.break_glass_role_arn else []
    kw.setdefault("break_glass_arns", glass)
    kw.setdefault("admin_arns", cfg.key_admin_arns)
    return KeysArgs(names=ctx_of(cfg), tags=tags_of(cfg), **kw)


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
        for st in sts.values():  # only an explicit Deny may name every principal
            if st["Principal"] in ("*", {"AWS": "*"}):
                assert st["Effect"] == "Deny" and st["Condition"], (key.name, st)


def test_logs_key_allows_logs_trail_and_access_logs(
    stack_config: StackConfig, pulumi_mocks: RecordingMocks
):
    run(lambda: Keys("keys", _args(stack_config)))
    sids = set(statements(policy(pulumi_mocks.named("keys-logs"))))
    assert {"CloudWatchLogsUse", "CloudTrailEncrypt", "S3ServerAccessLogDelivery"} <= sids
    assert "CloudWatchLogsUse" not in statements(policy(pulumi_mocks.named("keys-studio")))


def test_other_keys_let_cloudwatch_logs_encrypt_only_their_log_groups(
    stack_config: StackConfig, pulumi_mocks: RecordingMocks
):
    """A log group may use the artifacts key (platform log groups `/mlops/<env>/...`, e.g. use-case
    builds) or the data key (Firehose delivery errors of decision analytics), and no other."""
    run(lambda: Keys("keys", _args(stack_config)))
    env, acct, region = stack_config.environment, stack_config.account_id, stack_config.region
    groups = f"arn:aws:logs:{region}:{acct}:log-group:"
    expected = {
        "keys-artifacts": f"{groups}/mlops/{env}/*",
        "keys-data": f"{groups}/aws/kinesisfirehose/mlops-{env}-*",
    }
    for key, pattern in expected.items():
        st = statements(policy(pulumi_mocks.named(key)))["CloudWatchLogsUse"]
        assert st["Principal"] == {"Service": f"logs.{region}.amazonaws.com"}, key
        assert st["Condition"]["StringLike"]["kms:EncryptionContext:aws:logs:arn"] == pattern, key


def test_the_deployer_uses_the_artifacts_key_only_through_s3_and_lambda(
    stack_config: StackConfig, pulumi_mocks: RecordingMocks
):
    run(lambda: Keys("keys", _args(stack_config)))
    st = statements(policy(pulumi_mocks.named("keys-artifacts")))["KeyUseByDeployerViaServices"]
    assert st["Principal"] == {"AWS": account_root(stack_config.account_id)}
    assert st["Condition"]["StringEquals"]["kms:ViaService"] == [
        f"s3.{stack_config.region}.amazonaws.com",
        f"lambda.{stack_config.region}.amazonaws.com",
    ]
    for other in ("keys-data", "keys-logs", "keys-studio"):
        assert "KeyUseByDeployerViaServices" not in statements(policy(pulumi_mocks.named(other)))


@pytest.mark.parametrize("stack_config", ["dev"], indirect=True)  # only dev shares artifacts
def test_registered_models_decrypt_for_other_stages(
    stack_config: StackConfig, pulumi_mocks: RecordingMocks
):
    grants = artifacts.key_grants(ctx_of(stack_config), stack_config.accounts.model_dump())
    run(lambda: Keys("keys", _args(stack_config, model_reader_grants=grants)))
    st = statements(policy(pulumi_mocks.named("keys-artifacts")))["ModelDecryptStaging"]
    assert st["Principal"] == {"AWS": "arn:aws:iam::222222222222:root"}
    assert st["Condition"]["ArnLike"]["aws:PrincipalArn"] == STAGING_MODEL_ROLES
    assert st["Action"] == "kms:Decrypt"
    via = st["Condition"]["StringEquals"]
    assert via["kms:ViaService"] == f"s3.{stack_config.region}.amazonaws.com"
    context = st["Condition"]["StringLike"]["kms:EncryptionContext:aws:s3:arn"]
    assert context.startswith("arn:aws:s3:::mlops-dev-model-art") and context.endswith("/models/*")
    data_sids = statements(policy(pulumi_mocks.named("keys-data")))
    assert not any(s.startswith("ModelDecrypt") for s in data_sids)


def test_args_are_validated(stack_config: StackConfig):
    with pytest.raises(ValueError, match="admin_arns"):
        KeysArgs(names=ctx_of(stack_config), tags={}, admin_arns=[])
    with pytest.raises(ValueError, match="other accounts"):
        own = {"Sid": "x", "Principal": {"AWS": account_root(stack_config.account_id)}}
        _args(stack_config, model_reader_grants=[own])
    assert key_policy_for("studio", _args(stack_config))["Version"] == "2012-10-17"
    with pytest.raises(ValueError, match="account root"):
        _args(stack_config, admin_arns=[account_root(stack_config.account_id)])
    if stack_config.environment != "dev":
        with pytest.raises(ValueError, match="break-glass"):
            _args(stack_config, break_glass_arns=[])


# --- 23.5: administration without use, break-glass, no bare root ---------------------------
def test_key_admins_never_use_or_grant_the_keys(
    stack_config: StackConfig, pulumi_mocks: RecordingMocks
):
    run(lambda: Keys("keys", _args(stack_config)))
    admins = stack_config.key_admin_arns
    for key in of_type(pulumi_mocks, "aws:kms/key:Key"):
        sts = statements(policy(key))
        admin = sts["KeyAdministration"]
        assert admin["Principal"] == {"AWS": account_root(stack_config.account_id)}, key.name
        assert admin["Condition"] == {"ArnLike": {"aws:PrincipalArn": admins[0]}}, key.name
        assert not any(a.startswith(("kms:Create*", "kms:CreateGrant")) for a in admin["Action"])
        use = sts["KeyAdminsNeverUseTheKey"]
        assert use["Effect"] == "Deny" and {"kms:Decrypt", "kms:Encrypt"} <= set(use["Action"])
        assert use["Condition"]["ArnLike"] == {"aws:PrincipalArn": admins[0]}, key.name
        grant = sts["KeyAdminsGrantNothing"]
        assert grant["Effect"] == "Deny" and grant["Action"] == "kms:CreateGrant", key.name


def test_dev_key_admin_is_not_the_account_root(stack_config: StackConfig):
    [admin] = stack_config.key_admin_arns
    assert admin != account_root(stack_config.account_id)
    assert admin.startswith(f"arn:aws:iam::{stack_config.account_id}:role/")


def test_break_glass_administers_staging_and_prod_keys_only_with_mfa(
    stack_config: StackConfig, pulumi_mocks: RecordingMocks
):
    run(lambda: Keys("keys", _args(stack_config)))
    for key in of_type(pulumi_mocks, "aws:kms/key:Key"):
        sts = statements(policy(key))
        if stack_config.environment == "dev":
            assert "BreakGlassAdministration" not in sts, key.name
            continue
        st = sts["BreakGlassAdministration"]
        assert st["Condition"] == {
            "ArnEquals": {"aws:PrincipalArn": stack_config.break_glass_role_arn},
            "Bool": {"aws:MultiFactorAuthPresent": "true"},
        }, key.name
        assert "kms:PutKeyPolicy" in st["Action"] or "kms:Put*" in st["Action"]
        assert not {"kms:Decrypt", "kms:Encrypt", "kms:CreateGrant"} & set(st["Action"])
