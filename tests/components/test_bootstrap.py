"""State bootstrap: a secure, versioned S3 state bucket + a KMS key for Pulumi secrets."""

from __future__ import annotations

import runpy

from components._helpers import of_type, policy, statements
from components.test_storage import assert_secure_buckets
from mlops.config import REPO_ROOT, StackConfig
from mlops.testing.mocks import RecordingMocks, install, run

BOOTSTRAP = REPO_ROOT / "bootstrap" / "__main__.py"


def _build(cfg: StackConfig) -> RecordingMocks:
    mocks = RecordingMocks(account_id=cfg.account_id, region=cfg.region)
    install(mocks, cfg.environment, {}, project="mlops-bootstrap")
    run(lambda: runpy.run_path(str(BOOTSTRAP), run_name="__main__"))
    return mocks


def test_bootstrap_creates_a_secure_state_backend(stack_config: StackConfig) -> None:
    mocks = _build(stack_config)
    env, acct = stack_config.environment, stack_config.account_id
    buckets = {b.inputs["bucket"] for b in of_type(mocks, "aws:s3/bucket:Bucket")}
    assert f"mlops-{env}-pulumi-state-{acct}-{stack_config.region}" in buckets
    assert_secure_buckets(mocks)
    keys = of_type(mocks, "aws:kms/key:Key")
    assert len(keys) == 2 and all(k.inputs["enableKeyRotation"] for k in keys)
    aliases = {a.inputs["name"] for a in of_type(mocks, "aws:kms/alias:Alias")}
    assert f"alias/mlops-{env}-pulumi-secrets" in aliases
    runners = statements(policy(keys[0]))["KeyUseByPulumiRunners"]["Principal"]["AWS"]
    expected = stack_config.deploy_role_arn or f"arn:aws:iam::{acct}:root"
    assert runners == expected
    assert not mocks.duplicate_keys()
