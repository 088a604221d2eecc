"""The evaluator on AWS's documented examples: single account, cross account, permissions
boundaries with resource policies, SCPs, VPC endpoint policies, service principals, NotAction /
NotResource / NotPrincipal, wildcard ARNs, derived global keys and the Decision it returns.

Each test's docstring names the AWS documentation page its example comes from."""

from __future__ import annotations

import pytest

from mlops import iam as project_iam
from mlops.rehearsal.catalogue import UnknownActionError
from mlops.rehearsal.conditions import PolicyError
from mlops.rehearsal.evaluator import build_context, evaluate
from mlops.rehearsal.model import Principal, StatementRef

from .iam_fixtures import (
    A,
    B,
    allow,
    deny,
    policy,
    req,
    role,
    root,
    service,
    user,
)

# --- Policy evaluation logic: "Example identity-based and resource-based policy evaluation" -------
CARLOS_IDENTITY = policy(
    "user/carlossalazar-policy",
    allow(
        [
            "s3:GetBucketLocation",
            "s3:GetAccountPublicAccessBlock",
            "s3:ListAccessPoints",
            "s3:ListAllMyBuckets",
        ],
        "arn:aws:s3:::*",
        sid="AllowS3ListRead",
    ),
    allow(
        "s3:*",
        ["arn:aws:s3:::carlossalazar/*", "arn:aws:s3:::carlossalazar"],
        sid="AllowS3Self",
    ),
    deny("s3:*", "arn:aws:s3:::*log*", sid="DenyS3Logs"),
)
CARLOS_BUCKET = policy(
    "bucket policy of carlossalazar",
    allow(
        "s3:*",
        ["arn:aws:s3:::carlossalazar/*", "arn:aws:s3:::carlossalazar"],
        Principal={"AWS": f"arn:aws:iam::{A}:user/carlossalazar"},
    ),
)


def test_single_account_explicit_deny_in_identity_policy_wins():
    """Policy evaluation logic — Example identity-based and resource-based policy evaluation:
    saving to carlossalazar-logs is denied by DenyS3Logs."""
    carlos = user("carlossalazar", CARLOS_IDENTITY)
    d = evaluate(req(carlos, "s3:PutObject", "arn:aws:s3:::carlossalazar-logs/report.txt"))
    assert d.outcome == "explicit-deny"
    assert d.denied_by == (StatementRef("user/carlossalazar-policy", "DenyS3Logs"),)
    assert "DenyS3Logs" in d.reason and "user/carlossalazar-policy" in d.reason
    assert d.reason.startswith(f"arn:aws:iam::{A}:user/carlossalazar cannot s3:PutObject")


def test_single_account_both_policies_allow():
    """Policy evaluation logic — Example identity-based and resource-based policy evaluation:
    saving to carlossalazar is allowed; identity and bucket policy both allow."""
    carlos = user("carlossalazar", CARLOS_IDENTITY)
    d = evaluate(
        req(
            carlos,
            "s3:PutObject",
            "arn:aws:s3:::carlossalazar/report.txt",
            resource_policy=CARLOS_BUCKET,
        )
    )
    assert d.allowed, d.reason


@pytest.mark.parametrize("side", ["identity", "resource"])
def test_single_account_either_side_suffices(side):
    """Policy evaluation logic — "If either the identity-based policy or the resource-based policy
    within the same account allows the request and the other doesn't, the request is still
    allowed"."""
    if side == "identity":
        carlos = user("carlossalazar", CARLOS_IDENTITY)
        rp = None
    else:
        carlos = user("carlossalazar")
        rp = CARLOS_BUCKET
    d = evaluate(
        req(carlos, "s3:GetObject", "arn:aws:s3:::carlossalazar/a.txt", resource_policy=rp)
    )
    assert d.allowed, d.reason


def test_explicit_and_implicit_deny():
    """Policy evaluation logic — "The difference between explicit and implicit denies": Get/List
    allowed, *Report explicitly denied, everything else implicitly denied."""
    p = policy(
        "iam-read",
        allow(["iam:Get*", "iam:List*"], sid="AllowGetList"),
        deny("iam:*Report", sid="DenyReports"),
    )
    u = user("auditor", p)
    assert evaluate(req(u, "iam:GetUser", f"arn:aws:iam::{A}:user/bob")).allowed
    reports = evaluate(req(u, "iam:GetOrganizationsAccessReport", "*"))
    assert reports.outcome == "explicit-deny"
    assert reports.denied_by[0].sid == "DenyReports"
    other = evaluate(req(u, "iam:CreatePolicy", f"arn:aws:iam::{A}:policy/x"))
    assert other.outcome == "implicit-deny"
    assert other.missing == (f"identity policies of arn:aws:iam::{A}:user/auditor",)


# --- Cross-account policy evaluation logic: "Example cross-account policy evaluation" -------------
X_CARLOS = policy(
    "user/carlossalazar-policy",
    allow("s3:ListAllMyBuckets", sid="AllowS3ListRead"),
    allow("s3:*Object*", "arn:aws:s3:::Production/*", sid="AllowS3ProductionObjectActions"),
    deny("s3:*", ["arn:aws:s3:::*log*", "arn:aws:s3:::*log*/*"], sid="DenyS3Logs"),
)
X_BUCKET = policy(
    "bucket policy of Production",
    allow(
        ["s3:GetObject*", "s3:PutObject*", "s3:ReplicateObject", "s3:RestoreObject"],
        "arn:aws:s3:::Production/*",
        Principal={"AWS": f"arn:aws:iam::{A}:user/carlossalazar"},
    ),
)


def test_cross_account_explicit_deny_in_trusted_account():
    """Cross-account policy evaluation logic — Production-logs is denied in account A."""
    carlos = user("carlossalazar", X_CARLOS)
    d = evaluate(req(carlos, "s3:PutObject", "arn:aws:s3:::Production-logs/f", account=B))
    assert d.outcome == "explicit-deny"
    assert d.denied_by[0].sid == "DenyS3Logs"


def test_cross_account_both_sides_allow():
    """Cross-account policy evaluation logic — both accounts allow: allowed."""
    carlos = user("carlossalazar", X_CARLOS)
    d = evaluate(
        req(
            carlos, "s3:PutObject", "arn:aws:s3:::Production/f", account=B, resource_policy=X_BUCKET
        )
    )
    assert d.allowed, d.reason
    assert {r.sid for r in d.allowed_by} >= {"AllowS3ProductionObjectActions", "#0"}


def test_cross_account_resource_side_missing():
    """Cross-account policy evaluation logic — the bucket policy does not allow DeleteObject, so the
    identity grant alone is not enough."""
    carlos = user("carlossalazar", X_CARLOS)
    d = evaluate(
        req(
            carlos,
            "s3:DeleteObject",
            "arn:aws:s3:::Production/f",
            account=B,
            resource_policy=X_BUCKET,
        )
    )
    assert d.outcome == "implicit-deny"
    assert d.missing == ("bucket policy of Production",)
    assert "cross-account" in d.reason and "bucket policy of Production" in d.reason


def test_cross_account_identity_side_missing():
    """Cross-account policy evaluation logic — the trusted account's identity policy must allow."""
    carlos = user("carlossalazar")
    d = evaluate(
        req(
            carlos, "s3:PutObject", "arn:aws:s3:::Production/f", account=B, resource_policy=X_BUCKET
        )
    )
    assert d.outcome == "implicit-deny"
    assert d.missing == (f"identity policies of arn:aws:iam::{A}:user/carlossalazar",)


def test_cross_account_resource_policy_naming_the_account_delegates():
    """AWS JSON policy elements: Principal — "AWS account principals": naming the account delegates
    to it; its identities still need identity-based permission."""
    rp = policy(
        "bucket policy of shared",
        allow("s3:GetObject", "arn:aws:s3:::shared/*", Principal={"AWS": A}),
    )
    with_iam = role("reader", policy("reader", allow("s3:GetObject", "arn:aws:s3:::shared/*")))
    without = role("reader")
    assert evaluate(
        req(with_iam, "s3:GetObject", "arn:aws:s3:::shared/k", B, resource_policy=rp)
    ).allowed
    assert not evaluate(
        req(without, "s3:GetObject", "arn:aws:s3:::shared/k", B, resource_policy=rp)
    ).allowed


# --- Permissions boundaries for IAM entities ------------------------------------------------------
SHIRLEY_BOUNDARY = policy("ShirleyBoundary", allow(["s3:*", "cloudwatch:*", "ec2:*"]))


def test_boundary_limits_identity_policy():
    """Permissions boundaries for IAM entities — ShirleyRodriguez cannot iam:CreateUser even with
    a permissions policy that allows it."""
    shirley = user(
        "ShirleyRodriguez",
        policy("create-user", allow("iam:CreateUser")),
        boundary=SHIRLEY_BOUNDARY,
    )
    d = evaluate(req(shirley, "iam:CreateUser", f"arn:aws:iam::{A}:user/new"))
    assert d.outcome == "implicit-deny"
    assert d.missing == ("ShirleyBoundary",)
    assert "permissions boundary ShirleyBoundary" in d.reason


def test_boundary_does_not_grant_by_itself():
    """Permissions boundaries for IAM entities — the boundary "does not provide permissions on its
    own"; an s3 permissions policy inside it is needed."""
    shirley = user("ShirleyRodriguez", boundary=SHIRLEY_BOUNDARY)
    assert not evaluate(req(shirley, "s3:ListBucket", "arn:aws:s3:::b")).allowed
    shirley = user(
        "ShirleyRodriguez", policy("s3", allow("s3:ListBucket")), boundary=SHIRLEY_BOUNDARY
    )
    assert evaluate(req(shirley, "s3:ListBucket", "arn:aws:s3:::b")).allowed


NARROW = policy("NarrowBoundary", allow("sts:GetCallerIdentity"))


@pytest.mark.parametrize(
    ("named", "allowed"),
    [
        ("session", True),  # permissions granted directly to a session are not limited
        ("role", False),  # grants to the role ARN are limited by the boundary
        ("account", False),  # delegates to identity policies, which the boundary limits
        ("*", True),
    ],
)
def test_boundary_and_same_account_resource_policy(named, allowed):
    """How AWS enforcement code logic evaluates requests — "Resource-based policies and implicit
    denies in other policy types (same account)": a role session is limited by its boundary when
    the resource policy names the role ARN, not when it names the session; AWS JSON policy
    elements: Principal — "*" with aws:PrincipalArn is not limited by boundaries."""
    app = role("app", policy("app", allow("s3:GetObject")), boundary=NARROW, session="job-1")
    principal = {
        "session": f"arn:aws:sts::{A}:assumed-role/app/job-1",
        "role": app.arn,
        "account": f"arn:aws:iam::{A}:root",
        "*": "*",
    }[named]
    rp = policy(
        "bucket policy of data",
        allow("s3:GetObject", "arn:aws:s3:::data/*", sid="Grant", Principal={"AWS": principal}),
    )
    d = evaluate(req(app, "s3:GetObject", "arn:aws:s3:::data/x", resource_policy=rp))
    assert d.allowed is allowed, d.reason
    if not allowed:
        assert "NarrowBoundary" in d.missing


def test_boundary_does_not_limit_resource_policy_naming_a_user():
    """How AWS enforcement code logic evaluates requests — IAM user: "resource-based policies that
    grant permissions to an IAM user ARN ... are not limited by an implicit deny in an
    identity-based policy or permissions boundary"."""
    u = user("bob", boundary=NARROW)
    rp = policy(
        "bucket policy of data",
        allow("s3:GetObject", "arn:aws:s3:::data/*", Principal={"AWS": u.arn}),
    )
    assert evaluate(req(u, "s3:GetObject", "arn:aws:s3:::data/x", resource_policy=rp)).allowed


def test_boundary_applies_cross_account():
    """Cross-account policy evaluation logic — the trusted account's evaluation includes "any
    policies that can limit an identity-based policy" (the boundary)."""
    app = role("app", policy("app", allow("s3:GetObject")), boundary=NARROW, account=B)
    rp = policy(
        "bucket policy of data",
        allow("s3:GetObject", "arn:aws:s3:::data/*", Principal={"AWS": app.arn}),
    )
    d = evaluate(req(app, "s3:GetObject", "arn:aws:s3:::data/x", A, resource_policy=rp))
    assert d.outcome == "implicit-deny"
    assert d.missing == ("NarrowBoundary",)


def test_boundary_explicit_deny_and_delegation_condition():
    """Permissions boundaries for IAM entities — "Delegating responsibility to others": Zhang may
    create users only with the XCompanyBoundaries boundary (iam:PermissionsBoundary), and may never
    delete a boundary (NoBoundaryUserDelete)."""
    xb = f"arn:aws:iam::{A}:policy/XCompanyBoundaries"
    delegated_boundary = policy(
        "DelegatedUserBoundary",
        allow(
            ["iam:CreateUser", "iam:PutUserPermissionsBoundary"],
            sid="CreateOrChangeOnlyWithBoundary",
            Condition={"StringEquals": {"iam:PermissionsBoundary": xb}},
        ),
        deny("iam:DeleteUserPermissionsBoundary", sid="NoBoundaryUserDelete"),
    )
    zhang = user(
        "Zhang",
        policy("DelegatedUserPermissions", allow("iam:*", sid="IAM")),
        boundary=delegated_boundary,
    )
    new_user = f"arn:aws:iam::{A}:user/new"
    ok = evaluate(req(zhang, "iam:CreateUser", new_user, context={"iam:PermissionsBoundary": xb}))
    assert ok.allowed, ok.reason
    other = evaluate(
        req(
            zhang,
            "iam:CreateUser",
            new_user,
            context={"iam:PermissionsBoundary": f"arn:aws:iam::{A}:policy/Admin"},
        )
    )
    assert other.outcome == "implicit-deny"
    assert "iam:PermissionsBoundary" in other.reason  # the near miss names the failed condition
    no_boundary = evaluate(req(zhang, "iam:CreateUser", new_user))
    assert not no_boundary.allowed
    delete = evaluate(req(zhang, "iam:DeleteUserPermissionsBoundary", new_user))
    assert delete.outcome == "explicit-deny"
    assert delete.denied_by == (StatementRef("DelegatedUserBoundary", "NoBoundaryUserDelete"),)


# --- SCPs -----------------------------------------------------------------------------------------
FULL_ACCESS = policy("FullAWSAccess", allow("*", sid="FullAWSAccess"))
REGION_GUARD = policy(
    "DenyOutsideEuWest2",
    deny(
        None,
        NotAction=["iam:*", "sts:*", "organizations:*"],
        sid="DenyAllOutsideRequestedRegions",
        Condition={"StringNotEquals": {"aws:RequestedRegion": ["eu-west-2"]}},
    ),
)


def test_scp_deny_list_with_full_access():
    """AWS Organizations — "Deny access to AWS based on the requested AWS Region" SCP example, with
    FullAWSAccess attached: a region outside the list is denied; IAM (global) is not."""
    admin = role("admin", policy("admin", allow("*")))
    scps = (FULL_ACCESS, REGION_GUARD)
    ok = evaluate(req(admin, "sqs:SendMessage", f"arn:aws:sqs:eu-west-2:{A}:q", scps=scps))
    assert ok.allowed, ok.reason
    assert StatementRef("FullAWSAccess", "FullAWSAccess") in ok.allowed_by
    far = evaluate(req(admin, "sqs:SendMessage", f"arn:aws:sqs:us-east-1:{A}:q", scps=scps))
    assert far.outcome == "explicit-deny"
    assert far.denied_by[0].sid == "DenyAllOutsideRequestedRegions"
    iam_call = evaluate(req(admin, "iam:GetRole", f"arn:aws:iam::{A}:role/x", scps=scps))
    assert iam_call.allowed


def test_scp_must_allow():
    """Policy evaluation logic — "If the enforcement code does not find any applicable Allow
    statements in the SCPs, then the request is implicitly denied"."""
    admin = role("admin", policy("admin", allow("*")))
    only_s3 = policy("OnlyS3", allow("s3:*"))
    d = evaluate(req(admin, "sqs:SendMessage", f"arn:aws:sqs:eu-west-2:{A}:q", scps=(only_s3,)))
    assert d.outcome == "implicit-deny"
    assert d.missing == (f"SCPs of account {A}",)


def test_scps_do_not_apply_to_service_principals_or_service_linked_roles():
    """AWS Organizations — SCPs "don't affect ... service-linked roles" and restrict principals of
    member accounts, not service principals."""
    nothing = policy("DenyAllButS3", allow("s3:*"))
    rp = policy("topic policy", allow("sns:Publish", Principal={"Service": "s3.amazonaws.com"}))
    topic = f"arn:aws:sns:eu-west-2:{A}:t"
    d = evaluate(
        req(service("s3.amazonaws.com"), "sns:Publish", topic, resource_policy=rp, scps=(nothing,))
    )
    assert d.allowed, d.reason
    slr = Principal(
        f"arn:aws:iam::{A}:role/aws-service-role/sagemaker.amazonaws.com/AWSServiceRoleForSM",
        "role",
        A,
        identity_policies=(policy("slr", allow("sns:Publish")),),
    )
    assert evaluate(req(slr, "sns:Publish", topic, scps=(nothing,))).allowed


# --- VPC endpoint policies ------------------------------------------------------------------------
ENDPOINT = policy(
    "endpoint policy of vpce-1a2b3c4d",
    allow(
        ["s3:GetObject", "s3:PutObject"],
        ["arn:aws:s3:::my_secure_bucket", "arn:aws:s3:::my_secure_bucket/*"],
        sid="Access-to-specific-bucket-only",
        Principal="*",
    ),
)


def test_endpoint_policy_must_allow():
    """Control access to VPC endpoints using endpoint policies — "Access-to-specific-bucket-only":
    requests through the endpoint to another bucket are denied even when IAM allows them."""
    app = role("app", policy("app", allow("s3:*")))
    ok = evaluate(
        req(app, "s3:GetObject", "arn:aws:s3:::my_secure_bucket/k", endpoint_policy=ENDPOINT)
    )
    assert ok.allowed
    other = evaluate(req(app, "s3:GetObject", "arn:aws:s3:::other/k", endpoint_policy=ENDPOINT))
    assert other.outcome == "implicit-deny"
    assert other.missing == ("endpoint policy of vpce-1a2b3c4d",)


def test_bucket_policy_restricting_to_a_vpc_endpoint():
    """Amazon S3 — "Restricting access to a specific VPC endpoint" (Deny with StringNotEquals
    aws:SourceVpce): from the endpoint allowed, from elsewhere denied."""
    rp = policy(
        "bucket policy of awsexamplebucket1",
        deny(
            "s3:*",
            ["arn:aws:s3:::awsexamplebucket1", "arn:aws:s3:::awsexamplebucket1/*"],
            sid="Access-to-specific-VPCE-only",
            Principal="*",
            Condition={"StringNotEquals": {"aws:SourceVpce": "vpce-1a2b3c4d"}},
        ),
    )
    app = role("app", policy("app", allow("s3:GetObject")))
    via = evaluate(
        req(
            app,
            "s3:GetObject",
            "arn:aws:s3:::awsexamplebucket1/k",
            resource_policy=rp,
            context={"aws:SourceVpce": "vpce-1a2b3c4d"},
        )
    )
    assert via.allowed
    direct = evaluate(
        req(app, "s3:GetObject", "arn:aws:s3:::awsexamplebucket1/k", resource_policy=rp)
    )
    assert direct.outcome == "explicit-deny"


# --- service principals ---------------------------------------------------------------------------
TRAIL = f"arn:aws:cloudtrail:eu-west-2:{A}:trail/main"
CLOUDTRAIL_BUCKET = policy(
    "bucket policy of trail-bucket",
    allow(
        "s3:GetBucketAcl",
        "arn:aws:s3:::trail-bucket",
        sid="AWSCloudTrailAclCheck",
        Principal={"Service": "cloudtrail.amazonaws.com"},
        Condition={"StringEquals": {"aws:SourceArn": TRAIL}},
    ),
    allow(
        "s3:PutObject",
        f"arn:aws:s3:::trail-bucket/AWSLogs/{A}/*",
        sid="AWSCloudTrailWrite",
        Principal={"Service": "cloudtrail.amazonaws.com"},
        Condition={
            "StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control", "aws:SourceArn": TRAIL}
        },
    ),
)


def test_service_principal_needs_resource_policy():
    """AWS CloudTrail — "Amazon S3 bucket policy for CloudTrail": CloudTrail writes when the bucket
    policy allows it for this trail (aws:SourceArn) with bucket-owner-full-control."""
    ct = service("cloudtrail.amazonaws.com")
    obj = f"arn:aws:s3:::trail-bucket/AWSLogs/{A}/CloudTrail/x.json.gz"
    ctx = {"aws:SourceArn": TRAIL, "s3:x-amz-acl": "bucket-owner-full-control"}
    assert evaluate(
        req(ct, "s3:PutObject", obj, context=ctx, resource_policy=CLOUDTRAIL_BUCKET)
    ).allowed
    other_trail = {**ctx, "aws:SourceArn": f"arn:aws:cloudtrail:eu-west-2:{B}:trail/evil"}
    d = evaluate(
        req(ct, "s3:PutObject", obj, context=other_trail, resource_policy=CLOUDTRAIL_BUCKET)
    )
    assert d.outcome == "implicit-deny"
    assert "aws:SourceArn" in d.reason  # closest statement, failing condition
    none = evaluate(req(ct, "s3:PutObject", obj, context=ctx))
    assert none.outcome == "implicit-deny"
    assert "only a resource policy can allow a service principal" in none.reason


def test_project_bucket_policy_need_to_know_and_kms_only_uploads():
    """Policy evaluation logic (explicit deny) on this project's own bucket policy builder:
    DenyAllButNamedRoles denies roles not named, DenyNonKmsUploads and DenyOtherKmsKeys deny
    uploads that ask for another encryption or key, DenyInsecureTransport denies plain HTTP.
    (Uploads without encryption headers: see test_deny_with_negated_ifexists_on_missing_key.)"""
    bucket = "arn:aws:s3:::mlops-dev-data"
    key = f"arn:aws:kms:eu-west-2:{A}:key/k1"
    named = f"arn:aws:iam::{A}:role/mlops-dev-pipeline"
    rp = project_iam.bucket_policy(bucket, key, need_to_know_roles=[named])
    bucket_policy = policy("bucket policy of mlops-dev-data", *rp["Statement"])
    grant = policy("rw", allow(["s3:GetObject", "s3:PutObject"], f"{bucket}/*"))
    pipeline = role("mlops-dev-pipeline", grant)
    other = role("mlops-dev-notebook", grant)
    obj = f"{bucket}/features/x.parquet"
    assert evaluate(req(pipeline, "s3:GetObject", obj, resource_policy=bucket_policy)).allowed
    d = evaluate(req(other, "s3:GetObject", obj, resource_policy=bucket_policy))
    assert d.outcome == "explicit-deny"
    assert d.denied_by[0].sid == "DenyAllButNamedRoles"
    kms_upload = {
        "s3:x-amz-server-side-encryption": "aws:kms",
        "s3:x-amz-server-side-encryption-aws-kms-key-id": key,
    }
    assert evaluate(
        req(pipeline, "s3:PutObject", obj, resource_policy=bucket_policy, context=kms_upload)
    ).allowed
    aes = evaluate(
        req(
            pipeline,
            "s3:PutObject",
            obj,
            resource_policy=bucket_policy,
            context={"s3:x-amz-server-side-encryption": "AES256"},
        )
    )
    assert aes.denied_by[0].sid == "DenyNonKmsUploads"
    other_key = evaluate(
        req(
            pipeline,
            "s3:PutObject",
            obj,
            resource_policy=bucket_policy,
            context={
                "s3:x-amz-server-side-encryption": "aws:kms",
                "s3:x-amz-server-side-encryption-aws-kms-key-id": key.replace("k1", "k2"),
            },
        )
    )
    assert other_key.denied_by[0].sid == "DenyOtherKmsKeys"
    plain = evaluate(
        req(
            pipeline,
            "s3:GetObject",
            obj,
            resource_policy=bucket_policy,
            context={"aws:SecureTransport": False},
        )
    )
    assert plain.denied_by[0].sid == "DenyInsecureTransport"


def test_deny_with_negated_ifexists_on_missing_key():
    """IAM JSON policy elements: Condition operators — "...IfExists": "If you are using an Effect:
    Deny element with a negated condition operator like StringNotEqualsIfExists, the request is
    still denied even if the tag is missing"; the positive form lets the missing key through."""
    bucket = "arn:aws:s3:::data"
    negated = policy(
        "bp",
        deny(
            "s3:PutObject",
            f"{bucket}/*",
            sid="DenyNonKms",
            Principal="*",
            Condition={"StringNotEqualsIfExists": {"s3:x-amz-server-side-encryption": "aws:kms"}},
        ),
    )
    app = role("app", policy("rw", allow("s3:PutObject", f"{bucket}/*")))
    headerless = evaluate(req(app, "s3:PutObject", f"{bucket}/k", resource_policy=negated))
    assert headerless.outcome == "explicit-deny"
    present_only = policy(
        "bp",
        deny(
            "s3:PutObject",
            f"{bucket}/*",
            sid="DenyNonKms",
            Principal="*",
            Condition={
                "Null": {"s3:x-amz-server-side-encryption": "false"},
                "StringNotEquals": {"s3:x-amz-server-side-encryption": "aws:kms"},
            },
        ),
    )
    assert evaluate(req(app, "s3:PutObject", f"{bucket}/k", resource_policy=present_only)).allowed
    aes = {"s3:x-amz-server-side-encryption": "AES256"}
    assert (
        evaluate(
            req(app, "s3:PutObject", f"{bucket}/k", resource_policy=present_only, context=aes)
        ).outcome
        == "explicit-deny"
    )


# --- NotAction, NotResource, NotPrincipal ---------------------------------------------------------
MFA_POLICY = policy(
    "ManageOwnCredentialsWithMFA",
    allow(
        ["iam:GetUser", "iam:ChangePassword"],
        "arn:aws:iam::*:user/${aws:username}",
        sid="AllowManageOwnPasswords",
    ),
    deny(
        None,
        sid="DenyAllExceptListedIfNoMFA",
        NotAction=[
            "iam:CreateVirtualMFADevice",
            "iam:EnableMFADevice",
            "iam:GetUser",
            "iam:ListMFADevices",
            "iam:ListVirtualMFADevices",
            "iam:ResyncMFADevice",
            "sts:GetSessionToken",
        ],
        Condition={"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}},
    ),
)


def test_notaction_deny_unless_mfa():
    """IAM — "AWS: Allows MFA-authenticated IAM users to manage their own credentials":
    DenyAllExceptListedIfNoMFA denies everything but the listed actions without MFA (BoolIfExists
    also denies when the key is missing); with MFA the allow applies."""
    bob = user("bob", MFA_POLICY)
    me = f"arn:aws:iam::{A}:user/bob"
    no_mfa = evaluate(req(bob, "iam:ChangePassword", me))
    assert no_mfa.outcome == "explicit-deny"
    assert no_mfa.denied_by[0].sid == "DenyAllExceptListedIfNoMFA"
    explicit_false = evaluate(
        req(bob, "iam:ChangePassword", me, context={"aws:MultiFactorAuthPresent": False})
    )
    assert explicit_false.outcome == "explicit-deny"
    with_mfa = evaluate(
        req(bob, "iam:ChangePassword", me, context={"aws:MultiFactorAuthPresent": True})
    )
    assert with_mfa.allowed, with_mfa.reason
    listed = evaluate(req(bob, "iam:GetUser", me))  # not denied: in NotAction
    assert listed.allowed
    someone_else = evaluate(
        req(
            bob,
            "iam:ChangePassword",
            f"arn:aws:iam::{A}:user/alice",
            context={"aws:MultiFactorAuthPresent": True},
        )
    )
    assert someone_else.outcome == "implicit-deny"  # ${aws:username} is bob


def test_notresource_deny():
    """IAM JSON policy elements: NotResource — deny every S3 resource except the listed ones."""
    p = policy(
        "payroll-only",
        allow("s3:*"),
        deny(
            "s3:*",
            None,
            sid="DenyAllButPayroll",
            NotResource=["arn:aws:s3:::HRBucket/Payroll", "arn:aws:s3:::HRBucket/Payroll/*"],
        ),
    )
    u = user("hr", p)
    assert evaluate(req(u, "s3:GetObject", "arn:aws:s3:::HRBucket/Payroll/jan.csv")).allowed
    d = evaluate(req(u, "s3:GetObject", "arn:aws:s3:::HRBucket/Other/x"))
    assert d.outcome == "explicit-deny"


AUDIT_SESSION = (
    f"arn:aws:sts::{A}:assumed-role/cross-account-read-only-role/cross-account-audit-app"
)


@pytest.mark.parametrize(
    ("exempted", "outcome"),
    [
        (
            [
                AUDIT_SESSION,
                f"arn:aws:iam::{A}:role/cross-account-read-only-role",
                f"arn:aws:iam::{A}:root",
            ],
            "allowed",
        ),
        ([f"arn:aws:iam::{A}:role/cross-account-read-only-role"], "explicit-deny"),
    ],
)
def test_notprincipal_with_deny(exempted, outcome):
    """AWS JSON policy elements: NotPrincipal — "IAM role in the same or different account": the
    session is exempted only when the session, the role and the account are all listed."""
    rp = policy(
        "bucket policy of Bucket_AccountAudit",
        deny(
            "s3:*",
            ["arn:aws:s3:::Bucket_AccountAudit", "arn:aws:s3:::Bucket_AccountAudit/*"],
            sid="DenyAllButAudit",
            NotPrincipal={"AWS": exempted},
        ),
        allow(
            "s3:GetObject",
            "arn:aws:s3:::Bucket_AccountAudit/*",
            sid="AuditRead",
            Principal={"AWS": A},
        ),
    )
    audit = role(
        "cross-account-read-only-role",
        policy("read", allow("s3:GetObject")),
        account=A,
        session="cross-account-audit-app",
    )
    d = evaluate(
        req(audit, "s3:GetObject", "arn:aws:s3:::Bucket_AccountAudit/r.csv", B, resource_policy=rp)
    )
    assert d.outcome == outcome, d.reason
    intruder = role("other", policy("read", allow("s3:GetObject")))
    d2 = evaluate(
        req(
            intruder,
            "s3:GetObject",
            "arn:aws:s3:::Bucket_AccountAudit/r.csv",
            B,
            resource_policy=rp,
        )
    )
    assert d2.outcome == "explicit-deny"


# --- wildcard ARNs --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("pattern", "arn", "matches"),
    [
        (f"arn:aws:iam::{A}:user/accounting/*", f"arn:aws:iam::{A}:user/accounting/alice", True),
        (f"arn:aws:iam::{A}:user/accounting/*", f"arn:aws:iam::{A}:user/sales/bob", False),
        ("arn:aws:s3:::my_corporate_bucket/*", "arn:aws:s3:::my_corporate_bucket/a/b/c", True),
        ("arn:aws:s3:::my_corporate_bucket/*", "arn:aws:s3:::my_corporate_bucket", False),
        (f"arn:aws:iam::{A}:user/Bob", f"arn:aws:iam::{A}:user/bob", False),  # case-sensitive
        ("arn:aws:sqs:*:*:queue?", f"arn:aws:sqs:eu-west-2:{A}:queue1", True),
        ("arn:aws:sqs:*:*:queue?", f"arn:aws:sqs:eu-west-2:{A}:queue12", False),
        # a trailing * of a segment expands across colons (Resource element only)
        (
            "arn:aws:someservice:*:111122223333:finance/*",
            "arn:aws:someservice:us-east-2:999999999999:store/abc:111122223333:finance/d.txt",
            True,
        ),
        (
            f"arn:aws:logs:eu-west-2:{A}:log-group:/aws/lambda/*",
            f"arn:aws:logs:eu-west-2:{A}:log-group:/aws/lambda/f:log-stream:x",
            True,
        ),
        (f"arn:aws:logs:eu-west-2:{B}:*", f"arn:aws:logs:eu-west-2:{A}:log-group:x", False),
    ],
)
def test_resource_wildcards(pattern, arn, matches):
    """IAM JSON policy elements: Resource — "Using wildcards in resource ARNs": * and ? within
    segments, a segment's trailing * may expand beyond colons, names are case-sensitive."""
    u = user("u", policy("p", allow("*", pattern)))
    action = {
        "iam": "iam:GetUser",
        "s3": "s3:GetObject",
        "sqs": "sqs:SendMessage",
        "logs": "logs:PutLogEvents",
        "someservice": "sqs:SendMessage",
    }[arn.split(":")[2]]
    assert evaluate(req(u, action, arn)).allowed is matches


def test_action_names_are_case_insensitive_and_wildcards():
    """IAM JSON policy elements: Action — action names are case-insensitive; * and ? wildcards."""
    u = user("u", policy("p", allow(["S3:get*", "kms:ReEncrypt*"])))
    assert evaluate(req(u, "s3:GetObject", "arn:aws:s3:::b/k")).allowed
    assert evaluate(req(u, "kms:ReEncryptFrom", f"arn:aws:kms:eu-west-2:{A}:key/k")).allowed
    assert not evaluate(req(u, "s3:PutObject", "arn:aws:s3:::b/k")).allowed


# --- request context ------------------------------------------------------------------------------
def test_derived_global_keys_for_a_role_session():
    """AWS global condition context keys — aws:PrincipalArn is the role ARN (not the session),
    aws:PrincipalAccount, aws:PrincipalType AssumedRole, aws:PrincipalTag from the role's tags,
    aws:PrincipalIsAWSService false, aws:SecureTransport true, aws:ResourceAccount."""
    app = Principal(f"arn:aws:iam::{A}:role/team/app", "role", A, tags={"team": "claims"})
    ctx = build_context(req(app, "s3:GetObject", "arn:aws:s3:::b/k", B))
    assert ctx.get("aws:PrincipalArn") == f"arn:aws:iam::{A}:role/team/app"
    assert ctx.get("aws:principalaccount") == A
    assert ctx.get("aws:PrincipalType") == "AssumedRole"
    assert ctx.get("aws:PrincipalTag/team") == "claims"
    assert ctx.get("aws:PrincipalIsAWSService") is False
    assert ctx.get("aws:SecureTransport") is True
    assert ctx.get("aws:ResourceAccount") == B
    svc = build_context(req(service("logs.eu-west-2.amazonaws.com"), "kms:Decrypt", "*"))
    assert svc.get("aws:PrincipalIsAWSService") is True
    assert svc.get("aws:PrincipalServiceName") == "logs.eu-west-2.amazonaws.com"
    assert "aws:PrincipalArn" not in svc
    overridden = build_context(
        req(app, "s3:GetObject", "arn:aws:s3:::b/k", context={"aws:SecureTransport": False})
    )
    assert overridden.get("aws:SecureTransport") is False


def test_principal_tag_condition_and_variable():
    """IAM tutorial: Define permissions to access AWS resources based on tags (ABAC) — access when
    aws:ResourceTag/team equals ${aws:PrincipalTag/team}."""
    p = policy(
        "abac",
        allow(
            "sagemaker:DescribeModel",
            Condition={"StringEquals": {"aws:ResourceTag/team": "${aws:PrincipalTag/team}"}},
        ),
    )
    claims = Principal(
        f"arn:aws:iam::{A}:role/ds", "role", A, identity_policies=(p,), tags={"team": "claims"}
    )
    model = f"arn:aws:sagemaker:eu-west-2:{A}:model/m"
    assert evaluate(
        req(claims, "sagemaker:DescribeModel", model, context={"aws:ResourceTag/team": "claims"})
    ).allowed
    assert not evaluate(
        req(claims, "sagemaker:DescribeModel", model, context={"aws:ResourceTag/team": "pricing"})
    ).allowed
    untagged = Principal(f"arn:aws:iam::{A}:role/ds", "role", A, identity_policies=(p,))
    assert not evaluate(
        req(untagged, "sagemaker:DescribeModel", model, context={"aws:ResourceTag/team": "claims"})
    ).allowed


def test_root_user_has_full_access_in_its_account_but_not_across():
    """Policy evaluation logic — "all requests are implicitly denied with the exception of the AWS
    account root user, which has full access"; across accounts the resource side must allow."""
    assert evaluate(req(root(), "s3:DeleteBucket", "arn:aws:s3:::b")).allowed
    assert not evaluate(req(root(), "s3:DeleteBucket", "arn:aws:s3:::b", B)).allowed
    rp = policy("bp", deny("s3:DeleteBucket", "arn:aws:s3:::b", Principal="*"))
    assert (
        evaluate(req(root(), "s3:DeleteBucket", "arn:aws:s3:::b", resource_policy=rp)).outcome
        == "explicit-deny"
    )


# --- errors ---------------------------------------------------------------------------------------
def test_unknown_action_is_an_error():
    """Service Authorization Reference — a request naming an action that does not exist is a bug
    in the scenario, not a denial."""
    with pytest.raises(UnknownActionError, match="s3:GetObject"):
        evaluate(req(user("u"), "s3:GetObjet", "arn:aws:s3:::b/k"))


def test_malformed_policies_are_errors():
    """IAM JSON policy element reference — Effect must be Allow/Deny; identity policies have no
    Principal; condition operators must exist."""
    bad_effect = user("u", policy("p", {"Effect": "Permit", "Action": "s3:*", "Resource": "*"}))
    with pytest.raises(PolicyError, match="Effect"):
        evaluate(req(bad_effect, "s3:GetObject", "arn:aws:s3:::b/k"))
    principal = user("u", policy("p", allow("s3:*", Principal="*")))
    with pytest.raises(PolicyError, match="Principal"):
        evaluate(req(principal, "s3:GetObject", "arn:aws:s3:::b/k"))
    no_resource = user("u", policy("p", allow("s3:*", None)))
    with pytest.raises(PolicyError, match="Resource"):
        evaluate(req(no_resource, "s3:GetObject", "arn:aws:s3:::b/k"))
    bad_op = user("u", policy("p", allow("s3:*", Condition={"StringEqualz": {"s3:prefix": "a"}})))
    with pytest.raises(PolicyError, match="StringEqualz"):
        evaluate(req(bad_op, "s3:GetObject", "arn:aws:s3:::b/k"))
