"""AWS's policy evaluation logic for one request: ``evaluate(request) -> Decision``.

Why our own engine. principalmapper and ``@cloud-copilot/iam-simulate`` evaluate requests well,
but both are AGPL-3.0: this package is Apache-2.0 and used by an enterprise, so neither can be a
dependency. moto's IAM engine (``moto/iam/access_control.py``, moto 5.2) turns an Allow statement
whose condition or principal does not match into an explicit Deny, matches principals only as
``*`` or literal strings, and has no key policies, grants, boundaries or cross-account rule. The
catalogue of actions comes from parliament (BSD); the logic below is written from the AWS
documentation, cited per rule; nothing is copied from those projects.

The order (IAM User Guide, "Policy evaluation logic", "How AWS enforcement code logic evaluates
requests", "Cross-account policy evaluation logic"):

1. An explicit ``Deny`` in any applicable policy wins: SCPs, the VPC endpoint policy, the resource
   policy (bucket, key, trust, ...), identity policies, the permissions boundary.
2. SCPs of the caller's account must allow (at least one applicable Allow among them). They do not
   apply to service principals, nor to service-linked roles (path ``/aws-service-role/``).
3. The VPC endpoint policy the request passes through must allow.
4. Generic resources. Same account: the identity policies (within the permissions boundary) *or*
   the resource policy allow. A resource-policy grant naming the session, the IAM user or ``*``
   is not limited by the boundary; one naming the role ARN is; one naming the account delegates to
   the identity policies ("Permissions boundaries for IAM entities", "AWS JSON policy elements:
   Principal"). Cross account: the identity side (identity policies within the boundary) *and* the
   resource policy must both allow.
5. KMS keys (``resource_kind="kms"``): the key policy must allow, either naming the caller
   (directly, or its role ARN within the boundary) or naming an account, which then needs the
   caller's IAM policies (key's own account root = "enables IAM policies"; another account = the
   cross-account rule). A grant for the caller allows its operations (encryption-context
   constraints: Equals = exactly the pairs, Subset = at least the pairs; keys case-insensitive,
   values case-sensitive; not applied to operations without an encryption context). There is no
   identity-policy-only path ("Key policies in AWS KMS", "Grants in AWS KMS").
6. Role trust (``resource_kind="role-trust"``, sts:AssumeRole*/TagSession/SetSourceIdentity): the
   trust policy is the resource policy and must allow; naming the caller's role/user in the same
   account needs no identity grant, naming the account does; cross account needs both. The root
   user cannot assume roles. ``iam:PassRole`` is an identity-policy check (with
   ``iam:PassedToService``) and only for roles of the caller's own account.
7. Service principals and anonymous callers have no identity policies: only a resource policy can
   allow them.

Global keys derived from the principal unless the request context sets them: aws:PrincipalArn
(the role ARN for a role session), aws:PrincipalAccount, aws:PrincipalType, aws:PrincipalTag/*,
aws:PrincipalIsAWSService, aws:PrincipalServiceName, aws:username, aws:userid (root, anonymous),
aws:ResourceAccount, aws:SecureTransport=true, aws:ViaAWSService=false, aws:CurrentTime,
aws:EpochTime, aws:RequestedRegion (from the resource ARN), aws:CalledViaFirst/Last (from
aws:CalledVia), aws:TagKeys (from aws:RequestTag/*), kms:CallerAccount, kms:EncryptionContextKeys
(from kms:EncryptionContext:*).

Left out (not modelled by ``Request``): session policies, RCPs, SCP hierarchy levels (SCPs are one
flat set), permission delegation through S3 ACLs/object ownership, aws:userid for roles and users
(their unique ids are unknown offline), service-specific rules beyond KMS and role trust.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from mlops.rehearsal import catalogue
from mlops.rehearsal.conditions import (
    VARIABLES_VERSION,
    PolicyError,
    RequestContext,
    evaluate_condition,
    expand,
    resource_arn_matches,
    string_like,
)
from mlops.rehearsal.model import Decision, Grant, Policy, Principal, Request, StatementRef

__all__ = ["PolicyError", "build_context", "evaluate"]

PolicyKind = Literal["identity", "boundary", "scp", "resource", "endpoint"]
MatchKind = Literal["direct", "role", "account"]
"""How a resource-policy statement named the caller: the session/user/``*``/service itself, the
role ARN (limited by the boundary), or an account (delegates to its IAM policies)."""
_STRENGTH = {"account": 0, "role": 1, "direct": 2}

_TRUST_ACTIONS = (
    "sts:assumerole",
    "sts:assumerolewithwebidentity",
    "sts:assumerolewithsaml",
    "sts:tagsession",
    "sts:setsourceidentity",
    "sts:setcontext",
)
# KMS operations that take an encryption context (grant constraints apply only to these).
_KMS_CONTEXT_OPS = {
    "decrypt",
    "encrypt",
    "generatedatakey",
    "generatedatakeywithoutplaintext",
    "generatedatakeypair",
    "generatedatakeypairwithoutplaintext",
    "reencryptfrom",
    "reencryptto",
}


# --- the caller -------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Caller:
    principal: Principal
    kind: str
    account: str | None
    arn: str
    """aws:PrincipalArn: role ARN, user ARN, root ARN; service name; federated provider."""
    session_arn: str | None = None
    name: str = ""

    @property
    def service_linked(self) -> bool:
        return self.kind == "role" and ":role/aws-service-role/" in self.arn

    def who(self) -> str:
        if self.kind == "service":
            return f"service principal {self.arn}"
        if self.kind == "anonymous":
            return "an anonymous caller"
        return self.arn


def _caller(p: Principal) -> _Caller:
    if p.kind == "role":
        parts = p.arn.split(":", 5)
        if len(parts) != 6 or not parts[5].startswith("role/"):
            raise PolicyError(
                f"principal {p.arn!r} of kind 'role' is not a role ARN",
                fix="use arn:aws:iam::<account>:role/<path><name>",
            )
        name = parts[5].rsplit("/", 1)[-1]
        account = p.account or parts[4]
        session = f"arn:{parts[1]}:sts::{account}:assumed-role/{name}/{p.session_name}"
        return _Caller(p, "role", account, p.arn, session, name)
    if p.kind == "user":
        account = p.account or p.arn.split(":")[4]
        return _Caller(p, "user", account, p.arn, None, p.arn.rsplit("/", 1)[-1])
    if p.kind == "root":
        account = p.account or p.arn.split(":")[4]
        return _Caller(p, "root", account, f"arn:aws:iam::{account}:root")
    if p.kind == "service":
        return _Caller(p, "service", p.account, p.arn.removeprefix("service:"))
    if p.kind == "federated":
        return _Caller(p, "federated", p.account, p.arn)
    return _Caller(p, "anonymous", None, "*")


# --- request context --------------------------------------------------------------------------
def build_context(request: Request, caller: _Caller | None = None) -> RequestContext:
    """The request's context: its own keys, plus the global keys AWS derives for it."""
    c = caller or _caller(request.principal)
    ctx = RequestContext(request.context)
    p = request.principal
    if c.kind in ("role", "user", "root"):
        ctx.setdefault("aws:PrincipalArn", c.arn)
        ctx.setdefault("aws:PrincipalAccount", c.account)
        ctx.setdefault("aws:PrincipalIsAWSService", False)
        ctx.setdefault(
            "aws:PrincipalType", {"role": "AssumedRole", "user": "User", "root": "Account"}[c.kind]
        )
        for key, value in p.tags.items():
            ctx.setdefault(f"aws:PrincipalTag/{key}", value)
        if c.kind == "user":
            ctx.setdefault("aws:username", c.name)
        if c.kind == "root":
            ctx.setdefault("aws:userid", c.account)
    elif c.kind == "service":
        ctx.setdefault("aws:PrincipalIsAWSService", True)
        ctx.setdefault("aws:PrincipalServiceName", c.arn)
    elif c.kind == "anonymous":
        ctx.setdefault("aws:PrincipalType", "Anonymous")
        ctx.setdefault("aws:PrincipalAccount", "anonymous")
        ctx.setdefault("aws:userid", "anonymous")
    if request.resource_account:
        ctx.setdefault("aws:ResourceAccount", request.resource_account)
    ctx.setdefault("aws:SecureTransport", True)
    ctx.setdefault("aws:ViaAWSService", False)
    now = time.time()
    ctx.setdefault("aws:CurrentTime", datetime.fromtimestamp(now, tz=UTC).isoformat())
    ctx.setdefault("aws:EpochTime", int(now))
    parts = request.resource.split(":", 5)
    if len(parts) == 6 and parts[3]:
        ctx.setdefault("aws:RequestedRegion", parts[3])
    called_via = ctx.get("aws:CalledVia")
    if isinstance(called_via, list | tuple) and called_via:
        ctx.setdefault("aws:CalledViaFirst", called_via[0])
        ctx.setdefault("aws:CalledViaLast", called_via[-1])
    request_tags = ctx.keys_with_prefix("aws:RequestTag/")
    if request_tags:
        ctx.setdefault("aws:TagKeys", [k.split("/", 1)[1] for k in request_tags])
    if request.action.lower().startswith("kms:"):
        if c.account and c.kind != "service":
            ctx.setdefault("kms:CallerAccount", c.account)
        ec = ctx.keys_with_prefix("kms:EncryptionContext:")
        if ec:
            ctx.setdefault("kms:EncryptionContextKeys", [k.split(":", 2)[2] for k in ec])
    return ctx


# --- statements -------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Statement:
    ref: StatementRef
    effect: str
    actions: tuple[str, ...] | None
    not_actions: tuple[str, ...] | None
    resources: tuple[str, ...] | None
    not_resources: tuple[str, ...] | None
    principal: Any
    not_principal: Any
    condition: Mapping[str, Any] | None
    variables: bool


def _strings(value: Any, where: str, element: str) -> tuple[str, ...]:
    values = value if isinstance(value, list | tuple) else [value]
    if not values or not all(isinstance(v, str) for v in values):
        raise PolicyError(f"{where}: {element} must be a string or a list of strings")
    return tuple(values)


def _statements(policy: Policy, kind: PolicyKind) -> list[_Statement]:
    doc = policy.document
    if not isinstance(doc, Mapping):
        raise PolicyError(f"{policy.name}: a policy document must be a JSON object")
    raw = doc.get("Statement")
    if raw is None:
        raise PolicyError(f"{policy.name}: the policy has no Statement element")
    raws = [raw] if isinstance(raw, Mapping) else list(raw)
    variables = doc.get("Version") == VARIABLES_VERSION
    out: list[_Statement] = []
    for i, st in enumerate(raws):
        if not isinstance(st, Mapping):
            raise PolicyError(f"{policy.name}: statement #{i} is not an object")
        sid = st.get("Sid") or f"#{i}"
        where = f"{policy.name} statement {sid}"
        effect = st.get("Effect")
        if effect not in ("Allow", "Deny"):
            raise PolicyError(f"{where}: Effect must be Allow or Deny, got {effect!r}")
        if ("Action" in st) == ("NotAction" in st):
            raise PolicyError(f"{where}: use exactly one of Action and NotAction")
        if "Resource" in st and "NotResource" in st:
            raise PolicyError(f"{where}: use at most one of Resource and NotResource")
        if kind in ("identity", "boundary") and "Resource" not in st and "NotResource" not in st:
            raise PolicyError(
                f"{where}: an identity policy statement needs Resource or NotResource",
                fix='add "Resource": "<ARN pattern>" (or "*" for actions without resources)',
            )
        has_principal = "Principal" in st or "NotPrincipal" in st
        if kind in ("identity", "boundary", "scp") and has_principal:
            raise PolicyError(
                f"{where}: {kind} policies cannot name a Principal",
                fix="the principal of an identity policy is the identity it is attached to",
            )
        out.append(
            _Statement(
                ref=StatementRef(policy.name, sid),
                effect=effect,
                actions=_strings(st["Action"], where, "Action") if "Action" in st else None,
                not_actions=_strings(st["NotAction"], where, "NotAction")
                if "NotAction" in st
                else None,
                resources=_strings(st["Resource"], where, "Resource") if "Resource" in st else None,
                not_resources=_strings(st["NotResource"], where, "NotResource")
                if "NotResource" in st
                else None,
                principal=st.get("Principal"),
                not_principal=st.get("NotPrincipal"),
                condition=st.get("Condition"),
                variables=variables,
            )
        )
    return out


_NO_CONTEXT = RequestContext()


def _action_matches(patterns: Iterable[str], action: str) -> bool:
    for pattern in patterns:
        if pattern == "*" or pattern.lower() == action.lower():
            return True
        if ("*" in pattern or "?" in pattern) and string_like(
            expand(pattern, _NO_CONTEXT, variables=False) or (), action, ignore_case=True
        ):
            return True
    return False


def _resource_matches(
    patterns: Iterable[str], arn: str, ctx: RequestContext, variables: bool
) -> bool:
    for pattern in patterns:
        pieces = expand(pattern, ctx, variables=variables)
        if pieces is not None and resource_arn_matches(pieces, arn):
            return True
    return False


# --- Principal element -----------------------------------------------------------------------
def _principal_values(element: Any, where: str) -> dict[str, tuple[str, ...]]:
    if element == "*":
        return {"*": ("*",)}
    if not isinstance(element, Mapping):
        raise PolicyError(f'{where}: Principal must be "*" or an object such as {{"AWS": ...}}')
    return {k: _strings(v, where, f"Principal.{k}") for k, v in element.items()}


def _account_of(value: str) -> str | None:
    if value.isdigit() and len(value) == 12:
        return value
    parts = value.split(":")
    if len(parts) == 6 and parts[2] == "iam" and parts[5] == "root":
        return parts[4]
    return None


def _principal_match(element: Any, c: _Caller, where: str) -> MatchKind | None:
    """The strongest way a Principal element names the caller, or None."""
    best: MatchKind | None = None

    def better(kind: MatchKind) -> None:
        nonlocal best
        if best is None or _STRENGTH[kind] > _STRENGTH[best]:
            best = kind

    for ptype, values in _principal_values(element, where).items():
        for v in values:
            if v == "*" and ptype in ("*", "AWS"):
                better("direct")
            elif ptype == "AWS" and c.kind in ("role", "user", "root"):
                if _account_of(v) is not None:
                    if _account_of(v) == c.account:
                        better("direct" if c.kind == "root" else "account")
                elif c.session_arn is not None and v == c.session_arn:
                    better("direct")
                elif v == c.arn:
                    better("role" if c.kind == "role" else "direct")
            elif (ptype == "Service" and c.kind == "service" and v.lower() == c.arn.lower()) or (
                ptype == "Federated" and c.kind == "federated" and v == c.arn
            ):
                better("direct")
    return best


def _caller_levels(c: _Caller) -> list[set[str]]:
    """The caller's identities from outermost to innermost (account, role, session), each as the
    set of Principal values that name it; NotPrincipal must name every level to exempt it."""
    if c.kind == "role":
        acct = {c.account or "", f"arn:aws:iam::{c.account}:root"}
        return [acct, {c.arn}, {c.session_arn or ""}]
    if c.kind == "user":
        return [{c.account or "", f"arn:aws:iam::{c.account}:root"}, {c.arn}]
    if c.kind == "root":
        return [{c.account or "", c.arn}]
    if c.kind in ("service", "federated"):
        return [{c.arn}]
    return [set()]


def _not_principal_applies(element: Any, c: _Caller, effect: str, where: str) -> bool:
    values = _principal_values(element, where)
    if "*" in values or "*" in values.get("AWS", ()):
        return False
    named = {v for vs in values.values() for v in vs}
    if c.kind == "service":
        named = {v.lower() for v in named}
        levels = [{c.arn.lower()}]
    else:
        levels = _caller_levels(c)
    hits = [bool(level & named) for level in levels]
    # Deny: the caller escapes only when every level of its identity is exempted (AWS "might
    # validate the account first, then the role, then the session"). Allow: any level named
    # excludes it. Both readings err towards denying.
    exempt = all(hits) if effect == "Deny" else any(hits)
    return not exempt


# --- evaluating one policy ----------------------------------------------------------------------
@dataclass
class _Result:
    policy: Policy
    kind: PolicyKind
    allows: list[tuple[StatementRef, MatchKind]] = field(default_factory=list)
    denies: list[StatementRef] = field(default_factory=list)
    near: list[str] = field(default_factory=list)
    """Allow statements that match action, resource and principal but whose condition fails."""

    @property
    def allowed(self) -> bool:
        return bool(self.allows)

    def best(self) -> MatchKind | None:
        if not self.allows:
            return None
        return max((m for _, m in self.allows), key=_STRENGTH.__getitem__)

    def refs(self, kinds: Sequence[MatchKind] = ("direct", "role", "account")) -> list:
        return [r for r, m in self.allows if m in kinds]


def _evaluate_policy(
    policy: Policy, kind: PolicyKind, request: Request, c: _Caller, ctx: RequestContext
) -> _Result:
    result = _Result(policy, kind)
    for st in _statements(policy, kind):
        where = f"{policy.name} statement {st.ref.sid}"
        if st.actions is not None and not _action_matches(st.actions, request.action):
            continue
        if st.not_actions is not None and _action_matches(st.not_actions, request.action):
            continue
        if st.resources is not None and not _resource_matches(
            st.resources, request.resource, ctx, st.variables
        ):
            continue
        if st.not_resources is not None and _resource_matches(
            st.not_resources, request.resource, ctx, st.variables
        ):
            continue
        match: MatchKind | None = "direct"
        if kind in ("resource", "endpoint"):
            if st.principal is not None:
                match = _principal_match(st.principal, c, where)
            elif st.not_principal is not None:
                applies = _not_principal_applies(st.not_principal, c, st.effect, where)
                match = "direct" if applies else None
            elif kind == "endpoint":
                match = "direct"  # an endpoint policy without Principal covers everyone
            else:  # a resource policy statement naming nobody: never grants, always denies
                match = "direct" if st.effect == "Deny" else None
            if match is None:
                continue
        outcome = evaluate_condition(st.condition, ctx, variables=st.variables, where=where)
        if not outcome.met:
            if st.effect == "Allow":
                result.near.append(f"statement {st.ref.sid} of {policy.name}: {outcome.failed}")
            continue
        if st.effect == "Deny":
            result.denies.append(st.ref)
        else:
            result.allows.append((st.ref, match))
    return result


# --- grants ------------------------------------------------------------------------------------
def _grant_allows(grant: Grant, request: Request, c: _Caller, ctx: RequestContext) -> bool:
    if grant.key_arn not in (request.resource, "*"):
        return False
    grantee = grant.grantee
    if c.kind == "service":
        if grantee.removeprefix("service:").lower() != c.arn.lower():
            return False
    elif grantee not in {c.arn, c.session_arn}:
        return False
    op = request.action.split(":", 1)[1].lower()
    if op not in {o.removeprefix("kms:").lower() for o in grant.operations}:
        return False
    if op not in _KMS_CONTEXT_OPS or not (grant.context_equals or grant.context_subset):
        return True
    request_ec: dict[str, str] = {}
    for key in ctx.keys_with_prefix("kms:EncryptionContext:"):
        request_ec[key.split(":", 2)[2].lower()] = str(ctx.get(key))
    if grant.context_equals:
        want = {k.lower(): v for k, v in grant.context_equals.items()}
        return want == request_ec
    want = {k.lower(): v for k, v in grant.context_subset.items()}
    return all(request_ec.get(k) == v for k, v in want.items())


# --- the decision --------------------------------------------------------------------------------
def _refs_text(refs: Sequence[StatementRef]) -> str:
    return ", ".join(f"statement {r.sid} of {r.policy}" for r in refs)


def _hint(results: Iterable[_Result | None]) -> str:
    for r in results:
        if r is not None and r.near:
            return f"; closest: {r.near[0]}"
    return ""


def _deny(
    c: _Caller,
    request: Request,
    why: str,
    missing: Sequence[str],
    near: Iterable[_Result | None] = (),
) -> Decision:
    return Decision(
        outcome="implicit-deny",
        reason=f"{c.who()} cannot {request.action} on {request.resource}: {why}{_hint(near)}.",
        missing=tuple(missing),
    )


def _allow(
    c: _Caller, request: Request, gates: Sequence[StatementRef], refs: Sequence[StatementRef]
) -> Decision:
    """``refs``: the statements that grant; ``gates``: SCP and endpoint statements that let the
    request through (listed in ``allowed_by``, not in the sentence)."""
    main = list(dict.fromkeys(refs))
    by = _refs_text(main) if main else "the account root user's implicit full access"
    return Decision(
        outcome="allowed",
        reason=f"{c.who()} may {request.action} on {request.resource}: allowed by {by}.",
        allowed_by=tuple(dict.fromkeys([*main, *gates])),
    )


def _none_allows(names: Sequence[str]) -> str:
    if len(names) == 1:
        return f"no statement in {names[0]} allows it"
    return "no statement in " + " nor in ".join(names) + " allows it"


def evaluate(request: Request) -> Decision:
    """Allowed, explicitly denied or implicitly denied, as AWS would decide this request."""
    catalogue.check_action(request.action)
    c = _caller(request.principal)
    ctx = build_context(request, c)
    action = request.action.lower()
    p = request.principal

    if request.resource_kind == "role-trust" and action not in _TRUST_ACTIONS:
        raise PolicyError(
            f"resource_kind='role-trust' is for sts:AssumeRole* / sts:TagSession requests, "
            f"not {request.action}",
            fix="evaluate iam:PassRole and other role actions with resource_kind='generic'",
        )

    identity_names = f"identity policies of {p.arn}"
    has_identity = c.kind in ("role", "user")
    identity = (
        [_evaluate_policy(pol, "identity", request, c, ctx) for pol in p.identity_policies]
        if has_identity
        else []
    )
    boundary = (
        _evaluate_policy(p.boundary, "boundary", request, c, ctx)
        if has_identity and p.boundary is not None
        else None
    )
    scps_apply = bool(request.scps) and c.kind in ("role", "user", "root") and not c.service_linked
    scps = [_evaluate_policy(s, "scp", request, c, ctx) for s in request.scps] if scps_apply else []
    endpoint = (
        _evaluate_policy(request.endpoint_policy, "endpoint", request, c, ctx)
        if request.endpoint_policy is not None
        else None
    )
    resource = (
        _evaluate_policy(request.resource_policy, "resource", request, c, ctx)
        if request.resource_policy is not None
        else None
    )

    # 1. explicit deny anywhere
    every = [*scps, endpoint, resource, *identity, boundary]
    denied_by = [ref for r in every if r is not None for ref in r.denies]
    if denied_by:
        first = denied_by[0]
        return Decision(
            outcome="explicit-deny",
            reason=(
                f"{c.who()} cannot {request.action} on {request.resource}: explicitly denied by "
                f"statement {first.sid} of {first.policy}."
            ),
            denied_by=tuple(denied_by),
        )

    # 2. SCPs
    if scps_apply and not any(r.allowed for r in scps):
        name = f"SCPs of account {c.account}"
        return _deny(c, request, f"{_none_allows([name])} (SCPs must allow)", [name], scps)

    # 3. VPC endpoint policy
    if endpoint is not None and not endpoint.allowed:
        name = endpoint.policy.name
        return _deny(
            c,
            request,
            f"{_none_allows([name])} (the request goes through this endpoint)",
            [name],
            [endpoint],
        )
    gate_refs = [r for s in scps for r, _ in s.allows[:1]][:1]
    if endpoint is not None:
        gate_refs += endpoint.refs()[:1]

    identity_ok = c.kind == "root" or any(r.allowed for r in identity)
    boundary_ok = boundary is None or boundary.allowed
    identity_path = identity_ok and boundary_ok
    identity_refs = [ref for r in identity for ref, _ in r.allows[:1]]
    if boundary is not None:
        identity_refs += boundary.refs()[:1]
    same_account = request.resource_account is None or request.resource_account == c.account
    rp_name = (
        resource.policy.name
        if resource is not None
        else f"resource policy of {request.resource} (it has none)"
    )
    best = resource.best() if resource is not None else None

    def identity_missing() -> tuple[str, list[str]]:
        if not identity_ok:
            return _none_allows([identity_names]), [identity_names]
        assert boundary is not None
        why = f"permissions boundary {boundary.policy.name} does not allow it"
        return why, [boundary.policy.name]

    # 6. role trust
    if request.resource_kind == "role-trust":
        if c.kind == "root":
            return _deny(
                c, request, "the root user cannot assume roles (use an IAM role or user)", []
            )
        if resource is None:
            return _deny(c, request, f"the role has no trust policy ({rp_name})", [rp_name])
        if c.kind in ("service", "federated", "anonymous") or not same_account:
            if best is None:
                return _deny(c, request, _none_allows([rp_name]), [rp_name], [resource])
            if c.kind in ("service", "federated", "anonymous"):
                return _allow(c, request, gate_refs, resource.refs())
            if not identity_path:
                why, missing = identity_missing()
                return _deny(
                    c,
                    request,
                    f"cross-account trust needs both sides, and {why}",
                    missing,
                    [*identity, boundary],
                )
            return _allow(c, request, gate_refs, resource.refs() + identity_refs)
        return _same_account(
            c,
            request,
            resource,
            best,
            identity_path,
            identity_ok,
            boundary,
            identity_refs,
            gate_refs,
            identity,
            identity_names,
            rp_name,
            trust=True,
        )

    # 5. KMS
    if request.resource_kind == "kms":
        grant_hits = [g for g in request.grants if _grant_allows(g, request, c, ctx)]
        grant_refs = [
            StatementRef(f"grant {g.name or g.grantee} on {g.key_arn}", "grant") for g in grant_hits
        ]
        if resource is None:
            if grant_hits:
                return _allow(c, request, gate_refs, grant_refs)
            return _deny(c, request, f"the key has no key policy ({rp_name})", [rp_name])
        if c.kind in ("service", "anonymous", "federated"):
            if best is not None:
                return _allow(c, request, gate_refs, resource.refs())
            if grant_hits:
                return _allow(c, request, gate_refs, grant_refs)
            return _deny(c, request, _none_allows([rp_name]), [rp_name], [resource])
        if not same_account:
            if best is not None and identity_path:
                return _allow(c, request, gate_refs, resource.refs() + identity_refs)
            if grant_hits:
                return _allow(c, request, gate_refs, grant_refs)
            if best is None:
                missing = [rp_name] + ([] if identity_path else [identity_names])
                return _deny(
                    c,
                    request,
                    f"a key in another account needs its key policy to allow the caller or its "
                    f"account, and {_none_allows([rp_name])}",
                    missing,
                    [resource, *identity],
                )
            why, missing = identity_missing()
            return _deny(
                c,
                request,
                f"cross-account key use needs both sides, and {why}",
                missing,
                [*identity, boundary],
            )
        decision = _same_account(
            c,
            request,
            resource,
            best,
            identity_path,
            identity_ok,
            boundary,
            identity_refs,
            gate_refs,
            identity,
            identity_names,
            rp_name,
            trust=False,
            kms=True,
        )
        if not decision.allowed and grant_hits:
            return _allow(c, request, gate_refs, grant_refs)
        return decision

    # 7. service principals and anonymous callers: only resource policies
    if c.kind in ("service", "anonymous", "federated"):
        if best is not None:
            return _allow(c, request, gate_refs, resource.refs())  # type: ignore[union-attr]
        return _deny(
            c,
            request,
            f"{_none_allows([rp_name])} (only a resource policy can allow a "
            f"{'service principal' if c.kind == 'service' else c.kind + ' caller'})",
            [rp_name],
            [resource],
        )

    if action == "iam:passrole":
        role_account = request.resource.split(":")[4] if request.resource.count(":") >= 5 else ""
        if role_account and c.account and role_account != c.account:
            return _deny(
                c,
                request,
                f"a role can only be passed within its own account ({role_account}), not from "
                f"{c.account}",
                [],
            )

    # 4. generic resources
    if not same_account:
        if best is not None and identity_path:
            return _allow(c, request, gate_refs, identity_refs + resource.refs())  # type: ignore[union-attr]
        if best is None and not identity_path:
            missing = [identity_names, rp_name]
            return _deny(
                c,
                request,
                f"cross-account access needs both sides, and {_none_allows(missing)}",
                missing,
                [*identity, resource],
            )
        if best is None:
            return _deny(
                c,
                request,
                f"cross-account access needs both sides, and {_none_allows([rp_name])} "
                f"(the identity side does)",
                [rp_name],
                [resource],
            )
        why, missing = identity_missing()
        return _deny(
            c,
            request,
            f"cross-account access needs both sides, and {why} (the resource side does)",
            missing,
            [*identity, boundary],
        )
    if resource is None:
        if identity_path:
            return _allow(c, request, gate_refs, identity_refs)
        why, missing = identity_missing()
        return _deny(c, request, why, missing, [*identity, boundary])
    return _same_account(
        c,
        request,
        resource,
        best,
        identity_path,
        identity_ok,
        boundary,
        identity_refs,
        gate_refs,
        identity,
        identity_names,
        rp_name,
        trust=False,
    )


def _same_account(
    c: _Caller,
    request: Request,
    resource: _Result,
    best: MatchKind | None,
    identity_path: bool,
    identity_ok: bool,
    boundary: _Result | None,
    identity_refs: list[StatementRef],
    gate_refs: list[StatementRef],
    identity: list[_Result],
    identity_names: str,
    rp_name: str,
    *,
    trust: bool,
    kms: bool = False,
) -> Decision:
    """Same-account evaluation where the resource policy exists. For trust and key policies the
    resource policy must name the caller (directly, by role within the boundary, or by account
    delegating to IAM); for other resources either side suffices."""
    boundary_ok = boundary is None or boundary.allowed
    direct = resource.refs(("direct",))
    role = resource.refs(("role",))
    account = resource.refs(("account",))
    if direct:
        return _allow(c, request, gate_refs, direct)
    if role and boundary_ok:
        return _allow(c, request, gate_refs, role + (boundary.refs()[:1] if boundary else []))
    if trust or kms:
        kind = "trust policy" if trust else "key policy"
        if account and identity_path:
            return _allow(c, request, gate_refs, account + identity_refs)
        if account:
            # the policy delegates to IAM: the identity side must allow
            why = (
                f"{rp_name} delegates to the account's IAM policies, and "
                + (
                    _none_allows([identity_names])
                    if not identity_ok
                    else f"permissions boundary {boundary.policy.name} does not allow it"
                )  # type: ignore[union-attr]
            )
            missing = [identity_names] if not identity_ok else [boundary.policy.name]  # type: ignore[union-attr]
            return _deny(c, request, why, missing, [*identity, boundary])
        if role:
            assert boundary is not None
            why = (
                f"{rp_name} names the role ARN, which the permissions boundary "
                f"{boundary.policy.name} limits, and the boundary does not allow it"
            )
            return _deny(c, request, why, [boundary.policy.name], [boundary])
        extra = " (an identity policy alone cannot allow it)" if identity_path else ""
        return _deny(
            c,
            request,
            f"the {kind} must allow the caller, and {_none_allows([rp_name])}{extra}",
            [rp_name],
            [resource, *identity],
        )
    if identity_path:
        return _allow(c, request, gate_refs, identity_refs)
    if role:
        assert boundary is not None
        why = (
            f"{rp_name} names the role ARN, which the permissions boundary {boundary.policy.name} "
            f"limits, and the boundary does not allow it"
        )
        return _deny(c, request, why, [boundary.policy.name], [boundary])
    if identity_ok:  # identity allows, the boundary does not, the resource policy does not help
        assert boundary is not None
        why = (
            f"permissions boundary {boundary.policy.name} does not allow it (the identity policies "
            f"do, and {rp_name} does not name the caller)"
        )
        return _deny(c, request, why, [boundary.policy.name], [boundary, resource])
    missing = [identity_names, rp_name]
    return _deny(c, request, _none_allows(missing), missing, [*identity, resource])


IdentityVerdict = Literal["Allow", "Deny", "ImplicitDeny"]
_DEFAULT_ACCOUNT = "111111111111"


def identity_decision(
    documents: Iterable[Mapping[str, Any]],
    action: str,
    resource: str,
    *,
    context: Mapping[str, Any] | None = None,
    role_name: str = "unit-under-test",
) -> IdentityVerdict:
    """What one role's identity policies (`documents`) alone decide for a request on a resource
    of its own account: ``evaluate`` with no resource policy, no boundary and no SCPs (unit tests
    of a component's documents). Conditions are evaluated against `context` and the global keys
    the evaluator derives, so an Allow under a condition the request does not meet allows nothing.
    """
    parts = resource.split(":")
    account = parts[4] if len(parts) > 4 and parts[4].isdigit() else _DEFAULT_ACCOUNT
    principal = Principal(
        arn=f"arn:aws:iam::{account}:role/{role_name}",
        kind="role",
        account=account,
        identity_policies=tuple(
            Policy(f"document {i}", doc) for i, doc in enumerate(documents, start=1)
        ),
    )
    decision = evaluate(
        Request(
            principal=principal,
            action=action,
            resource=resource,
            resource_account=account,
            context=dict(context or {}),
        )
    )
    if decision.outcome == "allowed":
        return "Allow"
    return "Deny" if decision.outcome == "explicit-deny" else "ImplicitDeny"
