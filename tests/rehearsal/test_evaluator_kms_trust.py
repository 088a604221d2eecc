"""The evaluator on KMS key policies and grants, role trust (AssumeRole) and iam:PassRole, from
the AWS documentation's examples (each docstring names the page) and this project's builders."""

from __future__ import annotations

import pytest

from mlops import iam as project_iam
from mlops.rehearsal.conditions import PolicyError
from mlops.rehearsal.evaluator import evaluate
from mlops.rehearsal.model import Grant, Principal

from .iam_fixtures import (
    REGION,
    A,
    B,
    allow,
    key_arn,
    policy,
    req,
    role,
    root,
    service,
    user,
)

KEY = key_arn()
ROOT_STATEMENT = allow(
    "kms:*", "*", sid="Enable IAM User Permissions", Principal={"AWS": f"arn:aws:iam::{A}:root"}
)
DEFAULT_KEY_POLICY = policy("key policy of alias/app", ROOT_STATEMENT)
KMS_USE = policy("kms-use", allow(["kms:Decrypt", "kms:GenerateDataKey"], KEY, sid="UseKey"))


def kms(principal, action="kms:Decrypt", key=KEY, account=A, **kw):
    return req(principal, action, key, account, kind="kms", **kw)


# --- Key policies in AWS KMS / Default key policy -------------------------------------------------
def test_default_key_policy_enables_iam_policies():
    """AWS KMS — Default key policy, "Allows access to the AWS account and enables IAM policies":
    with the root statement, a role's IAM policy grants use of the key."""
    app = role("app", KMS_USE)
    d = evaluate(kms(app, resource_policy=DEFAULT_KEY_POLICY))
    assert d.allowed, d.reason
    assert {r.sid for r in d.allowed_by} == {"Enable IAM User Permissions", "UseKey"}


def test_default_key_policy_still_needs_iam_permission():
    """AWS KMS — Default key policy: the root statement delegates; without an IAM permission the
    principal has none."""
    d = evaluate(kms(role("app"), resource_policy=DEFAULT_KEY_POLICY))
    assert d.outcome == "implicit-deny"
    assert d.missing == (f"identity policies of arn:aws:iam::{A}:role/app",)
    assert "delegates to the account's IAM policies" in d.reason


def test_no_identity_policy_only_path_to_a_key():
    """Key policies in AWS KMS — "Unless the key policy explicitly allows it, you cannot use IAM
    policies to allow access to a KMS key"."""
    admin_only = policy(
        "key policy of alias/app",
        allow("kms:Describe*", sid="Admins", Principal={"AWS": f"arn:aws:iam::{A}:role/admin"}),
    )
    d = evaluate(kms(role("app", policy("all", allow("kms:*"))), resource_policy=admin_only))
    assert d.outcome == "implicit-deny"
    assert d.missing == ("key policy of alias/app",)
    assert "an identity policy alone cannot allow it" in d.reason
    assert not evaluate(kms(role("app", policy("all", allow("kms:*"))))).allowed  # no key policy


def test_key_policy_naming_the_role_needs_no_iam_policy():
    """AWS KMS — Default key policy, "Allows key users to use the KMS key": a key policy statement
    naming the role lets it use the key without an IAM policy."""
    kp = policy(
        "key policy of alias/app",
        allow(["kms:Decrypt"], sid="Allow use of the key", Principal={"AWS": role("app").arn}),
    )
    assert evaluate(kms(role("app"), resource_policy=kp)).allowed


def test_key_policy_via_service_and_caller_account():
    """AWS KMS — kms:ViaService and kms:CallerAccount ("Allow access through Amazon S3 for all
    principals in the account that are authorized to use Amazon S3", the AWS managed key policy):
    only through S3 and only for callers of this account."""
    kp = policy(
        "key policy of aws/s3",
        allow(
            ["kms:Decrypt", "kms:GenerateDataKey*"],
            sid="Allow access through S3",
            Principal={"AWS": "*"},
            Condition={
                "StringEquals": {
                    "kms:CallerAccount": A,
                    "kms:ViaService": f"s3.{REGION}.amazonaws.com",
                }
            },
        ),
    )
    app = role("app")  # no IAM permission for KMS at all
    via_s3 = {"kms:ViaService": f"s3.{REGION}.amazonaws.com"}
    assert evaluate(kms(app, resource_policy=kp, context=via_s3)).allowed
    direct = evaluate(kms(app, resource_policy=kp))
    assert direct.outcome == "implicit-deny"
    assert "kms:ViaService" in direct.reason
    other = role("app", policy("kms", allow("kms:Decrypt")), account=B)
    assert not evaluate(kms(other, resource_policy=kp, context=via_s3)).allowed


def test_cross_account_key_use():
    """AWS KMS — "Allowing users in other accounts to use a KMS key": the key policy allows the
    external account, and an IAM policy in that account allows the role; both are needed."""
    kp = policy(
        "key policy of alias/shared",
        ROOT_STATEMENT,
        allow(
            ["kms:Decrypt", "kms:DescribeKey"],
            sid="Allow an external account to use this key",
            Principal={"AWS": f"arn:aws:iam::{B}:root"},
        ),
    )
    external = role("reader", policy("use-shared-key", allow("kms:Decrypt", KEY)), account=B)
    assert evaluate(kms(external, resource_policy=kp)).allowed
    no_iam = evaluate(kms(role("reader", account=B), resource_policy=kp))
    assert no_iam.outcome == "implicit-deny"
    assert no_iam.missing == (f"identity policies of arn:aws:iam::{B}:role/reader",)
    not_in_key_policy = evaluate(kms(external, resource_policy=DEFAULT_KEY_POLICY))
    assert not_in_key_policy.outcome == "implicit-deny"
    assert "key policy of alias/app" in not_in_key_policy.missing


def test_project_key_policy():
    """AWS KMS — Default key policy + kms:EncryptionContext (CloudWatch Logs "Encrypt log data in
    CloudWatch Logs using AWS KMS"): this project's key_policy builder — named roles through the
    root with aws:PrincipalArn, Logs only for this account's log groups, cross-account decrypt."""
    role_pattern = f"arn:aws:iam::{A}:role/mlops-dev-*"
    reader = f"arn:aws:iam::{B}:role/mlops-staging-endpoint"
    kp_doc = project_iam.key_policy(
        A,
        admin_arns=[f"arn:aws:iam::{A}:role/mlops-deployer"],
        user_arn_patterns=[role_pattern],
        services=[project_iam.logs_service_use(REGION, A)],
        cross_account_decrypt={B: [reader]},
    )
    kp = policy("key policy of alias/mlops-dev-logs", *kp_doc["Statement"])
    pipeline = role("mlops-dev-pipeline", KMS_USE)
    assert evaluate(kms(pipeline, resource_policy=kp)).allowed
    stranger = role("somebody-else", KMS_USE)
    d = evaluate(kms(stranger, resource_policy=kp))
    assert d.outcome == "implicit-deny" and "aws:PrincipalArn" in d.reason
    logs = service(f"logs.{REGION}.amazonaws.com")
    own_group = {"kms:EncryptionContext:aws:logs:arn": f"arn:aws:logs:{REGION}:{A}:log-group:/x"}
    assert evaluate(kms(logs, "kms:GenerateDataKey", resource_policy=kp, context=own_group)).allowed
    foreign = {"kms:EncryptionContext:aws:logs:arn": f"arn:aws:logs:{REGION}:{B}:log-group:/x"}
    assert not evaluate(
        kms(logs, "kms:GenerateDataKey", resource_policy=kp, context=foreign)
    ).allowed
    staging = role("mlops-staging-endpoint", policy("dec", allow("kms:Decrypt", KEY)), account=B)
    assert evaluate(kms(staging, resource_policy=kp)).allowed
    assert not evaluate(kms(staging, "kms:Encrypt", resource_policy=kp)).allowed
    grant_for_resource = {"kms:GrantIsForAWSResource": True}
    creator = role("mlops-dev-pipeline", policy("grant", allow("kms:CreateGrant", KEY)))
    assert evaluate(
        kms(creator, "kms:CreateGrant", resource_policy=kp, context=grant_for_resource)
    ).allowed
    assert not evaluate(kms(creator, "kms:CreateGrant", resource_policy=kp)).allowed


# --- Grants in AWS KMS ----------------------------------------------------------------------------
APP = role("app")
NO_USE_POLICY = policy("key policy of alias/app", allow("kms:DescribeKey", Principal={"AWS": A}))


@pytest.mark.parametrize(
    ("constraint", "context", "allowed"),
    [
        ("subset", {"Department": "IT"}, True),
        ("subset", {"Department": "IT", "Purpose": "Test"}, True),
        ("subset", {"Purpose": "Test"}, False),
        ("subset", {"department": "IT"}, True),  # grant constraint keys are not case-sensitive
        ("subset", {"Department": "it"}, False),  # values are
        ("equals", {"Department": "IT"}, True),
        ("equals", {"Department": "IT", "Purpose": "Test"}, False),
        ("equals", {}, False),
    ],
)
def test_grant_constraints(constraint, context, allowed):
    """Grants in AWS KMS — "Using grant constraints" (GrantConstraints): EncryptionContextSubset
    needs at least the pairs, EncryptionContextEquals exactly the pairs; keys case-insensitive,
    values case-sensitive."""
    pairs = {"Department": "IT"}
    grant = Grant(
        KEY,
        APP.arn,
        ("Decrypt", "Encrypt"),
        name="app-grant",
        context_equals=pairs if constraint == "equals" else {},
        context_subset=pairs if constraint == "subset" else {},
    )
    ctx = {f"kms:EncryptionContext:{k}": v for k, v in context.items()}
    d = evaluate(kms(APP, resource_policy=NO_USE_POLICY, grants=(grant,), context=ctx))
    assert d.allowed is allowed, d.reason
    if allowed:
        assert d.allowed_by[0].policy.startswith("grant app-grant")


def test_grant_operations_and_constraints_on_non_crypto_operations():
    """Grants in AWS KMS — a grant allows only its operations; constraints are "not applied to
    operations that do not support an encryption context, such as DescribeKey"."""
    grant = Grant(KEY, APP.arn, ("DescribeKey", "Decrypt"), context_subset={"Department": "IT"})
    no_policy = policy("key policy of alias/app", ROOT_STATEMENT)
    assert evaluate(kms(APP, "kms:DescribeKey", resource_policy=no_policy, grants=(grant,))).allowed
    d = evaluate(kms(APP, "kms:Encrypt", resource_policy=no_policy, grants=(grant,)))
    assert d.outcome == "implicit-deny"
    other_grantee = Grant(KEY, role("someone").arn, ("Decrypt",))
    assert not evaluate(kms(APP, resource_policy=no_policy, grants=(other_grantee,))).allowed


def test_grant_cannot_override_an_explicit_deny():
    """Key policies in AWS KMS — no principal has permission unless "explicitly allowed, and never
    denied, in a key policy, IAM policy, or grant"."""
    grant = Grant(KEY, APP.arn, ("Decrypt",))
    denied = role("app", policy("no-kms", {"Effect": "Deny", "Action": "kms:*", "Resource": "*"}))
    d = evaluate(kms(denied, resource_policy=DEFAULT_KEY_POLICY, grants=(grant,)))
    assert d.outcome == "explicit-deny"


def test_key_policy_root_user():
    """AWS KMS — Default key policy: the root statement "allows the account root user"; a key
    policy without it locks the root user out too."""
    assert evaluate(kms(root(), resource_policy=DEFAULT_KEY_POLICY)).allowed
    locked = policy("kp", allow("kms:Decrypt", Principal={"AWS": role("app").arn}))
    assert not evaluate(kms(root(), resource_policy=locked)).allowed


# --- role trust -----------------------------------------------------------------------------------
TARGET = f"arn:aws:iam::{A}:role/deployer"


def assume(principal, trust, account=A, **kw):
    return req(
        principal, "sts:AssumeRole", TARGET, account, kind="role-trust", resource_policy=trust, **kw
    )


def trust(principal, **extra):
    return policy(
        "trust policy of deployer",
        {
            "Sid": "Trust",
            "Effect": "Allow",
            "Principal": principal,
            "Action": "sts:AssumeRole",
            **extra,
        },
    )


def test_same_account_trust_naming_the_role_needs_no_identity_grant():
    """How AWS enforcement code logic evaluates requests — role trust policies "must explicitly
    allow access for principals"; naming the caller's role lets it assume without an IAM grant."""
    ci = role("ci")
    assert evaluate(assume(ci, trust({"AWS": ci.arn}))).allowed


def test_same_account_trust_naming_the_account_needs_identity_grant():
    """AWS JSON policy elements: Principal — an account principal "delegates authority to the
    account": the caller's identity policy must allow sts:AssumeRole."""
    account_trust = trust({"AWS": f"arn:aws:iam::{A}:root"})
    d = evaluate(assume(role("ci"), account_trust))
    assert d.outcome == "implicit-deny"
    assert d.missing == (f"identity policies of arn:aws:iam::{A}:role/ci",)
    ci = role("ci", policy("assume", allow("sts:AssumeRole", TARGET)))
    assert evaluate(assume(ci, account_trust)).allowed


def test_cross_account_trust_needs_both():
    """Cross-account policy evaluation logic — "In IAM, you can attach a resource-based policy to an
    IAM role to allow principals in other accounts to assume that role": trust and identity."""
    ci = role("ci", account=B)
    named = trust({"AWS": ci.arn})
    d = evaluate(assume(ci, named))
    assert d.outcome == "implicit-deny" and "cross-account trust needs both sides" in d.reason
    ci = role("ci", policy("assume", allow("sts:AssumeRole", TARGET)), account=B)
    assert evaluate(assume(ci, named)).allowed
    assert not evaluate(assume(ci, trust({"AWS": role("other", account=B).arn}))).allowed


def test_trust_with_external_id():
    """How to use an external ID when granting access to your AWS resources to a third party — the
    trust policy requires sts:ExternalId."""
    third = role("ExampleCorp", policy("assume", allow("sts:AssumeRole")), account=B)
    t = trust({"AWS": B}, Condition={"StringEquals": {"sts:ExternalId": "Unique ID 12345"}})
    assert evaluate(assume(third, t, context={"sts:ExternalId": "Unique ID 12345"})).allowed
    d = evaluate(assume(third, t))
    assert d.outcome == "implicit-deny" and "sts:ExternalId" in d.reason


def test_service_trust_with_source_account():
    """The confused deputy problem — a service trust with aws:SourceAccount (this project's
    service_trust builder)."""
    t = policy(
        "trust policy of deployer",
        *project_iam.service_trust("sagemaker.amazonaws.com", A)["Statement"],
    )
    sm = service("sagemaker.amazonaws.com")
    assert evaluate(assume(sm, t, context={"aws:SourceAccount": A})).allowed
    assert not evaluate(assume(sm, t, context={"aws:SourceAccount": B})).allowed
    assert not evaluate(
        assume(service("lambda.amazonaws.com"), t, context={"aws:SourceAccount": A})
    ).allowed


MAIN = "repo:insurer/platform:ref:refs/heads/main"


def test_web_identity_trust():
    """Create a role for OpenID Connect federation — GitHub OIDC trust with the sub claim."""
    provider = f"arn:aws:iam::{A}:oidc-provider/token.actions.githubusercontent.com"
    t = policy(
        "trust policy of deployer",
        {
            "Effect": "Allow",
            "Principal": {"Federated": provider},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringLike": {"token.actions.githubusercontent.com:sub": MAIN}},
        },
    )
    gh = Principal(provider, "federated", A)
    ok = req(
        gh,
        "sts:AssumeRoleWithWebIdentity",
        TARGET,
        A,
        kind="role-trust",
        resource_policy=t,
        context={"token.actions.githubusercontent.com:sub": MAIN},
    )
    assert evaluate(ok).allowed
    fork = req(
        gh,
        "sts:AssumeRoleWithWebIdentity",
        TARGET,
        A,
        kind="role-trust",
        resource_policy=t,
        context={
            "token.actions.githubusercontent.com:sub": "repo:someone/fork:ref:refs/heads/main"
        },
    )
    assert not evaluate(fork).allowed


def test_root_cannot_assume_roles_and_trust_needs_a_policy():
    """Comparing the AWS STS API operations — AssumeRole cannot be called with root credentials;
    a role without a trust policy cannot be assumed."""
    t = trust({"AWS": f"arn:aws:iam::{A}:root"})
    assert "root user cannot assume roles" in evaluate(assume(root(), t)).reason
    d = evaluate(assume(role("ci"), None))
    assert d.outcome == "implicit-deny" and "no trust policy" in d.reason


def test_role_trust_kind_only_for_sts_actions():
    """The role-trust rule is for sts:AssumeRole*; PassRole is evaluated on identity policies."""
    with pytest.raises(PolicyError, match="role-trust"):
        evaluate(req(role("ci"), "iam:PassRole", TARGET, kind="role-trust"))


# --- iam:PassRole ---------------------------------------------------------------------------------
def test_passrole_with_passed_to_service():
    """Grant a user permissions to pass a role to an AWS service — iam:PassedToService limits which
    service the role may be passed to (this project's pass_role builder)."""
    exec_role = f"arn:aws:iam::{A}:role/mlops-dev-pipeline"
    stmt = project_iam.pass_role("PassPipelineRole", [exec_role], "sagemaker.amazonaws.com")
    ci = role("ci", policy("pass", stmt))
    to_sagemaker = {"iam:PassedToService": "sagemaker.amazonaws.com"}
    assert evaluate(req(ci, "iam:PassRole", exec_role, context=to_sagemaker)).allowed
    d = evaluate(
        req(ci, "iam:PassRole", exec_role, context={"iam:PassedToService": "lambda.amazonaws.com"})
    )
    assert d.outcome == "implicit-deny" and "iam:PassedToService" in d.reason
    deployer = f"arn:aws:iam::{A}:role/mlops-deployer"
    assert not evaluate(req(ci, "iam:PassRole", deployer, context=to_sagemaker)).allowed


def test_passrole_only_within_the_account():
    """Grant a user permissions to pass a role to an AWS service — a role can only be passed within
    its own account, whatever the identity policy says."""
    ci = role("ci", policy("pass", allow("iam:PassRole")), account=B)
    d = evaluate(req(ci, "iam:PassRole", f"arn:aws:iam::{A}:role/x", A))
    assert d.outcome == "implicit-deny" and "own account" in d.reason


def test_user_session_principal_in_key_policy():
    """AWS JSON policy elements: Principal — an IAM user named in a key policy is allowed
    directly."""
    u = user("ops")
    kp = policy("kp", allow("kms:Decrypt", Principal={"AWS": u.arn}))
    assert evaluate(kms(u, resource_policy=kp)).allowed
