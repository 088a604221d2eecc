"""State bootstrap: the one shared state backend (mlops/backends.py), in the governance account.

A secure, versioned S3 state bucket and a KMS key for Pulumi secrets, both used by every stack:
the other accounts' deployers reach only their own stack's state, and every StackReference of
the platform resolves in that one backend.
"""

from __future__ import annotations

import fnmatch
import runpy

import pytest
from components._helpers import of_type, policy, statements
from components.test_storage import assert_secure_buckets

from mlops import backends
from mlops.config import ENVIRONMENTS, PROJECT, REPO_ROOT, StackConfig, load_stack_config
from mlops.errors import ConfigError
from mlops.program import build_stack
from mlops.testing.mocks import RecordingMocks, install, run

BOOTSTRAP = REPO_ROOT / "bootstrap" / "__main__.py"
DEV = pytest.mark.parametrize("stack_config", ["dev"], indirect=True)


def _build(cfg: StackConfig) -> RecordingMocks:
    mocks = RecordingMocks(account_id=cfg.account_id, region=cfg.region)
    install(mocks, cfg.environment, {}, project="mlops-bootstrap")
    run(lambda: runpy.run_path(str(BOOTSTRAP), run_name="__main__"))
    return mocks


def _state_cfg() -> StackConfig:
    return load_stack_config(backends.STATE_ENVIRONMENT)


def _bucket_policy(mocks: RecordingMocks, bucket: str) -> dict:
    [found] = [
        r
        for r in of_type(mocks, "aws:s3/bucketPolicy:BucketPolicy")
        if r.inputs["bucket"] == bucket
    ]
    return policy(found)


def _key_policies(mocks: RecordingMocks) -> dict[str, dict]:
    return {k.name: policy(k) for k in of_type(mocks, "aws:kms/key:Key")}


def _allows(doc: dict, principal: str, action: str, resource: str) -> bool:
    """Whether an Allow statement names `principal` for `action` on `resource` (no conditions
    evaluated: the tests below check the statements that carry none)."""
    for st in doc["Statement"]:
        if st["Effect"] != "Allow":
            continue
        names = st.get("Principal", {}).get("AWS", [])
        names = [names] if isinstance(names, str) else names
        actions = [st["Action"]] if isinstance(st["Action"], str) else st["Action"]
        resources = [st["Resource"]] if isinstance(st["Resource"], str) else st["Resource"]
        matched = any(fnmatch.fnmatchcase(resource, r) for r in resources)
        if principal in names and action in actions and matched:
            return True
    return False


@DEV
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


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_stack_logs_in_to_the_one_backend_the_bootstrap_creates(env: str) -> None:
    """Platform and inference stacks of every environment share one backend (a
    self-managed backend reads only its own stacks), and it is the bucket the bootstrap makes."""
    exports = _build(_state_cfg()).stack_exports
    cfg = load_stack_config(env)
    assert backends.platform_backend_url(cfg) == exports["backend_url"]
    assert backends.inference_backend_url(cfg) == exports["backend_url"]
    assert backends.secrets_provider(cfg) == exports["secrets_provider"]
    assert exports["secrets_provider"].startswith(
        f"awskms:///arn:aws:kms:{cfg.region}:{cfg.accounts.dev}:alias/"
    )


@pytest.mark.parametrize("env", [e for e in ENVIRONMENTS if e != backends.STATE_ENVIRONMENT])
def test_bootstrap_refuses_a_stack_that_does_not_hold_the_state(env: str) -> None:
    with pytest.raises(ConfigError, match="only in the account that holds the state"):
        _build(load_stack_config(env))


@pytest.mark.parametrize("env", [e for e in ENVIRONMENTS if e != backends.STATE_ENVIRONMENT])
def test_other_accounts_deployers_reach_only_their_own_state(env: str) -> None:
    cfg = load_stack_config(env)
    mocks = _build(_state_cfg())
    bucket = backends.state_bucket(cfg)
    doc = _bucket_policy(mocks, bucket)
    who = cfg.deploy_role_arn
    assert who, f"Pulumi.{env}.yaml names its deployer (deployRoleArn)"
    arn = f"arn:aws:s3:::{bucket}"
    own = backends.state_object_key(PROJECT, env)
    assert _allows(doc, who, "s3:ListBucket", arn)
    assert _allows(doc, who, "s3:GetObject", f"{arn}/{backends.META_KEY}")
    for key in (own, f"{own}.bak", f".pulumi/history/{PROJECT}/{env}/{env}-1.history.json",
                f".pulumi/locks/{PROJECT}/{env}/x.json"):  # fmt: skip
        assert _allows(doc, who, "s3:PutObject", f"{arn}/{key}"), key
    # it reads the governance stack it references, and writes no other stack
    assert _allows(doc, who, "s3:GetObject", f"{arn}/{backends.state_object_key(PROJECT, 'dev')}")
    for other in [e for e in ENVIRONMENTS if e != env]:
        key = backends.state_object_key(PROJECT, other)
        assert not _allows(doc, who, "s3:PutObject", f"{arn}/{key}"), other
        assert not _allows(doc, who, "s3:DeleteObject", f"{arn}/{key}"), other
    assert not _allows(doc, who, "s3:PutObject", f"{arn}/.pulumi/stacks/remedy-inference/dev.json")
    keys = _key_policies(mocks)
    state_key = statements(keys["pulumi-state-key"])["StateKeyUseByOtherAccountsDeployers"]
    assert who in state_key["Principal"]["AWS"]
    assert state_key["Condition"] == {
        "StringEquals": {"kms:ViaService": f"s3.{cfg.region}.amazonaws.com"}
    }
    secrets = statements(keys["pulumi-secrets-key"])["SecretsKeyUseByOtherAccountsDeployers"]
    assert who in secrets["Principal"]["AWS"] and "kms:Decrypt" in secrets["Action"]


@pytest.mark.parametrize("env", [e for e in ENVIRONMENTS if e != backends.STATE_ENVIRONMENT])
def test_platform_stack_references_resolve_in_the_shared_backend(env: str) -> None:
    """strict: a StackReference the engine could not read raises (before the backend was
    shared: "unknown stack", dev's state being in another bucket)."""
    mocks = build_stack(env, strict_references=True)
    refs = mocks.of_type("pulumi:pulumi:StackReference")
    assert [r.inputs.get("name") or r.name for r in refs] == ["organization/mlops-platform/dev"]
    assert mocks.reference_failures == []
