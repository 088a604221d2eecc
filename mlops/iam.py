"""Pure builders for IAM, key and bucket policy documents.

Everything here takes plain strings and returns plain dicts (JSON-ready), so it can be unit-tested
without Pulumi and called inside `Output.apply`. We never use `aws.iam.get_policy_document`: it is
an invoke, which Pulumi mocks answer with nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

VERSION = "2012-10-17"
Statement = dict[str, Any]
NO_RESOURCE = ""
"""`resources=NO_RESOURCE`: trust policies, where IAM rejects a Resource element."""


def _one_or_many(values: Sequence[str] | str) -> str | list[str]:
    if isinstance(values, str):
        return values
    values = list(dict.fromkeys(values))  # de-duplicate, keep order
    return values[0] if len(values) == 1 else values


def statement(
    sid: str,
    actions: Sequence[str] | str,
    resources: Sequence[str] | str | None = None,
    *,
    effect: str = "Allow",
    principal: Mapping[str, Any] | str | None = None,
    condition: Mapping[str, Mapping[str, Any]] | None = None,
) -> Statement:
    """One statement. `resources=None` is for key policies (Resource "*" means "this key")."""
    if effect not in ("Allow", "Deny"):
        raise ValueError(f"effect must be Allow or Deny, got {effect!r}")
    st: Statement = {"Sid": sid, "Effect": effect}
    if principal is not None:
        st["Principal"] = principal
    st["Action"] = _one_or_many(actions)
    if resources != NO_RESOURCE:
        st["Resource"] = _one_or_many(resources) if resources is not None else "*"
    if condition:
        st["Condition"] = {op: dict(body) for op, body in condition.items()}
    return st


def document(*statements: Statement | Iterable[Statement]) -> dict[str, Any]:
    flat: list[Statement] = []
    for st in statements:
        if isinstance(st, dict):
            flat.append(st)
        else:
            flat.extend(st)
    sids = [s["Sid"] for s in flat]
    dupes = sorted({s for s in sids if sids.count(s) > 1})
    if dupes:
        raise ValueError(f"duplicate statement ids: {dupes}")
    return {"Version": VERSION, "Statement": flat}


def dumps(doc: Mapping[str, Any]) -> str:
    return json.dumps(doc, sort_keys=False, separators=(",", ":"))


# --- ARNs ------------------------------------------------------------------------------------
def account_root(account_id: str) -> str:
    return f"arn:aws:iam::{account_id}:root"


def role_arn(account_id: str, role_name: str) -> str:
    return f"arn:aws:iam::{account_id}:role/{role_name}"


def bucket_arns(bucket_arn: str) -> list[str]:
    return [bucket_arn, f"{bucket_arn}/*"]


# --- trust policies --------------------------------------------------------------------------
def service_trust(service: str, source_account: str | None = None) -> dict[str, Any]:
    """Trust one AWS service; with `source_account`, only on behalf of that account (confused
    deputy protection)."""
    cond = {"StringEquals": {"aws:SourceAccount": source_account}} if source_account else None
    return document(
        statement(
            "TrustService",
            "sts:AssumeRole",
            principal={"Service": service},
            condition=cond,
            resources=NO_RESOURCE,
        )
    )


def role_trust(role_arns: Sequence[str], external_account: str | None = None) -> dict[str, Any]:
    """Trust exactly these roles (cross-account deployment). The principal is the role ARN itself,
    not the account root, so no other identity in that account can assume it."""
    return document(
        statement(
            "TrustNamedRoles",
            "sts:AssumeRole",
            NO_RESOURCE,
            principal={"AWS": _one_or_many(list(role_arns))},
            condition={"StringEquals": {"aws:PrincipalAccount": external_account}}
            if external_account
            else None,
        )
    )


# --- S3 bucket policies ----------------------------------------------------------------------
def tls_only(bucket_arn: str) -> Statement:
    return statement(
        "DenyInsecureTransport",
        "s3:*",
        bucket_arns(bucket_arn),
        effect="Deny",
        principal="*",
        condition={"Bool": {"aws:SecureTransport": "false"}},
    )


def kms_only_uploads(bucket_arn: str, key_arn: str) -> list[Statement]:
    """Deny uploads that ask for another encryption type or another key.

    Each Deny applies only when the request carries the header (`Null: false`): a Deny with a
    negated `...IfExists` operator is true on a missing key and would refuse every upload without
    SSE headers (Pulumi state, CloudTrail's and Config's delivery checks), as AWS documents. Such
    uploads get the bucket's default encryption (SSE-KMS with this key).
    """
    sse = "s3:x-amz-server-side-encryption"
    key_id = "s3:x-amz-server-side-encryption-aws-kms-key-id"
    return [
        statement(
            "DenyNonKmsUploads",
            "s3:PutObject",
            f"{bucket_arn}/*",
            effect="Deny",
            principal="*",
            condition={"Null": {sse: "false"}, "StringNotEquals": {sse: "aws:kms"}},
        ),
        statement(
            "DenyOtherKmsKeys",
            "s3:PutObject",
            f"{bucket_arn}/*",
            effect="Deny",
            principal="*",
            condition={"Null": {key_id: "false"}, "ArnNotEquals": {key_id: key_arn}},
        ),
    ]


OBJECT_ACTIONS = (
    "s3:GetObject",
    "s3:GetObjectVersion",
    "s3:PutObject",
    "s3:DeleteObject",
    "s3:DeleteObjectVersion",
)
LIST_ACTIONS = ("s3:ListBucket", "s3:ListBucketVersions")
DATA_PLANE_ACTIONS = OBJECT_ACTIONS + LIST_ACTIONS


def need_to_know(
    bucket_arn: str, allowed_role_arns: Sequence[str], managers: Sequence[str] = ()
) -> list[Statement]:
    """Customer data: every principal except the named roles is denied the data plane.

    Object reads and writes are for the named roles only. Listing is also open to `managers` (the
    deployer): the provider reads a bucket back with HeadBucket, which needs s3:ListBucket, so a
    deployer denied it cannot manage the bucket it creates; it still cannot read or write objects.
    Management actions (policy, encryption settings) stay with IAM.
    """
    if not allowed_role_arns:
        raise ValueError("need_to_know needs at least one allowed role ARN")
    statements = [
        statement(
            "DenyAllButNamedRoles",
            list(OBJECT_ACTIONS),
            f"{bucket_arn}/*",
            effect="Deny",
            principal="*",
            condition={"ArnNotLike": {"aws:PrincipalArn": _one_or_many(list(allowed_role_arns))}},
        ),
        statement(
            "DenyListingButNamedRoles",
            list(LIST_ACTIONS),
            bucket_arn,
            effect="Deny",
            principal="*",
            condition={
                "ArnNotLike": {"aws:PrincipalArn": _one_or_many([*allowed_role_arns, *managers])}
            },
        ),
    ]
    return statements


def cross_account_read(bucket_arn: str, readers: Mapping[str, Sequence[str]]) -> list[Statement]:
    """Read-only access for named roles of other accounts ({account_id: [role ARNs]}).

    The principal is the other account and the roles are named in the condition: S3 rejects a
    policy naming a role that does not exist yet, and staging/prod roles are created after dev.
    """
    return [
        statement(
            f"CrossAccountRead{account}",
            ["s3:GetObject", "s3:GetObjectVersion", "s3:ListBucket"],
            bucket_arns(bucket_arn),
            principal={"AWS": account_root(account)},
            condition={"ArnLike": {"aws:PrincipalArn": _one_or_many(list(roles))}},
        )
        for account, roles in sorted(readers.items())
    ]


def access_log_delivery(bucket_arn: str, account_id: str) -> Statement:
    """S3 server access logging writes as the logging service, only for our own buckets."""
    return statement(
        "AllowS3ServerAccessLogs",
        "s3:PutObject",
        f"{bucket_arn}/*",
        principal={"Service": "logging.s3.amazonaws.com"},
        condition={"StringEquals": {"aws:SourceAccount": account_id}},
    )


def bucket_policy(
    bucket_arn: str,
    key_arn: str | None,
    *,
    need_to_know_roles: Sequence[str] = (),
    need_to_know_managers: Sequence[str] = (),
    cross_account_readers: Mapping[str, Sequence[str]] | None = None,
    extra: Sequence[Statement] = (),
) -> dict[str, Any]:
    """The policy every platform bucket gets: TLS only, KMS-only uploads, optional extras."""
    statements: list[Statement] = [tls_only(bucket_arn)]
    if key_arn:
        statements += kms_only_uploads(bucket_arn, key_arn)
    if need_to_know_roles:
        statements += need_to_know(bucket_arn, need_to_know_roles, need_to_know_managers)
    if cross_account_readers:
        statements += cross_account_read(bucket_arn, cross_account_readers)
    statements += list(extra)
    return document(statements)


# --- KMS key policies ------------------------------------------------------------------------
KEY_ADMIN_ACTIONS = (
    "kms:CreateAlias",  # not kms:Create*: that includes kms:CreateGrant (granting oneself use)
    "kms:Describe*",
    "kms:Enable*",
    "kms:List*",
    "kms:Put*",
    "kms:Update*",
    "kms:Revoke*",
    "kms:Disable*",
    "kms:Get*",
    "kms:Delete*",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:ScheduleKeyDeletion",
    "kms:CancelKeyDeletion",
    "kms:RotateKeyOnDemand",
)
KEY_USE_ACTIONS = (
    "kms:Encrypt",
    "kms:Decrypt",
    "kms:ReEncrypt*",
    "kms:GenerateDataKey*",
    "kms:DescribeKey",
)
KEY_DECRYPT_ACTIONS = ("kms:Decrypt", "kms:DescribeKey")


KEY_SELF_USE_ACTIONS = ("kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*")


def key_admin_guard(admin_arns: Sequence[str]) -> list[Statement]:
    """Key administrators never use the key themselves and never grant its use.

    Explicit denies, so no IAM policy (AdministratorAccess included) and no later key-policy
    statement can give it back: direct cryptographic calls (no `kms:ViaService`: through S3 or
    Lambda the deployer's writes stay possible, `deployer_use_via`) and grants that are not for an
    AWS resource. Changing the key policy itself stays with the administrators: every
    PutKeyPolicy is a CloudTrail management event (docs/security.md, "Keys").
    """
    admins = {"aws:PrincipalArn": _one_or_many(list(admin_arns))}
    return [
        statement(
            "KeyAdminsNeverUseTheKey",
            list(KEY_SELF_USE_ACTIONS),
            effect="Deny",
            principal={"AWS": "*"},
            condition={"ArnLike": admins, "Null": {"kms:ViaService": "true"}},
        ),
        statement(
            "KeyAdminsGrantNothing",
            "kms:CreateGrant",
            effect="Deny",
            principal={"AWS": "*"},
            condition={"ArnLike": admins, "BoolIfExists": {"kms:GrantIsForAWSResource": "false"}},
        ),
    ]


def break_glass_administration(account_id: str, break_glass_arns: Sequence[str]) -> Statement:
    """The break-glass role may administer the key (to repair its policy when the deployer is
    gone), only in a session signed in with MFA; like the administrators it never uses it."""
    return statement(
        "BreakGlassAdministration",
        list(KEY_ADMIN_ACTIONS),
        principal={"AWS": account_root(account_id)},
        condition={
            "ArnEquals": {"aws:PrincipalArn": _one_or_many(list(break_glass_arns))},
            "Bool": {"aws:MultiFactorAuthPresent": "true"},
        },
    )


def key_policy(
    account_id: str,
    *,
    admin_arns: Sequence[str],
    user_arn_patterns: Sequence[str],
    services: Sequence[Statement] = (),
    cross_account_decrypt: Mapping[str, Sequence[str]] | None = None,
    break_glass_arns: Sequence[str] = (),
) -> dict[str, Any]:
    """A key policy that names who may administer and who may use the key.

    - admins: ARNs or ARN patterns of the deploying principals (administration only: explicitly
      denied direct use and grants, `key_admin_guard`); never the bare account root;
    - break_glass_arns: roles that may administer the key in an MFA session (staging, prod);
    - users: principals of this account whose ARN matches the named patterns (our roles, all
      named through `mlops.naming`); their IAM policies must also grant the key;
    - services: statements for AWS services (CloudWatch Logs, CloudTrail, S3 log delivery);
    - cross_account_decrypt: {account_id: [role ARNs]} — decrypt-only for staging/prod roles that
      read dev artifacts.
    """
    root = account_root(account_id)
    if root in admin_arns:
        raise ValueError(
            "key_policy: the account root is not a key administrator (it would let every "
            "principal of the account administer the key); name the deploying role"
        )
    statements: list[Statement] = [
        # The account delegates administration to the named deploying principals only (by ARN
        # or pattern: an SSO permission set's role has a generated suffix); their IAM policies
        # must also allow it.
        statement(
            "KeyAdministration",
            list(KEY_ADMIN_ACTIONS),
            principal={"AWS": root},
            condition={"ArnLike": {"aws:PrincipalArn": _one_or_many(list(admin_arns))}},
        ),
        *key_admin_guard(admin_arns),
        # What AWS services do with the deployer's credentials while it creates resources (a
        # Studio domain's volumes, a Lambda function's environment): grants for AWS resources
        # only, never a grant to a principal of its choosing.
        statement(
            "KeyAdminGrantsForAwsResources",
            ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"],
            principal={"AWS": root},
            condition={
                "ArnLike": {"aws:PrincipalArn": _one_or_many(list(admin_arns))},
                "Bool": {"kms:GrantIsForAWSResource": "true"},
            },
        ),
        # ECR (a KMS-encrypted repository) retires its grant with the deployer's credentials
        statement(
            "KeyAdminRetiresServiceGrants",
            "kms:RetireGrant",
            principal={"AWS": root},
            condition={
                "ArnLike": {"aws:PrincipalArn": _one_or_many(list(admin_arns))},
                "StringLike": {"kms:ViaService": "*.amazonaws.com"},
            },
        ),
        statement(
            "KeyUseByNamedRoles",
            list(KEY_USE_ACTIONS),
            principal={"AWS": root},
            condition={"ArnLike": {"aws:PrincipalArn": _one_or_many(list(user_arn_patterns))}},
        ),
        statement(
            "GrantsForAwsResourcesOnly",
            ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"],
            principal={"AWS": root},
            condition={
                "ArnLike": {"aws:PrincipalArn": _one_or_many(list(user_arn_patterns))},
                "Bool": {"kms:GrantIsForAWSResource": "true"},
            },
        ),
        *services,
    ]
    if break_glass_arns:
        statements.append(break_glass_administration(account_id, break_glass_arns))
    # Staging/prod roles are created after dev, and a key policy naming a role that does not
    # exist yet is rejected; so the principal is the account and the roles are named by ARN.
    for other_account, roles in sorted((cross_account_decrypt or {}).items()):
        statements.append(
            statement(
                f"CrossAccountDecrypt{other_account}",
                list(KEY_DECRYPT_ACTIONS),
                principal={"AWS": account_root(other_account)},
                condition={"ArnLike": {"aws:PrincipalArn": _one_or_many(list(roles))}},
            )
        )
    return document(statements)


def logs_service_use(
    region: str, account_id: str, log_groups: Sequence[str] = (), sid: str = "CloudWatchLogsUse"
) -> Statement:
    """CloudWatch Logs encrypts log groups of this account with the key (AWS-documented form),
    scoped by the log-group encryption context: every log group of the account, or only the
    log-group name patterns given in `log_groups`."""
    arns = (
        [f"arn:aws:logs:{region}:{account_id}:log-group:{group}" for group in log_groups]
        if log_groups
        else [f"arn:aws:logs:{region}:{account_id}:*"]
    )
    return statement(
        sid,
        ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
        principal={"Service": f"logs.{region}.amazonaws.com"},
        condition={"StringLike": {"kms:EncryptionContext:aws:logs:arn": _one_or_many(arns)}},
    )


def cloudwatch_alarms_use(region: str, account_id: str) -> Statement:
    """CloudWatch alarms of this account publish to SNS topics encrypted with the key (the
    model-health topic): data keys only through SNS in this region (AWS-documented form)."""
    return statement(
        "CloudWatchAlarmsPublishEncrypted",
        ["kms:Decrypt", "kms:GenerateDataKey*"],
        principal={"Service": "cloudwatch.amazonaws.com"},
        condition={
            "StringEquals": {
                "aws:SourceAccount": account_id,
                "kms:ViaService": f"sns.{region}.amazonaws.com",
            }
        },
    )


def deployer_use_via(
    deployer_arns: Sequence[str], region: str, services: Sequence[str]
) -> Statement:
    """The deploying identity may use the key only through the named AWS services (S3 writing an
    SSE-KMS object it uploads, Lambda encrypting a function's environment), never directly."""
    account = deployer_arns[0].split(":")[4]
    return statement(
        "KeyUseByDeployerViaServices",
        list(KEY_USE_ACTIONS),
        principal={"AWS": account_root(account)},
        condition={
            "ArnLike": {"aws:PrincipalArn": _one_or_many(list(deployer_arns))},
            "StringEquals": {
                "kms:ViaService": _one_or_many([f"{s}.{region}.amazonaws.com" for s in services])
            },
        },
    )


def cloudtrail_service_use(account_id: str) -> list[Statement]:
    return [
        statement(
            "CloudTrailEncrypt",
            "kms:GenerateDataKey*",
            principal={"Service": "cloudtrail.amazonaws.com"},
            condition={
                "StringEquals": {"aws:SourceAccount": account_id},
                "StringLike": {
                    "kms:EncryptionContext:aws:cloudtrail:arn": (
                        f"arn:aws:cloudtrail:*:{account_id}:trail/*"
                    )
                },
            },
        ),
        statement(
            "CloudTrailDescribe",
            "kms:DescribeKey",
            principal={"Service": "cloudtrail.amazonaws.com"},
            condition={"StringEquals": {"aws:SourceAccount": account_id}},
        ),
    ]


def s3_log_delivery_use(account_id: str) -> Statement:
    """S3 server access logging can write to an SSE-KMS bucket when the key allows it."""
    return statement(
        "S3ServerAccessLogDelivery",
        ["kms:GenerateDataKey*", "kms:Decrypt"],
        principal={"Service": "logging.s3.amazonaws.com"},
        condition={"StringEquals": {"aws:SourceAccount": account_id}},
    )


# --- identity policy helpers -----------------------------------------------------------------
def s3_read_write(sid: str, bucket_arns_: Iterable[str]) -> Statement:
    resources: list[str] = []
    for arn in bucket_arns_:
        resources += bucket_arns(arn)
    return statement(
        sid,
        [
            "s3:GetObject",
            "s3:GetObjectVersion",
            "s3:PutObject",
            "s3:DeleteObject",
            "s3:ListBucket",
            "s3:GetBucketLocation",
        ],
        resources,
    )


def s3_read(sid: str, bucket_arns_: Iterable[str]) -> Statement:
    resources: list[str] = []
    for arn in bucket_arns_:
        resources += bucket_arns(arn)
    return statement(
        sid, ["s3:GetObject", "s3:GetObjectVersion", "s3:ListBucket", "s3:GetBucketLocation"],
        resources,
    )  # fmt: skip


def kms_use(sid: str, key_arns: Iterable[str], decrypt_only: bool = False) -> Statement:
    actions = KEY_DECRYPT_ACTIONS if decrypt_only else KEY_USE_ACTIONS
    return statement(sid, list(actions), list(key_arns))


def pass_role(sid: str, role_arns: Sequence[str], service: str) -> Statement:
    return statement(
        sid,
        "iam:PassRole",
        list(role_arns),
        condition={"StringEquals": {"iam:PassedToService": service}},
    )


def wildcard_admin_statements(doc: Mapping[str, Any]) -> list[Statement]:
    """Allow statements that grant `*` (or `service:*` on `*`)... used by tests and policy packs.

    Flags any Allow with Action "*" and Resource "*", the shape of an administrator policy.
    """
    found = []
    for st in doc.get("Statement", []):
        if st.get("Effect") != "Allow":
            continue
        actions = st.get("Action", [])
        resources = st.get("Resource", [])
        actions = [actions] if isinstance(actions, str) else actions
        resources = [resources] if isinstance(resources, str) else resources
        if "*" in actions and "*" in resources:
            found.append(st)
    return found
