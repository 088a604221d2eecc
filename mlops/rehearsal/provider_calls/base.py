"""The shared machinery of the provider-call knowledge base: the registry of resource types, the
program view (names, ARNs, keys) and small call builders.

Each service-family module registers its resource types with :func:`register`; an entry says what
the deployer calls to create a resource (``create``), what AWS services then call because of it
(``service``), which principals its policies name (``principals``), what must already be set in
the account (``prerequisites``), where each fact comes from (``source``) and which facts could not
be verified (``unverified``, one line each).
"""

from __future__ import annotations

import json
import re
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from mlops.errors import MlopsError
from mlops.rehearsal.model import Call
from mlops.testing.mocks import RecordedResource

CALLER = "caller"
"""Principal of a service call made with the deployer's own credentials (S3 calling KMS for an
SSE-KMS upload, a service creating a grant or a service-linked role as the caller)."""

When = Literal["create", "runtime"]


class UnknownResourceType(MlopsError):
    """A recorded resource type the knowledge base has no entry for."""

    def __init__(self, typ: str, name: str = "") -> None:
        where = f" (resource {name!r})" if name else ""
        super().__init__(
            f"provider_calls has no entry for resource type {typ!r}{where}: the rehearsal cannot "
            "say what creating it calls",
            fix="add an entry for it in mlops/rehearsal/provider_calls/ (create calls, service "
            "calls, named principals, source) and a test",
        )
        self.type = typ


@dataclass(frozen=True)
class ServiceCall:
    """A call AWS makes because of a resource: by ``principal`` (``service:<name>``, a role ARN,
    or :data:`CALLER`), ``when`` the resource is created or later at run time."""

    principal: str
    call: Call
    when: When = "create"


@dataclass(frozen=True)
class Prerequisite:
    """Something the account must already have for the create call to succeed."""

    what: str
    satisfied: bool
    detail: str = ""


CreateFn = Callable[[RecordedResource, "ProgramView"], list[Call]]
ServiceFn = Callable[[RecordedResource, "ProgramView"], list[ServiceCall]]
PrincipalsFn = Callable[[RecordedResource], list[str]]
PrereqFn = Callable[[RecordedResource, "ProgramView"], list[Prerequisite]]
ArnFn = Callable[[RecordedResource, "ProgramView"], str]


@dataclass(frozen=True)
class Entry:
    type: str
    create: CreateFn
    arn: ArnFn | None = None
    service: ServiceFn | None = None
    principals: PrincipalsFn | None = None
    prerequisites: PrereqFn | None = None
    source: tuple[str, ...] = ()
    unverified: tuple[str, ...] = ()
    name_field: str = "name"

    @property
    def verified(self) -> bool:
        return not self.unverified


REGISTRY: dict[str, Entry] = {}


def register(
    typ: str,
    *,
    source: Sequence[str],
    arn: ArnFn | None = None,
    service: ServiceFn | None = None,
    principals: PrincipalsFn | None = None,
    prerequisites: PrereqFn | None = None,
    unverified: Sequence[str] = (),
    name_field: str = "name",
) -> Callable[[CreateFn], CreateFn]:
    """Register the create-calls function of ``typ`` (decorator)."""

    def deco(fn: CreateFn) -> CreateFn:
        if typ in REGISTRY:
            raise ValueError(f"provider_calls: {typ} registered twice")
        REGISTRY[typ] = Entry(
            type=typ,
            create=fn,
            arn=arn,
            service=service,
            principals=principals,
            prerequisites=prerequisites,
            source=tuple(source),
            unverified=tuple(unverified),
            name_field=name_field,
        )
        return fn

    return deco


def entry_for(resource: RecordedResource) -> Entry:
    try:
        return REGISTRY[resource.type]
    except KeyError:
        raise UnknownResourceType(resource.type, resource.name) from None


# --- reading recorded values -------------------------------------------------------------------
def value(resource: RecordedResource, key: str, default: Any = None) -> Any:
    """A property as the engine would hold it after create: state first, then inputs."""
    for src in (resource.state, resource.inputs):
        v = src.get(key)
        if v not in (None, ""):
            return v
    return default


def as_json(v: Any) -> Any:
    """Policies and nested blocks arrive as JSON strings or as plain structures."""
    if isinstance(v, str):
        text = v.strip()
        if text[:1] in "{[" or text.startswith('"'):
            try:
                parsed = json.loads(text)
            except ValueError:
                return v
            return as_json(parsed) if isinstance(parsed, str) else parsed
    return v


def block(resource: RecordedResource, key: str) -> dict[str, Any]:
    v = as_json(value(resource, key))
    if isinstance(v, list):
        v = v[0] if v else {}
    return v if isinstance(v, dict) else {}


def sub(d: Any, key: str) -> dict[str, Any]:
    """A nested block of a block (lists of one block and JSON strings unwrapped)."""
    v = as_json(d.get(key)) if isinstance(d, dict) else None
    if isinstance(v, list):
        v = v[0] if v else {}
    return v if isinstance(v, dict) else {}


def strings(v: Any) -> list[str]:
    v = as_json(v)
    if v in (None, ""):
        return []
    if isinstance(v, str):
        return [v]
    return [str(x) for x in v if x not in (None, "")]


def tags(resource: RecordedResource) -> dict[str, str]:
    t = as_json(resource.inputs.get("tags"))
    return {str(k): str(v) for k, v in t.items()} if isinstance(t, dict) else {}


def tag_context(resource: RecordedResource) -> dict[str, Any]:
    """aws:RequestTag/* and aws:TagKeys of a create request that carries the resource's tags."""
    t = tags(resource)
    if not t:
        return {}
    ctx: dict[str, Any] = {f"aws:RequestTag/{k}": v for k, v in t.items()}
    ctx["aws:TagKeys"] = sorted(t)
    return ctx


def policy_principals(document: Any) -> list[str]:
    """AWS principal ARNs named in a policy's Principal elements (not conditions, not services).

    A bare account id becomes its root ARN; ``*`` is not a principal that must exist."""
    doc = as_json(document)
    if not isinstance(doc, dict):
        return []
    statements = doc.get("Statement", [])
    if isinstance(statements, dict):
        statements = [statements]
    found: list[str] = []
    for st in statements:
        for key in ("Principal", "NotPrincipal"):
            p = st.get(key)
            if not isinstance(p, dict):
                continue
            for arn in strings(p.get("AWS")):
                if arn == "*":
                    continue
                if re.fullmatch(r"\d{12}", arn):
                    arn = f"arn:aws:iam::{arn}:root"
                found.append(arn)
    return list(dict.fromkeys(found))


def stable_suffix(text: str, n: int = 6) -> str:
    """A deterministic stand-in for a random id suffix AWS adds (secrets, ids)."""
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    x = zlib.crc32(text.encode())
    out = ""
    for _ in range(n):
        x, r = divmod(x * 7919 + 17, len(alphabet))
        out += alphabet[r]
    return out


# --- the program ---------------------------------------------------------------------------------
@dataclass
class ProgramView:
    """One program's recorded resources, with the lookups the knowledge base needs."""

    account: str
    region: str
    resources: Sequence[RecordedResource]
    partition: str = "aws"
    account_settings: Sequence[tuple[str, RecordedResource]] = ()
    """Resources other programs deployed earlier in the same account and region, with the
    program's name: where account-level settings (API Gateway's CloudWatch role) come from."""
    by_urn: dict[str, RecordedResource] = field(init=False, repr=False)
    _by_arn: dict[str, RecordedResource] = field(init=False, repr=False)
    _keys: dict[str, RecordedResource] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.by_urn = {r.urn: r for r in self.resources}
        self._by_arn = {}
        self._keys = {}
        for r in self.resources:
            if r.type == "aws:kms/key:Key":
                for ref in (value(r, "keyId"), value(r, "id"), value(r, "arn"), self.arn_of(r)):
                    if ref:
                        self._keys[str(ref)] = r
        for r in self.resources:
            if r.type == "aws:kms/alias:Alias":
                key = self._keys.get(str(value(r, "targetKeyId") or ""))
                name = value(r, "name")
                if key is not None and name:
                    self._keys[str(name)] = key
                    self._keys[self.arn("kms", f"{name}")] = key
        for r in self.resources:
            if r.custom and r.type in REGISTRY and REGISTRY[r.type].arn is not None:
                self._by_arn.setdefault(self.arn_of(r), r)
            st = r.state.get("arn")
            if isinstance(st, str) and st.startswith("arn:"):
                self._by_arn.setdefault(st, r)

    @classmethod
    def of(cls, mocks: Any) -> ProgramView:
        """From a ``RecordingMocks`` (or anything with account_id, region, resources)."""
        return cls(account=mocks.account_id, region=mocks.region, resources=list(mocks.resources))

    # names and ARNs
    def arn(self, service: str, resource: str, *, region: bool = True, account: bool = True) -> str:
        r = self.region if region else ""
        a = self.account if account else ""
        return f"arn:{self.partition}:{service}:{r}:{a}:{resource}"

    def physical_name(self, resource: RecordedResource) -> str:
        field_ = REGISTRY[resource.type].name_field if resource.type in REGISTRY else "name"
        return str(value(resource, field_) or value(resource, "name") or resource.name)

    def arn_of(self, resource: RecordedResource) -> str:
        """The resource's ARN as AWS forms it (documented format, from the physical name or the
        provider-computed id); the mocks' ``arn`` output is not trusted for its shape."""
        e = entry_for(resource)
        if e.arn is None:
            raise MlopsError(
                f"{resource.type} has no ARN in provider_calls",
                fix="it is a setting or association, not an addressable resource",
            )
        return e.arn(resource, self)

    def resource_for_arn(self, arn: str) -> RecordedResource | None:
        return self._by_arn.get(arn)

    def canonical(self, ref: Any) -> str:
        """An ARN taken from another resource's inputs, in its documented form when it points at a
        resource of this program (the provider-computed output may be shaped otherwise); a
        qualifier after the ARN (``:$LATEST``, a version) is kept."""
        ref = str(ref or "")
        target, qualifier = self._by_arn.get(ref), ""
        if target is None and ref.count(":") >= 6:
            head, _, tail = ref.rpartition(":")
            target, qualifier = self._by_arn.get(head), f":{tail}"
        if target is None or target.type not in REGISTRY or REGISTRY[target.type].arn is None:
            return ref
        return self.arn_of(target) + qualifier

    def key_for(self, ref: str | None) -> RecordedResource | None:
        """The KMS key resource behind a key ARN, key id, alias name or alias ARN."""
        if not ref:
            return None
        return self._keys.get(str(ref))

    def key_arn(self, ref: str | None) -> str | None:
        """A key reference as the key ARN KMS evaluates (aliases resolved where known)."""
        if not ref:
            return None
        key = self.key_for(ref)
        if key is not None:
            return self.arn_of(key)
        ref = str(ref)
        if ref.startswith("arn:"):
            return ref
        if ref.startswith("alias/"):
            return self.arn("kms", ref)
        return self.arn("kms", f"key/{ref}")

    def of_type(self, typ: str) -> list[RecordedResource]:
        return [r for r in self.resources if r.type == typ]

    def in_account(self, typ: str) -> list[tuple[str, RecordedResource]]:
        """Resources of ``typ`` in this account and region: this program's ("" as the program)
        first, then those earlier programs deployed."""
        own = [("", r) for r in self.of_type(typ)]
        return own + [(p, r) for p, r in self.account_settings if r.type == typ]

    def find(self, typ: str, **match: Any) -> RecordedResource | None:
        """The first resource of ``typ`` whose values (state, then inputs) equal ``match``."""
        for r in self.of_type(typ):
            if all(str(value(r, k)) == str(v) for k, v in match.items()):
                return r
        return None

    def role_arn(self, ref: str | None) -> str | None:
        """A role name or ARN as the role ARN (path from the recorded role when it is known)."""
        if not ref:
            return None
        ref = str(ref)
        if ref.startswith("arn:"):
            return ref
        role = self.find("aws:iam/role:Role", name=ref)
        if role is not None:
            return self.arn_of(role)
        return f"arn:{self.partition}:iam::{self.account}:role/{ref}"

    def role_for(self, ref: str | None) -> RecordedResource | None:
        if not ref:
            return None
        arn = self.role_arn(ref)
        r = self.resource_for_arn(arn) if arn else None
        return r if r is not None and r.type == "aws:iam/role:Role" else None


# --- call builders --------------------------------------------------------------------------------
def c(
    action: str, resource: str = "*", why: str = "", ctx: Mapping[str, Any] | None = None
) -> Call:
    """One call; context entries with empty values are dropped."""
    clean = {k: v for k, v in (ctx or {}).items() if v not in (None, "", [])}
    return Call(action=action, resource=resource, why=why, context=clean)


def eni(v: ProgramView, action: str) -> str:
    """The resource of an EC2 network-interface call: ENI ARNs, ``*`` for the Describe* calls
    (which take no resource)."""
    return "*" if ":Describe" in action else v.arn("ec2", "network-interface/*")


def pass_role(role_arn: str | None, service: str, why: str = "") -> list[Call]:
    if not role_arn:
        return []
    return [
        c(
            "iam:PassRole",
            role_arn,
            why or f"pass the role to {service}",
            {"iam:PassedToService": service},
        )
    ]


def reads(
    resource: str, *actions: str, why: str = "provider reads the resource back"
) -> list[Call]:
    return [c(a, resource, why) for a in actions]


def tagged(resource: RecordedResource, action: str, arn: str, why: str = "") -> list[Call]:
    """The separate tagging permission a create-with-tags needs, when the resource has tags."""
    if not tags(resource):
        return []
    return [c(action, arn, why or "tags on create", tag_context(resource))]


def assume(
    service: str, role_arn: str | None, why: str, when: When = "create"
) -> list[ServiceCall]:
    if not role_arn:
        return []
    # Services assume roles on behalf of the role's own account and say so (aws:SourceAccount),
    # which the platform's trust policies require (confused-deputy protection).
    account = role_arn.split(":")[4] if role_arn.startswith("arn:") else ""
    context = {"aws:SourceAccount": account} if account else None
    return [ServiceCall(f"service:{service}", c("sts:AssumeRole", role_arn, why, context), when)]


def as_role(
    role_arn: str | None, calls: Iterable[Call], when: When = "create"
) -> list[ServiceCall]:
    if not role_arn:
        return []
    return [ServiceCall(role_arn, c, when) for c in calls]


def slr(view: ProgramView, service_name: str, role_name: str, why: str) -> list[ServiceCall]:
    """The caller creates the service's linked role (AWS skips it when the role exists; the program
    creating it itself via aws.iam.ServiceLinkedRole also counts)."""
    for r in view.of_type("aws:iam/serviceLinkedRole:ServiceLinkedRole"):
        if value(r, "awsServiceName") == service_name:
            return []
    arn = (
        f"arn:{view.partition}:iam::{view.account}:role/aws-service-role/{service_name}/{role_name}"
    )
    return [
        ServiceCall(
            CALLER,
            c("iam:CreateServiceLinkedRole", arn, why, {"iam:AWSServiceName": service_name}),
            "create",
        )
    ]


def kms_via(
    key_arn: str | None,
    actions: Sequence[str],
    service: str,
    view: ProgramView,
    context: Mapping[str, Any] | None = None,
    why: str = "",
) -> list[Call]:
    """KMS calls a service makes with the caller's credentials (kms:ViaService)."""
    if not key_arn:
        return []
    ctx = {
        "kms:ViaService": f"{service}.{view.region}.amazonaws.com",
        "kms:CallerAccount": view.account,
    }
    ctx.update(context or {})
    return [c(a, key_arn, why, ctx) for a in actions]


def grant_for_service(key_arn: str | None, service: str, view: ProgramView, why: str) -> list[Call]:
    """The grant a service creates on the caller's behalf (kms:GrantIsForAWSResource)."""
    if not key_arn:
        return []
    ctx = {
        "kms:GrantIsForAWSResource": True,
        "kms:ViaService": f"{service}.{view.region}.amazonaws.com",
        "kms:CallerAccount": view.account,
    }
    describe = {"kms:ViaService": ctx["kms:ViaService"]}
    return [c("kms:CreateGrant", key_arn, why, ctx), c("kms:DescribeKey", key_arn, why, describe)]
