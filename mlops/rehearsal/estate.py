"""The estate: every identity, resource policy, key, bucket and network of a use case's programs.

Built from what the programs registered under the mocks (`programs.EstateRuns`), plus the
prerequisites that exist before any program runs (the landing zone's deployer roles), so that one
call can be turned into the `Request` AWS would evaluate: the caller with its identity policies and
boundary, the resource's own policy (bucket, key + grants, trust, model package group, topic,
queue, repository, API, function, secret) and the account that owns the resource.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from mlops import iam
from mlops.rehearsal.model import Grant, Policy, Principal, Request, ResourceKind
from mlops.rehearsal.programs import EstateRuns, ProgramRun
from mlops.testing.mocks import RecordedResource

ADMINISTRATOR_ACCESS = iam.document(iam.statement("AdministratorAccess", "*", "*"))
SSO_ADMIN_ROLE = "aws-reserved/sso.amazonaws.com/AWSReservedSSO_PlatformAdministrator"
_EMPTY = iam.document()
ASSUME_ACTIONS = ("sts:assumerole", "sts:assumerolewithwebidentity", "sts:tagsession")
_ARN = re.compile(
    r"^arn:(?P<partition>[^:]*):(?P<service>[^:]*):(?P<region>[^:]*):(?P<account>[^:]*):(?P<rest>.*)$"
)


def parse_arn(arn: str) -> dict[str, str] | None:
    m = _ARN.match(arn)
    return m.groupdict() if m else None


def account_of_arn(arn: str) -> str | None:
    parts = parse_arn(arn)
    return parts["account"] or None if parts else None


def _doc(value: Any) -> dict[str, Any] | None:
    if isinstance(value, dict):
        return value
    if isinstance(value, str) and value.strip().startswith("{"):
        return json.loads(value)
    return None


def _state(r: RecordedResource, key: str) -> Any:
    value = r.state.get(key)
    return value if value not in (None, "") else r.inputs.get(key)


@dataclass
class Bucket:
    name: str
    account: str
    program: str
    policy: Policy | None = None
    kms_key: str | None = None
    bucket_key: bool = False

    @property
    def arn(self) -> str:
        return f"arn:aws:s3:::{self.name}"


@dataclass
class Key:
    arn: str
    account: str
    program: str
    policy: Policy | None
    aliases: list[str] = field(default_factory=list)
    grants: list[Grant] = field(default_factory=list)


@dataclass
class Estate:
    runs: EstateRuns
    principals: dict[str, Principal] = field(default_factory=dict)
    """Role ARN -> principal (programs' roles and the prerequisites)."""
    created_by: dict[str, str] = field(default_factory=dict)
    """ARN -> program that creates it (roles, keys, buckets, ...)."""
    prerequisites: dict[str, str] = field(default_factory=dict)
    """ARN -> why it exists before any program (landing zone)."""
    buckets: dict[str, Bucket] = field(default_factory=dict)
    keys: dict[str, Key] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)
    """alias ARN and ``alias/<name>@<account>`` -> key ARN."""
    resource_policies: dict[str, Policy] = field(default_factory=dict)
    managed_policies: dict[str, Policy] = field(default_factory=dict)
    """Customer-managed policies by ARN, of every program built so far (a permissions boundary
    is created by the platform program and set on roles of the inference programs)."""
    """Resource ARN (group, topic, queue, repository, API, function, secret) -> its policy."""

    # --- lookups ----------------------------------------------------------------------------
    def program(self, name: str) -> ProgramRun:
        return self.runs.runs[name]

    def principal(self, arn: str) -> Principal:
        """The principal for an ARN (role, prerequisite) or a ``service:<name>`` string."""
        if arn.startswith("service:"):
            return Principal(arn=arn.removeprefix("service:"), kind="service", account=None)
        if arn in self.principals:
            return self.principals[arn]
        if arn.endswith(":root"):
            return Principal(arn=arn, kind="root", account=account_of_arn(arn))
        raise KeyError(
            f"no principal {arn} in the estate (not created by any program, not a prerequisite)"
        )

    def has_principal(self, arn: str) -> bool:
        return arn in self.principals

    def key(self, ref: str) -> Key | None:
        if ref in self.keys:
            return self.keys[ref]
        if ref in self.aliases:
            return self.keys.get(self.aliases[ref])
        return None

    def bucket_of(self, arn: str) -> Bucket | None:
        if not arn.startswith("arn:aws:s3:::"):
            return None
        return self.buckets.get(arn.removeprefix("arn:aws:s3:::").split("/", 1)[0])

    def resource_account(self, arn: str) -> str | None:
        bucket = self.bucket_of(arn)
        if bucket is not None:
            return bucket.account
        if arn.startswith("arn:aws:s3:::"):
            return None
        return account_of_arn(arn)

    def request(
        self,
        principal: str,
        action: str,
        resource: str,
        context: dict[str, Any] | None = None,
        endpoint_policy: Policy | None = None,
    ) -> Request:
        """The request AWS evaluates for `principal` calling `action` on `resource`."""
        policy, kind, grants = self.resource_policy_for(action, resource)
        context = dict(context or {})
        key = self.key(resource) if action.lower().startswith("kms:") else None
        if key is not None and key.aliases:  # AWS sets it on every request to a key
            context.setdefault("kms:ResourceAliases", list(key.aliases))
        return Request(
            principal=self.principal(principal),
            action=action,
            resource=resource,
            resource_account=self.resource_account(resource),
            context=context,
            resource_policy=policy,
            resource_kind=kind,
            grants=tuple(grants),
            endpoint_policy=endpoint_policy,
        )

    def resource_policy_for(
        self, action: str, resource: str
    ) -> tuple[Policy | None, ResourceKind, list[Grant]]:
        service = action.split(":", 1)[0].lower()
        if service == "kms" and "*" not in resource:  # no key yet (CreateKey, tags): IAM only
            key = self.key(resource)
            if key is not None:
                return key.policy, "kms", list(key.grants)
            return None, "kms", []
        if service == "sts" and action.lower() in ASSUME_ACTIONS:
            target = self.principals.get(resource)
            return (target.trust_policy if target else None), "role-trust", []
        bucket = self.bucket_of(resource)
        if bucket is not None:
            return bucket.policy, "generic", []
        parts = parse_arn(resource)
        if parts and parts["service"] == "sagemaker":
            m = re.match(r"model-package(?:-group)?/([^/]+)", parts["rest"])
            if m:
                group = (
                    f"arn:aws:sagemaker:{parts['region']}:{parts['account']}:"
                    f"model-package-group/{m.group(1)}"
                )
                return self.resource_policies.get(group), "generic", []
        if parts and parts["service"] == "execute-api":
            api = parts["rest"].split("/", 1)[0]
            prefix = f"arn:aws:execute-api:{parts['region']}:{parts['account']}:{api}"
            return self.resource_policies.get(prefix), "generic", []
        if parts and parts["service"] == "lambda":
            if parts["account"] in PUBLIC_LAYER_ACCOUNTS and parts["rest"].startswith("layer:"):
                return _public_layer_policy(resource), "generic", []
            base = ":".join(resource.split(":")[:7])
            return self.resource_policies.get(base), "generic", []
        if parts and parts["service"] == "codeartifact":
            # a package is governed by its repository's policy
            m = re.match(r"package/([^/]+)/([^/]+)/", parts["rest"])
            if m:
                repo = (
                    f"arn:aws:codeartifact:{parts['region']}:{parts['account']}:"
                    f"repository/{m.group(1)}/{m.group(2)}"
                )
                return self.resource_policies.get(repo), "generic", []
        return self.resource_policies.get(resource), "generic", []


PUBLIC_LAYER_ACCOUNTS = frozenset({"017000801446"})
"""Accounts whose layers AWS publishes for everyone (Powertools for AWS Lambda: each version has a
layer version permission `lambda:GetLayerVersion` for principal `*`); no program records it."""


def _public_layer_policy(resource: str) -> Policy:
    return Policy(
        f"public layer version permission of {resource}",
        iam.document(iam.statement("public", "lambda:GetLayerVersion", resource, principal="*")),
    )


# --- building ------------------------------------------------------------------------------------
def _roles(run: ProgramRun) -> dict[str, RecordedResource]:
    """Role resources by every way other resources refer to them: name, id, ARN."""
    refs: dict[str, RecordedResource] = {}
    for r in run.resources:
        if r.type == "aws:iam/role:Role":
            for ref in (_state(r, "name"), r.state.get("id"), r.state.get("arn")):
                if ref:
                    refs[str(ref)] = r
    return refs


def _role_arn(r: RecordedResource, account: str) -> str:
    arn = r.state.get("arn")
    if isinstance(arn, str) and arn.startswith("arn:aws:iam::"):
        return arn
    path = r.inputs.get("path") or "/"
    return f"arn:aws:iam::{account}:role{path}{_state(r, 'name')}"


def _add_roles(estate: Estate, run: ProgramRun) -> None:
    refs = _roles(run)
    managed = estate.managed_policies
    for r in run.resources:
        if r.type == "aws:iam/policy:Policy":
            doc = _doc(r.inputs.get("policy"))
            arn = r.state.get("arn") or f"arn:aws:iam::{run.account}:policy/{_state(r, 'name')}"
            if doc is not None:
                managed[str(arn)] = Policy(f"managed policy {_state(r, 'name')}", doc)
                estate.created_by[str(arn)] = run.name
    inline: dict[str, list[Policy]] = {}
    attached: dict[str, list[Policy]] = {}
    for r in run.resources:
        if r.type == "aws:iam/rolePolicy:RolePolicy":
            role = refs.get(str(r.inputs.get("role")))
            doc = _doc(r.inputs.get("policy"))
            if role is not None and doc is not None:
                name = r.inputs.get("name") or r.state.get("name") or r.name
                inline.setdefault(role.urn, []).append(
                    Policy(f"{_state(role, 'name')} inline policy {name}", doc)
                )
        elif r.type == "aws:iam/rolePolicyAttachment:RolePolicyAttachment":
            role = refs.get(str(r.inputs.get("role")))
            arn = str(r.inputs.get("policyArn"))
            if role is None:
                continue
            if arn in managed:
                attached.setdefault(role.urn, []).append(managed[arn])
            else:  # AWS-managed: content not known offline; named so reports show it
                attached.setdefault(role.urn, []).append(
                    Policy(
                        f"AWS managed policy {arn.rsplit('/', 1)[-1]} (content not evaluated)",
                        iam.document(),
                    )
                )
    for r in run.resources:
        if r.type != "aws:iam/role:Role":
            continue
        arn = _role_arn(r, run.account)
        name = _state(r, "name")
        policies = [*inline.get(r.urn, []), *attached.get(r.urn, [])]
        for item in r.inputs.get("inlinePolicies") or []:
            doc = _doc(item.get("policy")) if isinstance(item, dict) else None
            if doc is not None:
                policies.append(Policy(f"{name} inline policy {item.get('name')}", doc))
        boundary = None
        if r.inputs.get("permissionsBoundary"):
            b = str(r.inputs["permissionsBoundary"])
            boundary = managed.get(b) or Policy(f"boundary {b} (not in the estate)", iam.document())
        trust = _doc(r.inputs.get("assumeRolePolicy"))
        estate.principals[arn] = Principal(
            arn=arn,
            kind="role",
            account=run.account,
            identity_policies=tuple(policies),
            boundary=boundary,
            tags=dict(r.inputs.get("tags") or {}),
            trust_policy=Policy(f"trust policy of {name}", trust) if trust else None,
        )
        estate.created_by[arn] = run.name


def _add_buckets(estate: Estate, run: ProgramRun) -> None:
    by_id: dict[str, Bucket] = {}
    for r in run.resources:
        if r.type == "aws:s3/bucket:Bucket":
            name = str(_state(r, "bucket"))
            bucket = Bucket(name=name, account=run.account, program=run.name)
            estate.buckets[name] = bucket
            estate.created_by[bucket.arn] = run.name
            for ref in (name, r.state.get("id")):
                if ref:
                    by_id[str(ref)] = bucket
    for r in run.resources:
        bucket = by_id.get(str(r.inputs.get("bucket")))
        if bucket is None:
            continue
        if r.type == "aws:s3/bucketPolicy:BucketPolicy":
            doc = _doc(r.inputs.get("policy"))
            if doc is not None:
                bucket.policy = Policy(f"bucket policy of {bucket.name}", doc)
        elif r.type.startswith("aws:s3/bucketServerSideEncryptionConfiguration"):
            for rule in r.inputs.get("rules") or []:
                default = rule.get("applyServerSideEncryptionByDefault") or {}
                bucket.kms_key = default.get("kmsMasterKeyId") or bucket.kms_key
                bucket.bucket_key = bool(rule.get("bucketKeyEnabled"))


def _add_keys(estate: Estate, run: ProgramRun) -> None:
    by_id: dict[str, Key] = {}
    for r in run.resources:
        if r.type == "aws:kms/key:Key":
            arn = str(r.state.get("arn"))
            doc = _doc(r.inputs.get("policy"))
            key = Key(
                arn=arn,
                account=run.account,
                program=run.name,
                policy=Policy(f"key policy of {r.name}", doc) if doc else None,
            )
            estate.keys[arn] = key
            estate.created_by[arn] = run.name
            for ref in (arn, r.state.get("id"), r.state.get("keyId")):
                if ref:
                    by_id[str(ref)] = key
    for r in run.resources:
        if r.type == "aws:kms/alias:Alias":
            key = by_id.get(str(r.inputs.get("targetKeyId")))
            if key is not None:
                alias = str(r.inputs.get("name"))
                key.aliases.append(alias)
                estate.aliases[f"arn:aws:kms:{run.region}:{run.account}:{alias}"] = key.arn
                estate.aliases[f"{alias}@{run.account}"] = key.arn
                if key.policy is not None:
                    key.policy = Policy(f"key policy of {alias}", key.policy.document)
        elif r.type == "aws:kms/grant:Grant":
            key = by_id.get(str(r.inputs.get("keyId")))
            if key is None:
                continue
            constraints = (r.inputs.get("constraints") or [{}])[0] or {}
            key.grants.append(
                Grant(
                    key_arn=key.arn,
                    grantee=str(r.inputs.get("granteePrincipal")),
                    operations=tuple(r.inputs.get("operations") or ()),
                    context_equals=dict(constraints.get("encryptionContextEquals") or {}),
                    context_subset=dict(constraints.get("encryptionContextSubset") or {}),
                    name=str(r.inputs.get("name") or r.name),
                )
            )


_INLINE_POLICY_TYPES = (
    "aws:sns/topic:Topic",
    "aws:sqs/queue:Queue",
    "aws:ecr/repository:Repository",
)
_POLICY_RESOURCES = {
    # type: (input holding the target's name or ARN, input holding the policy, ARN builder)
    "aws:sagemaker/modelPackageGroupPolicy:ModelPackageGroupPolicy": (
        "modelPackageGroupName",
        "resourcePolicy",
        lambda run, ref: f"arn:aws:sagemaker:{run.region}:{run.account}:model-package-group/{ref}",
    ),
    "aws:ecr/repositoryPolicy:RepositoryPolicy": (
        "repository",
        "policy",
        lambda run, ref: f"arn:aws:ecr:{run.region}:{run.account}:repository/{ref}",
    ),
    "aws:sns/topicPolicy:TopicPolicy": ("arn", "policy", lambda run, ref: ref),
    "aws:sqs/queuePolicy:QueuePolicy": ("queueUrl", "policy", None),
    "aws:secretsmanager/secretPolicy:SecretPolicy": ("secretArn", "policy", lambda run, ref: ref),
}


_CODEARTIFACT_POLICIES = {
    "aws:codeartifact/domainPermissions:DomainPermissions": lambda run, i: (
        f"arn:aws:codeartifact:{run.region}:{run.account}:domain/{i.get('domain')}"
    ),
    "aws:codeartifact/repositoryPermissionsPolicy:RepositoryPermissionsPolicy": lambda run, i: (
        f"arn:aws:codeartifact:{run.region}:{run.account}:repository/"
        f"{i.get('domain')}/{i.get('repository')}"
    ),
}


def _add_resource_policies(estate: Estate, run: ProgramRun) -> None:
    urls: dict[str, str] = {}
    apis: dict[str, str] = {}
    functions: dict[str, str] = {}
    for r in run.resources:
        arn = r.state.get("arn")
        if isinstance(arn, str):
            estate.created_by.setdefault(arn, run.name)
        if r.type == "aws:sqs/queue:Queue" and r.state.get("url"):
            urls[str(r.state["url"])] = str(arn)
        if r.type == "aws:apigateway/restApi:RestApi":
            api_id = str(r.state.get("id"))
            apis[api_id] = f"arn:aws:execute-api:{run.region}:{run.account}:{api_id}"
        if r.type == "aws:lambda/function:Function":
            for ref in (_state(r, "name"), arn):
                if ref:
                    functions[str(ref)] = str(arn)
        if r.type in (
            "aws:sns/topic:Topic",
            "aws:sqs/queue:Queue",
            "aws:ecr/repository:Repository",
        ):
            doc = _doc(r.inputs.get("policy"))
            if doc is not None and isinstance(arn, str):
                estate.resource_policies[arn] = Policy(f"resource policy of {r.name}", doc)
    for r in run.resources:
        spec = _POLICY_RESOURCES.get(r.type)
        if spec is not None:
            ref_key, policy_key, build = spec
            ref = str(r.inputs.get(ref_key))
            target = urls.get(ref) if build is None else build(run, ref)
            doc = _doc(r.inputs.get(policy_key))
            if target and doc is not None:
                estate.resource_policies[target] = Policy(f"resource policy of {r.name}", doc)
        elif r.type == "aws:apigateway/restApiPolicy:RestApiPolicy":
            target = apis.get(str(r.inputs.get("restApiId")))
            doc = _doc(r.inputs.get("policy"))
            if target and doc is not None:
                estate.resource_policies[target] = Policy(f"resource policy of {r.name}", doc)
        elif r.type in _CODEARTIFACT_POLICIES:
            target = _CODEARTIFACT_POLICIES[r.type](run, r.inputs)
            doc = _doc(r.inputs.get("policyDocument"))
            if doc is not None:
                estate.resource_policies[target] = Policy(f"resource policy of {r.name}", doc)
        elif r.type == "aws:lambda/permission:Permission":
            target = functions.get(str(r.inputs.get("function")))
            if target:
                _add_lambda_permission(estate, target, r)


def _add_lambda_permission(estate: Estate, function_arn: str, r: RecordedResource) -> None:
    """A Lambda permission is one statement of the function's resource policy."""
    principal = str(r.inputs.get("principal"))
    condition: dict[str, dict[str, str]] = {}
    if r.inputs.get("sourceArn"):
        condition["ArnLike"] = {"AWS:SourceArn": str(r.inputs["sourceArn"])}
    if r.inputs.get("sourceAccount"):
        condition["StringEquals"] = {"AWS:SourceAccount": str(r.inputs["sourceAccount"])}
    statement = iam.statement(
        str(r.inputs.get("statementId") or r.name),
        str(r.inputs.get("action") or "lambda:InvokeFunction"),
        function_arn,
        principal={"Service": principal}
        if principal.endswith(".amazonaws.com")
        else {"AWS": principal},
        condition=condition,
    )
    existing = estate.resource_policies.get(function_arn)
    statements = list(existing.document["Statement"]) if existing else []
    estate.resource_policies[function_arn] = Policy(
        f"resource policy of function {function_arn.rsplit(':', 1)[-1]}",
        iam.document(*statements, statement),
    )


def landing_zone_deployer(run: ProgramRun, estate: Estate) -> str:
    """The identity that runs `pulumi up` of a platform or bootstrap stack (created by the
    landing zone, not by this repository): the configured deploy role, else an administrator
    SSO role of the account (docs/deploy.md, prerequisites)."""
    cfg = estate.runs.configs[run.stack]
    if cfg.deploy_role_arn:
        return cfg.deploy_role_arn
    return f"arn:aws:iam::{run.account}:role/{SSO_ADMIN_ROLE}"


def _add_prerequisites(estate: Estate) -> None:
    for run in estate.runs.runs.values():
        if not run.name.startswith(("platform/", "bootstrap/")):
            continue
        arn = landing_zone_deployer(run, estate)
        if arn in estate.principals:
            continue
        estate.principals[arn] = Principal(
            arn=arn,
            kind="role",
            account=account_of_arn(arn),
            identity_policies=(
                Policy("AdministratorAccess (landing zone, assumed)", ADMINISTRATOR_ACCESS),
            ),
        )
        estate.prerequisites[arn] = "landing-zone deployer role (docs/deploy.md, prerequisites)"


def _add_people(estate: Estate) -> None:
    """The persona roles people sign in with (IAM Identity Center permission sets): their policy
    is the one the dev stack created (aws.ssoadmin) or, when the organisation creates them, the
    documented one (mlops.components.approvers, docs/identity.md)."""
    from mlops.components.approvers import (
        PERMISSION_SETS,
        persona_permission_set_policy,
        sso_role_arn,
    )
    from mlops.naming import NameContext

    for run in estate.runs.runs.values():
        cfg = estate.runs.configs.get(run.stack)
        if not run.name.startswith("platform/") or cfg is None or not cfg.is_governance:
            continue
        created: dict[str, dict] = {}
        arns = {
            str(r.state.get("arn")): _state(r, "name")
            for r in run.resources
            if r.type == "aws:ssoadmin/permissionSet:PermissionSet"
        }
        for r in run.resources:
            if r.type == "aws:ssoadmin/permissionSetInlinePolicy:PermissionSetInlinePolicy":
                doc = _doc(r.inputs.get("inlinePolicy"))
                name = arns.get(str(r.inputs.get("permissionSetArn")))
                if doc is not None and name:
                    created[str(name)] = doc
        ctx = NameContext(run.environment, run.account, run.region)
        for persona, ps_name in PERMISSION_SETS.items():
            arn = sso_role_arn(run.account, run.region, persona)
            if ps_name in created:
                policy = Policy(f"permission set {ps_name} inline policy", created[ps_name])
                why = f"Identity Center role of permission set {ps_name} (created by {run.name})"
            else:
                doc = persona_permission_set_policy(persona, ctx)
                policy = Policy(f"permission set {ps_name} inline policy (documented)", doc)
                why = f"Identity Center role of permission set {ps_name} (docs/identity.md)"
            estate.principals[arn] = Principal(
                arn=arn, kind="role", account=run.account, identity_policies=(policy,)
            )
            estate.prerequisites[arn] = why


def _add_third_parties(estate: Estate) -> None:
    """IAM users of accounts outside the estate that a role's trust policy names (a vendor's
    integration user, e.g. Snowflake's storage integration): their own account's policy is
    unknown, so it is taken to let them assume roles; our trust policy (and its conditions,
    such as the external id) is still evaluated."""
    accounts = {run.account for run in estate.runs.runs.values()}
    for principal in list(estate.principals.values()):
        doc = principal.trust_policy.document if principal.trust_policy else {}
        statements = doc.get("Statement") or []
        for st in statements if isinstance(statements, list) else [statements]:
            names = (st.get("Principal") or {}) if isinstance(st, dict) else {}
            aws_names = names.get("AWS", []) if isinstance(names, dict) else []
            for arn in [aws_names] if isinstance(aws_names, str) else aws_names:
                parts = str(arn).split(":")
                if len(parts) < 6 or not parts[5].startswith("user/") or parts[4] in accounts:
                    continue
                if arn in estate.principals:
                    continue
                estate.principals[arn] = Principal(
                    arn=arn,
                    kind="user",
                    account=parts[4],
                    identity_policies=(
                        Policy(
                            "third party's own policy (assumed: may assume roles)",
                            iam.document(iam.statement("MayAssumeAnyRole", "sts:AssumeRole", "*")),
                        ),
                    ),
                )
                estate.prerequisites[arn] = "third-party user named in a trust policy"


def build_estate(runs: EstateRuns) -> Estate:
    estate = Estate(runs=runs)
    for run in runs.runs.values():
        _add_roles(estate, run)
        _add_buckets(estate, run)
        _add_keys(estate, run)
        _add_resource_policies(estate, run)
    _add_prerequisites(estate)
    _add_people(estate)
    _add_third_parties(estate)
    return estate


def all_resources(estate: Estate) -> Iterable[tuple[ProgramRun, RecordedResource]]:
    for run in estate.runs.runs.values():
        for r in run.resources:
            yield run, r
