"""IAM roles, policies and attachments; KMS keys, aliases and grants; IAM Identity Center
permission sets."""

from __future__ import annotations

from mlops.rehearsal.model import Call
from mlops.testing.mocks import RecordedResource

from .base import (
    ProgramView,
    as_json,
    c,
    policy_principals,
    reads,
    register,
    strings,
    tag_context,
    tagged,
    tags,
    value,
)

SAR = "Service Authorization Reference (parliament iam_definition.json)"
TF_ROLE = "terraform-provider-aws internal/service/iam/role.go (create, read)"
TF_KEY = "terraform-provider-aws internal/service/kms/key.go (create, read)"


# --- IAM -----------------------------------------------------------------------------------------
def _role_arn(r: RecordedResource, v: ProgramView) -> str:
    path = str(value(r, "path") or "/")
    return f"arn:{v.partition}:iam::{v.account}:role{path}{v.physical_name(r)}"


def _boundary_ctx(role: RecordedResource | None) -> dict[str, str]:
    boundary = value(role, "permissionsBoundary") if role is not None else None
    return {"iam:PermissionsBoundary": boundary} if boundary else {}


def _trust_principals(r: RecordedResource) -> list[str]:
    return policy_principals(r.inputs.get("assumeRolePolicy"))


@register(
    "aws:iam/role:Role",
    arn=_role_arn,
    principals=_trust_principals,
    source=(
        TF_ROLE,
        "IAM user guide, 'Permissions required to tag IAM entities' (CreateRole with Tags needs "
        "iam:TagRole)",
        "IAM rejects a trust policy naming a principal that does not exist (MalformedPolicyDocument"
        ": Invalid principal in policy)",
        SAR,
    ),
)
def _role(r: RecordedResource, v: ProgramView) -> list[Call]:
    arn = _role_arn(r, v)
    ctx = {**_boundary_ctx(r), **tag_context(r)}
    calls = [
        c(
            "iam:CreateRole",
            arn,
            "create the role (trust policy checked: principals must exist)",
            ctx,
        )
    ]
    calls += tagged(r, "iam:TagRole", arn)
    for p in as_json(r.inputs.get("inlinePolicies")) or []:
        if isinstance(p, dict) and p.get("name"):
            calls.append(
                c("iam:PutRolePolicy", arn, f"inline policy {p['name']}", _boundary_ctx(r))
            )
    for pol in strings(r.inputs.get("managedPolicyArns")):
        ctx = {"iam:PolicyARN": pol, **_boundary_ctx(r)}
        calls.append(c("iam:AttachRolePolicy", arn, f"attach {pol}", ctx))
    calls += reads(arn, "iam:GetRole", "iam:ListRolePolicies", "iam:ListAttachedRolePolicies")
    if r.inputs.get("inlinePolicies"):
        calls += reads(arn, "iam:GetRolePolicy")
    return calls


def _role_of(r: RecordedResource, v: ProgramView) -> tuple[str, RecordedResource | None]:
    ref = str(value(r, "role") or "")
    role = v.role_for(ref) or v.find("aws:iam/role:Role", name=ref.rsplit("/", 1)[-1])
    return (v.arn_of(role) if role is not None else v.role_arn(ref) or ref), role


@register(
    "aws:iam/rolePolicy:RolePolicy",
    source=("terraform-provider-aws internal/service/iam/role_policy.go", SAR),
)
def _role_policy(r: RecordedResource, v: ProgramView) -> list[Call]:
    arn, role = _role_of(r, v)
    return [
        c("iam:PutRolePolicy", arn, f"inline policy {value(r, 'name')}", _boundary_ctx(role)),
        *reads(arn, "iam:GetRolePolicy"),
    ]


@register(
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
    source=("terraform-provider-aws internal/service/iam/role_policy_attachment.go", SAR),
)
def _role_attachment(r: RecordedResource, v: ProgramView) -> list[Call]:
    arn, role = _role_of(r, v)
    policy = str(value(r, "policyArn"))
    ctx = {"iam:PolicyARN": policy, **_boundary_ctx(role)}
    return [
        c("iam:AttachRolePolicy", arn, f"attach {policy}", ctx),
        *reads(arn, "iam:ListAttachedRolePolicies"),
    ]


def _policy_arn(r: RecordedResource, v: ProgramView) -> str:
    path = str(value(r, "path") or "/")
    return f"arn:{v.partition}:iam::{v.account}:policy{path}{v.physical_name(r)}"


@register(
    "aws:iam/policy:Policy",
    arn=_policy_arn,
    source=("terraform-provider-aws internal/service/iam/policy.go", SAR),
)
def _policy(r: RecordedResource, v: ProgramView) -> list[Call]:
    arn = _policy_arn(r, v)
    return [
        c("iam:CreatePolicy", arn, "create the managed policy", tag_context(r)),
        *tagged(r, "iam:TagPolicy", arn),
        *reads(arn, "iam:GetPolicy", "iam:GetPolicyVersion", "iam:ListPolicyTags"),
    ]


def _slr_arn(r: RecordedResource, v: ProgramView) -> str:
    svc = str(value(r, "awsServiceName"))
    name = value(r, "name") if r.state.get("name") != r.name else None
    return f"arn:{v.partition}:iam::{v.account}:role/aws-service-role/{svc}/{name or '*'}"


@register(
    "aws:iam/serviceLinkedRole:ServiceLinkedRole",
    arn=_slr_arn,
    source=("IAM user guide, 'Service-linked role permissions' (iam:AWSServiceName)", SAR),
)
def _slr(r: RecordedResource, v: ProgramView) -> list[Call]:
    arn = _slr_arn(r, v)
    ctx = {"iam:AWSServiceName": value(r, "awsServiceName")}
    return [
        c("iam:CreateServiceLinkedRole", arn, "create the service-linked role", ctx),
        *reads(arn, "iam:GetRole"),
    ]


# --- KMS -----------------------------------------------------------------------------------------
def _key_arn(r: RecordedResource, v: ProgramView) -> str:
    key_id = value(r, "keyId") or value(r, "id") or r.name
    return v.arn("kms", f"key/{key_id}")


def _key_principals(r: RecordedResource) -> list[str]:
    return policy_principals(r.inputs.get("policy"))


@register(
    "aws:kms/key:Key",
    arn=_key_arn,
    principals=_key_principals,
    source=(
        TF_KEY,
        "KMS API reference CreateKey: kms:CreateKey in an IAM policy, kms:TagResource for Tags, "
        "principals in the key policy must exist; the policy lockout safety check requires that "
        "the new key policy allows the caller kms:PutKeyPolicy",
        SAR,
    ),
    unverified=(
        "the resource KMS evaluates for kms:TagResource on CreateKey (modelled as key/*, IAM "
        "policy only: the key does not exist yet)",
    ),
)
def _key(r: RecordedResource, v: ProgramView) -> list[Call]:
    arn = _key_arn(r, v)
    bypass = bool(value(r, "bypassPolicyLockoutSafetyCheck", False))
    ctx = {
        "kms:KeySpec": value(r, "customerMasterKeySpec", "SYMMETRIC_DEFAULT"),
        "kms:KeyUsage": value(r, "keyUsage", "ENCRYPT_DECRYPT"),
        "kms:KeyOrigin": "AWS_KMS",
        "kms:MultiRegion": bool(value(r, "multiRegion", False)),
        "kms:BypassPolicyLockoutSafetyCheck": bypass,
        **tag_context(r),
    }
    calls = [c("kms:CreateKey", "*", "IAM policy of the caller (no key yet)", ctx)]
    if tags(r):
        calls.append(
            c(
                "kms:TagResource",
                v.arn("kms", "key/*"),
                "IAM policy: tags on CreateKey",
                tag_context(r),
            )
        )
    if not bypass and r.inputs.get("policy"):
        calls.append(
            c(
                "kms:PutKeyPolicy",
                arn,
                "policy lockout safety check: the NEW key policy must let the caller "
                "kms:PutKeyPolicy (evaluate against this key's policy)",
            )
        )
    if value(r, "enableKeyRotation"):
        calls.append(c("kms:EnableKeyRotation", arn, "enable rotation (key policy)"))
    if value(r, "isEnabled") is False:
        calls.append(c("kms:DisableKey", arn, "create disabled (key policy)"))
    calls += reads(
        arn,
        "kms:DescribeKey",
        "kms:GetKeyPolicy",
        "kms:GetKeyRotationStatus",
        "kms:ListResourceTags",
        why="provider reads the key back (key policy)",
    )
    return calls


def _alias_arn(r: RecordedResource, v: ProgramView) -> str:
    return v.arn("kms", str(value(r, "name")))


@register(
    "aws:kms/alias:Alias",
    arn=_alias_arn,
    source=(
        "KMS developer guide 'Controlling access to aliases': kms:CreateAlias on the alias (IAM "
        "policy) and on the key (key policy)",
        "terraform-provider-aws internal/service/kms/alias.go (reads with ListAliases)",
        SAR,
    ),
)
def _alias(r: RecordedResource, v: ProgramView) -> list[Call]:
    key = v.key_arn(str(value(r, "targetKeyId") or "")) or "*"
    alias = _alias_arn(r, v)
    return [
        c("kms:CreateAlias", alias, "the alias (IAM policy)"),
        c("kms:CreateAlias", key, "the target key (key policy)"),
        c("kms:ListAliases", "*", "provider reads the alias back"),
    ]


@register(
    "aws:kms/grant:Grant",
    principals=lambda r: [
        p for p in strings(r.inputs.get("granteePrincipal")) if p.startswith("arn:")
    ],
    source=("KMS API reference CreateGrant (kms:GranteePrincipal, kms:GrantOperations)", SAR),
)
def _grant(r: RecordedResource, v: ProgramView) -> list[Call]:
    key = v.key_arn(str(value(r, "keyId") or "")) or "*"
    ctx = {
        "kms:GranteePrincipal": value(r, "granteePrincipal"),
        "kms:RetiringPrincipal": value(r, "retiringPrincipal"),
        "kms:GrantOperations": strings(r.inputs.get("operations")),
    }
    return [
        c("kms:CreateGrant", key, "create the grant (key policy)", ctx),
        *reads(key, "kms:ListGrants"),
    ]


@register(
    "aws:kms/keyPolicy:KeyPolicy",
    principals=lambda r: policy_principals(r.inputs.get("policy")),
    source=("terraform-provider-aws internal/service/kms/key_policy.go", SAR),
)
def _key_policy(r: RecordedResource, v: ProgramView) -> list[Call]:
    key = v.key_arn(str(value(r, "keyId") or "")) or "*"
    return [
        c(
            "kms:PutKeyPolicy",
            key,
            "replace the key policy (lockout check: the new policy must let the caller "
            "PutKeyPolicy)",
        ),
        *reads(key, "kms:GetKeyPolicy", "kms:DescribeKey"),
    ]


# --- IAM Identity Center (ssoadmin; IAM prefix "sso") --------------------------------------------
SSO_SRC = (
    "terraform-provider-aws internal/service/ssoadmin/*.go (provisions the permission set after "
    "each change)",
    SAR,
)
SSO_UNVERIFIED = (
    "IAM Identity Center also needs iam: permissions in the management account to provision roles "
    "(AWSSSOMasterAccountAdministrator); not modelled",
)


def _instance(r: RecordedResource) -> str:
    return str(value(r, "instanceArn") or "arn:aws:sso:::instance/*")


def _permission_set_arn(r: RecordedResource, v: ProgramView) -> str:
    st = r.state.get("arn")
    if isinstance(st, str) and ":permissionSet/" in st:
        return st
    inst = _instance(r).rsplit("/", 1)[-1]
    return f"arn:{v.partition}:sso:::permissionSet/{inst}/ps-{v.physical_name(r)}"


def _ps_ref(r: RecordedResource, v: ProgramView) -> str:
    ref = str(value(r, "permissionSetArn") or "")
    return ref or "arn:aws:sso:::permissionSet/*"


def _provision(r: RecordedResource, ps: str) -> list[Call]:
    inst = _instance(r)
    return [
        c("sso:ProvisionPermissionSet", inst, "provision the change to assigned accounts"),
        c("sso:ProvisionPermissionSet", ps, "provision the change to assigned accounts"),
        c("sso:DescribePermissionSetProvisioningStatus", inst, "wait for provisioning"),
    ]


@register(
    "aws:ssoadmin/permissionSet:PermissionSet",
    arn=_permission_set_arn,
    source=SSO_SRC,
    unverified=SSO_UNVERIFIED,
)
def _permission_set(r: RecordedResource, v: ProgramView) -> list[Call]:
    ps = _permission_set_arn(r, v)
    inst = _instance(r)
    return [
        c("sso:CreatePermissionSet", inst, "create the permission set", tag_context(r)),
        c("sso:CreatePermissionSet", ps, "create the permission set", tag_context(r)),
        *tagged(r, "sso:TagResource", ps),
        *reads(ps, "sso:DescribePermissionSet", "sso:ListTagsForResource"),
    ]


def _ps_member(action: str, read: str, what: str):
    def fn(r: RecordedResource, v: ProgramView) -> list[Call]:
        ps = _ps_ref(r, v)
        return [
            c(action, _instance(r), what),
            c(action, ps, what),
            *_provision(r, ps),
            *reads(ps, read),
        ]

    return fn


for _typ, _action, _read, _what in (
    (
        "aws:ssoadmin/permissionSetInlinePolicy:PermissionSetInlinePolicy",
        "sso:PutInlinePolicyToPermissionSet",
        "sso:GetInlinePolicyForPermissionSet",
        "inline policy",
    ),
    (
        "aws:ssoadmin/managedPolicyAttachment:ManagedPolicyAttachment",
        "sso:AttachManagedPolicyToPermissionSet",
        "sso:ListManagedPoliciesInPermissionSet",
        "AWS managed policy",
    ),
    (
        "aws:ssoadmin/customerManagedPolicyAttachment:CustomerManagedPolicyAttachment",
        "sso:AttachCustomerManagedPolicyReferenceToPermissionSet",
        "sso:ListCustomerManagedPolicyReferencesInPermissionSet",
        "customer managed policy reference (the policy must exist in every assigned account)",
    ),
    (
        "aws:ssoadmin/permissionsBoundaryAttachment:PermissionsBoundaryAttachment",
        "sso:PutPermissionsBoundaryToPermissionSet",
        "sso:GetPermissionsBoundaryForPermissionSet",
        "permissions boundary",
    ),
):
    register(_typ, source=SSO_SRC, unverified=SSO_UNVERIFIED)(_ps_member(_action, _read, _what))


@register(
    "aws:ssoadmin/accountAssignment:AccountAssignment", source=SSO_SRC, unverified=SSO_UNVERIFIED
)
def _assignment(r: RecordedResource, v: ProgramView) -> list[Call]:
    ps = _ps_ref(r, v)
    inst = _instance(r)
    account = f"arn:{v.partition}:sso:::account/{value(r, 'targetId')}"
    return [
        c("sso:CreateAccountAssignment", inst, "assign the permission set"),
        c("sso:CreateAccountAssignment", ps, "assign the permission set"),
        c("sso:CreateAccountAssignment", account, "assign the permission set"),
        c("sso:DescribeAccountAssignmentCreationStatus", inst, "wait for the assignment"),
        *reads(ps, "sso:ListAccountAssignments"),
    ]
