"""Properties of the evaluation logic over random policies (hypothesis), from "Policy evaluation
logic": an explicit deny always wins; allows only add permissions; boundaries and SCPs only take
permissions away; cross-account access needs both sides; decisions are self-consistent."""

from __future__ import annotations

import dataclasses
from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from mlops.rehearsal.evaluator import evaluate
from mlops.rehearsal.model import Grant, Policy, Principal, Request

from .iam_fixtures import A, B, key_arn

SETTINGS = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])

ROLE = f"arn:aws:iam::{A}:role/app"
SESSION = f"arn:aws:sts::{A}:assumed-role/app/s"

WORLDS: dict[str, dict[str, Any]] = {
    "generic": {
        "actions": ["s3:GetObject", "s3:PutObject"],
        "patterns": ["s3:GetObject", "s3:PutObject", "s3:*", "*", "s3:Get*", "kms:*"],
        "resources": ["arn:aws:s3:::b/k", "arn:aws:s3:::b/other"],
        "resource_patterns": ["*", "arn:aws:s3:::b/*", "arn:aws:s3:::b/k", "arn:aws:s3:::x/*"],
    },
    "kms": {
        "actions": ["kms:Decrypt", "kms:Encrypt"],
        "patterns": ["kms:Decrypt", "kms:Encrypt", "kms:*", "*", "kms:De*", "s3:*"],
        "resources": [key_arn(A), key_arn(B)],
        "resource_patterns": ["*", key_arn(A), "arn:aws:kms:*:*:key/*", key_arn(A, "other")],
    },
    "role-trust": {
        "actions": ["sts:AssumeRole"],
        "patterns": ["sts:AssumeRole", "sts:*", "*", "s3:*"],
        "resources": [f"arn:aws:iam::{A}:role/target", f"arn:aws:iam::{B}:role/target"],
        "resource_patterns": ["*", f"arn:aws:iam::{A}:role/target", "arn:aws:iam::*:role/*"],
    },
}
PRINCIPALS = [
    "*",
    {"AWS": A},
    {"AWS": B},
    {"AWS": ROLE},
    {"AWS": SESSION},
    {"AWS": f"arn:aws:iam::{A}:role/other"},
    {"Service": "s3.amazonaws.com"},
]
CONDITIONS = [
    None,
    {"Bool": {"aws:SecureTransport": "true"}},
    {"StringEquals": {"aws:PrincipalAccount": A}},
    {"StringNotEquals": {"x:k": "v"}},
    {"StringEqualsIfExists": {"s3:x-amz-acl": "private"}},
    {"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/app"}},
    {"ForAllValues:StringEquals": {"aws:TagKeys": ["a"]}},
]
CONTEXTS = [
    {},
    {"s3:x-amz-acl": "private"},
    {"s3:x-amz-acl": "public-read"},
    {"aws:SecureTransport": False},
    {"aws:TagKeys": ["a", "b"]},
]


@st.composite
def statements(draw, world: str, with_principal: bool) -> dict[str, Any]:
    w = WORLDS[world]
    s: dict[str, Any] = {"Effect": draw(st.sampled_from(["Allow", "Allow", "Deny"]))}
    actions = draw(st.lists(st.sampled_from(w["patterns"]), min_size=1, max_size=2))
    s["NotAction" if draw(st.integers(0, 5)) == 0 else "Action"] = actions
    resources = draw(st.lists(st.sampled_from(w["resource_patterns"]), min_size=1, max_size=2))
    s["NotResource" if draw(st.integers(0, 5)) == 0 else "Resource"] = resources
    if with_principal:
        element = draw(st.sampled_from(PRINCIPALS))
        s["NotPrincipal" if element != "*" and draw(st.integers(0, 6)) == 0 else "Principal"] = (
            element
        )
    condition = draw(st.sampled_from(CONDITIONS))
    if condition:
        s["Condition"] = condition
    return s


@st.composite
def policies(draw, name: str, world: str, with_principal: bool) -> Policy:
    stmts = draw(st.lists(statements(world, with_principal), min_size=1, max_size=3))
    for i, s in enumerate(stmts):
        s["Sid"] = f"S{i}"
    return Policy(name, {"Version": "2012-10-17", "Statement": stmts})


@st.composite
def requests(draw) -> Request:
    world = draw(st.sampled_from(list(WORLDS)))
    w = WORLDS[world]
    kind = draw(st.sampled_from(["role", "role", "role", "user", "service"]))
    if kind == "service":
        principal = Principal("s3.amazonaws.com", "service", None)
    else:
        identity = draw(st.lists(policies("identity", world, False), max_size=2))
        identity = [dataclasses.replace(p, name=f"identity-{i}") for i, p in enumerate(identity)]
        boundary = draw(st.one_of(st.none(), policies("boundary", world, False)))
        arn = ROLE if kind == "role" else f"arn:aws:iam::{A}:user/app"
        principal = Principal(arn, kind, A, tuple(identity), boundary, session_name="s")
    resource = draw(st.sampled_from(w["resources"]))
    grants: tuple[Grant, ...] = ()
    if world == "kms" and draw(st.booleans()):
        grantee = ROLE if kind != "service" else "s3.amazonaws.com"
        grants = (
            Grant(
                resource,
                grantee,
                tuple(
                    draw(st.lists(st.sampled_from(["Decrypt", "Encrypt"]), min_size=1, max_size=2))
                ),
            ),
        )
    return Request(
        principal=principal,
        action=draw(st.sampled_from(w["actions"])),
        resource=resource,
        resource_account=resource.split(":")[4],
        context=draw(st.sampled_from(CONTEXTS)),
        resource_policy=draw(st.one_of(st.none(), policies("resource", world, True))),
        resource_kind=world,  # type: ignore[arg-type]
        grants=grants,
        endpoint_policy=draw(st.one_of(st.none(), st.none(), policies("endpoint", world, True))),
        scps=tuple(draw(st.lists(policies("scp", world, False), max_size=1))),
    )


# --- helpers that rewrite one policy of a request -------------------------------------------------
def _with_statements(p: Policy, stmts: list[dict[str, Any]]) -> Policy:
    return Policy(p.name, {**p.document, "Statement": stmts})


def _slots(r: Request) -> list[str]:
    slots = ["resource_policy"]
    if r.endpoint_policy is not None:
        slots.append("endpoint_policy")
    if r.principal.kind in ("role", "user"):
        slots += [f"identity:{i}" for i in range(len(r.principal.identity_policies))]
        if r.principal.boundary is not None:
            slots.append("boundary")
        slots += [f"scp:{i}" for i in range(len(r.scps))]
    return slots


def _get(r: Request, slot: str) -> Policy | None:
    if slot in ("resource_policy", "endpoint_policy"):
        return getattr(r, slot)
    if slot == "boundary":
        return r.principal.boundary
    kind, i = slot.split(":")
    return (r.principal.identity_policies if kind == "identity" else r.scps)[int(i)]


def _set(r: Request, slot: str, p: Policy) -> Request:
    if slot in ("resource_policy", "endpoint_policy"):
        return dataclasses.replace(r, **{slot: p})
    if slot == "boundary":
        return dataclasses.replace(r, principal=dataclasses.replace(r.principal, boundary=p))
    kind, i = slot.split(":")
    if kind == "identity":
        ps = list(r.principal.identity_policies)
        ps[int(i)] = p
        return dataclasses.replace(
            r, principal=dataclasses.replace(r.principal, identity_policies=tuple(ps))
        )
    scps = list(r.scps)
    scps[int(i)] = p
    return dataclasses.replace(r, scps=tuple(scps))


DENY_ALL = {"Sid": "DenyEverything", "Effect": "Deny", "Action": "*", "Resource": "*"}


@SETTINGS
@given(requests(), st.data())
def test_a_matching_explicit_deny_always_wins(r, data):
    """Policy evaluation logic — "An explicit deny in any policy overrides any allows"."""
    slot = data.draw(st.sampled_from(_slots(r)))
    p = _get(r, slot)
    deny = dict(DENY_ALL)
    if slot in ("resource_policy", "endpoint_policy"):
        deny["Principal"] = "*"
    base = (
        p
        if p is not None
        else Policy("resource policy", {"Version": "2012-10-17", "Statement": []})
    )
    stmts = [*base.document["Statement"], deny]
    d = evaluate(_set(r, slot, _with_statements(base, stmts)))
    assert d.outcome == "explicit-deny"
    assert any(ref.sid == "DenyEverything" for ref in d.denied_by)


@SETTINGS
@given(requests(), st.data())
def test_removing_an_allow_never_grants(r, data):
    """Policy evaluation logic — requests are implicitly denied unless allowed: removing an Allow
    statement can only take permissions away."""
    before = evaluate(r)
    slot = data.draw(st.sampled_from(_slots(r)))
    p = _get(r, slot)
    assume(p is not None)
    stmts = p.document["Statement"]
    allows = [i for i, s in enumerate(stmts) if s["Effect"] == "Allow"]
    assume(allows)
    drop = data.draw(st.sampled_from(allows))
    after = evaluate(
        _set(r, slot, _with_statements(p, [s for i, s in enumerate(stmts) if i != drop]))
    )
    assert not (after.allowed and not before.allowed), (before.reason, after.reason)


@SETTINGS
@given(requests(), st.data())
def test_removing_a_deny_never_denies(r, data):
    """Policy evaluation logic — a Deny only ever takes permissions away."""
    before = evaluate(r)
    slot = data.draw(st.sampled_from(_slots(r)))
    p = _get(r, slot)
    assume(p is not None)
    stmts = p.document["Statement"]
    denies = [i for i, s in enumerate(stmts) if s["Effect"] == "Deny"]
    assume(denies)
    drop = data.draw(st.sampled_from(denies))
    after = evaluate(
        _set(r, slot, _with_statements(p, [s for i, s in enumerate(stmts) if i != drop]))
    )
    assert not (before.allowed and not after.allowed), (before.reason, after.reason)


@SETTINGS
@given(requests(), policies("new-boundary", "generic", False), policies("new-scp", "kms", False))
def test_boundaries_and_scps_only_take_away(r, boundary, scp):
    """Permissions boundaries for IAM entities / Policy evaluation logic — a boundary "does not
    provide permissions on its own" and SCPs "specify the maximum permissions".

    ``Request.scps`` are the SCPs attached at one level (at least one must allow), so a new SCP
    with an Allow may widen what that level lets through; what can only take away is an SCP's
    Deny statements (and a boundary)."""
    before = evaluate(r)
    if r.principal.kind in ("role", "user") and r.principal.boundary is None:
        bounded = dataclasses.replace(
            r, principal=dataclasses.replace(r.principal, boundary=boundary)
        )
        assert not (evaluate(bounded).allowed and not before.allowed)
    denies = [st for st in scp.document["Statement"] if st["Effect"] == "Deny"]
    if denies:  # Deny statements joined to an SCP already there, or a Deny-only SCP
        if r.scps:
            first = r.scps[0]
            joined = _with_statements(first, [*first.document["Statement"], *denies])
            scps = (joined, *r.scps[1:])
        else:
            scps = (_with_statements(scp, denies),)
        with_scp = dataclasses.replace(r, scps=scps)
        assert not (evaluate(with_scp).allowed and not before.allowed)


@st.composite
def cross_account_requests(draw) -> Request:
    """A role of account A calling a resource of account B, with policies that often allow."""
    r = draw(requests())
    world = r.resource_kind
    resource = WORLDS[world]["resources"][1]
    everything = {"Sid": "AllowAll", "Effect": "Allow", "Action": "*", "Resource": "*"}
    identity = draw(policies("identity", world, False))
    identity = _with_statements(identity, [*identity.document["Statement"], everything])
    rp = draw(policies("resource", world, True))
    named = draw(st.sampled_from([{"AWS": A}, {"AWS": ROLE}, "*"]))
    rp = _with_statements(rp, [*rp.document["Statement"], {**everything, "Principal": named}])
    principal = Principal(ROLE, "role", A, (identity,), session_name="s")
    return dataclasses.replace(
        r,
        principal=principal,
        resource=resource,
        resource_account=B,
        resource_policy=rp,
        grants=(),
        scps=(),
    )


@SETTINGS
@given(cross_account_requests())
def test_cross_account_needs_both_sides(r):
    """Cross-account policy evaluation logic — "The request is allowed only if both evaluations
    return a decision of Allow" (no grants involved)."""
    assume(evaluate(r).allowed)
    no_identity = dataclasses.replace(
        r, principal=dataclasses.replace(r.principal, identity_policies=())
    )
    assert not evaluate(no_identity).allowed
    assert not evaluate(dataclasses.replace(r, resource_policy=None)).allowed


@SETTINGS
@given(requests())
def test_decisions_are_self_consistent(r):
    """A Decision names what decided it: denied_by for explicit denies, allowed_by for allows, and
    a reason that names the principal, the action and the resource."""
    d = evaluate(r)
    assert bool(d.denied_by) is (d.outcome == "explicit-deny")
    if d.allowed:
        assert d.allowed_by and not d.missing
    assert r.action in d.reason and r.resource in d.reason
    who = r.principal.arn
    assert who in d.reason
    assert d.reason.endswith(".")
    assert evaluate(r) == d
