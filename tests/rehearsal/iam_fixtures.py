"""Small builders for evaluator tests: principals, policies and requests in two accounts."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mlops.rehearsal.model import Grant, Policy, Principal, Request

A = "111111111111"
B = "222222222222"
REGION = "eu-west-2"


def doc(*statements: Mapping[str, Any], version: str = "2012-10-17") -> dict[str, Any]:
    return {"Version": version, "Statement": [dict(s) for s in statements]}


def stmt(effect: str, action: Any, resource: Any = "*", sid: str | None = None, **extra: Any):
    st: dict[str, Any] = {"Effect": effect}
    if sid:
        st["Sid"] = sid
    if action is not None:
        st["Action"] = action
    if resource is not None:
        st["Resource"] = resource
    st.update(extra)
    return st


def allow(action: Any, resource: Any = "*", sid: str | None = None, **extra: Any):
    return stmt("Allow", action, resource, sid, **extra)


def deny(action: Any, resource: Any = "*", sid: str | None = None, **extra: Any):
    return stmt("Deny", action, resource, sid, **extra)


def policy(name: str, *statements: Mapping[str, Any], version: str = "2012-10-17") -> Policy:
    return Policy(name, doc(*statements, version=version))


def role(
    name: str,
    *policies: Policy,
    account: str = A,
    boundary: Policy | None = None,
    tags: Mapping[str, str] | None = None,
    session: str = "rehearsal",
) -> Principal:
    return Principal(
        arn=f"arn:aws:iam::{account}:role/{name}",
        kind="role",
        account=account,
        identity_policies=tuple(policies),
        boundary=boundary,
        tags=dict(tags or {}),
        session_name=session,
    )


def user(
    name: str, *policies: Policy, account: str = A, boundary: Policy | None = None
) -> Principal:
    return Principal(
        arn=f"arn:aws:iam::{account}:user/{name}",
        kind="user",
        account=account,
        identity_policies=tuple(policies),
        boundary=boundary,
    )


def service(name: str) -> Principal:
    return Principal(arn=name, kind="service", account=None)


def root(account: str = A) -> Principal:
    return Principal(arn=f"arn:aws:iam::{account}:root", kind="root", account=account)


def req(
    principal: Principal,
    action: str,
    resource: str,
    account: str | None = A,
    *,
    context: Mapping[str, Any] | None = None,
    resource_policy: Policy | None = None,
    kind: str = "generic",
    grants: tuple[Grant, ...] = (),
    endpoint_policy: Policy | None = None,
    scps: tuple[Policy, ...] = (),
) -> Request:
    return Request(
        principal=principal,
        action=action,
        resource=resource,
        resource_account=account,
        context=dict(context or {}),
        resource_policy=resource_policy,
        resource_kind=kind,  # type: ignore[arg-type]
        grants=grants,
        endpoint_policy=endpoint_policy,
        scps=scps,
    )


def key_arn(account: str = A, key_id: str = "1234abcd-12ab-34cd-56ef-1234567890ab") -> str:
    return f"arn:aws:kms:{REGION}:{account}:key/{key_id}"
