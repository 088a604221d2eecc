"""What the AWS provider calls to create each recorded resource, and what AWS services then call
because of it: the knowledge base of the rehearsal's ``platform-up`` scenario and of the
inference deploy ("which actor calls what, with which key, and who grants each side").

Pure functions over :class:`~mlops.testing.mocks.RecordedResource` and a :class:`ProgramView`::

    view = ProgramView.of(mocks)                   # account, region, every recorded resource
    create_calls(resource, view)   -> [Call]       # the deployer's calls (IAM actions on ARNs)
    service_calls(resource, view)  -> [(principal, Call)]   # services, roles, or CALLER
    named_principals(resource)     -> [arn]        # Principal elements of its policies
    prerequisites(resource, view)  -> [Prerequisite]        # account settings it relies on
    required_permissions(resources, view) -> [(action, resource)]   # the deployer's, grouped

Each resource type has one entry (``REGISTRY``) with its sources and the facts that could not be
verified (``entry.unverified``). A type without an entry raises :class:`UnknownResourceType`, so a
new resource cannot slip past the rehearsal. Components (``mlops:*``) make no calls.

The entries, by service area: ``api``, ``compute``, ``data``, ``delivery``, ``governance``,
``identity``, ``monitoring``, ``network``, ``sagemaker``, ``storage``; ``catalogue``
checks them against the Service Authorization Reference; ``base`` holds the entry type and
the shared helpers.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from mlops.rehearsal.model import Call
from mlops.testing.mocks import RecordedResource

from . import (
    api,
    compute,
    data,
    delivery,
    governance,
    identity,
    monitoring,
    network,
    sagemaker,
    storage,
)
from .base import (
    CALLER,
    REGISTRY,
    Entry,
    Prerequisite,
    ProgramView,
    ServiceCall,
    UnknownResourceType,
    entry_for,
)

FAMILIES = (
    api,
    compute,
    data,
    delivery,
    governance,
    identity,
    monitoring,
    network,
    sagemaker,
    storage,
)
"""The modules that register entries (importing them fills REGISTRY)."""

__all__ = [
    "CALLER",
    "REGISTRY",
    "Entry",
    "Prerequisite",
    "ProgramView",
    "ServiceCall",
    "UnknownResourceType",
    "create_calls",
    "entry_for",
    "invoke_calls",
    "named_principals",
    "prerequisites",
    "required_permissions",
    "service_call_records",
    "service_calls",
]


def _skip(resource: RecordedResource) -> bool:
    return not resource.custom


def create_calls(resource: RecordedResource, view: ProgramView) -> list[Call]:
    """The calls the deployer (the identity running ``pulumi up``) makes to create ``resource``,
    including what the provider reads back."""
    if _skip(resource):
        return []
    return entry_for(resource).create(resource, view)


def service_call_records(
    resource: RecordedResource,
    view: ProgramView,
    when: Literal["create", "runtime", "all"] = "all",
) -> list[ServiceCall]:
    """Calls AWS makes because of ``resource`` (principal, call, and whether they happen while it
    is created or later at run time)."""
    if _skip(resource):
        return []
    e = entry_for(resource)
    found = e.service(resource, view) if e.service is not None else []
    return [s for s in found if when == "all" or s.when == when]


def service_calls(
    resource: RecordedResource,
    view: ProgramView,
    when: Literal["create", "runtime", "all"] = "all",
) -> list[tuple[str, Call]]:
    """``(principal, call)`` for every call AWS makes because of ``resource``; the principal is
    ``service:<name>``, a role ARN, or :data:`CALLER` (the deployer's own credentials)."""
    return [(s.principal, s.call) for s in service_call_records(resource, view, when)]


def named_principals(resource: RecordedResource) -> list[str]:
    """Principal ARNs named in the resource's policies (trust, key, bucket, repository, topic,
    queue, API, model package group, Lambda permission, secret, VPC endpoint): each must exist
    before the policy is put ("invalid principal")."""
    if _skip(resource):
        return []
    e = entry_for(resource)
    return e.principals(resource) if e.principals is not None else []


def prerequisites(resource: RecordedResource, view: ProgramView) -> list[Prerequisite]:
    """Account-level settings the create relies on (e.g. API Gateway's CloudWatch role)."""
    if _skip(resource):
        return []
    e = entry_for(resource)
    return e.prerequisites(resource, view) if e.prerequisites is not None else []


def required_permissions(
    resources: Iterable[RecordedResource],
    view: ProgramView,
    *,
    include_caller_service_calls: bool = True,
) -> list[tuple[str, str]]:
    """Every ``(action, resource)`` the deployer needs for ``resources``, de-duplicated and grouped
    by service then action (input for a least-privilege deployer policy). Service calls made with
    the caller's credentials (KMS via S3, grants, service-linked roles) are the deployer's too."""
    pairs: set[tuple[str, str]] = set()
    for r in resources:
        for call in create_calls(r, view):
            pairs.add((call.action, call.resource))
        if include_caller_service_calls:
            for s in service_call_records(r, view):
                if s.principal == CALLER:
                    pairs.add((s.call.action, s.call.resource))
    return sorted(pairs, key=lambda p: (p[0].split(":")[0], p[0], p[1]))


INVOKES = {
    "aws:index/getAvailabilityZones:getAvailabilityZones": ("ec2:DescribeAvailabilityZones",),
    "aws:index/getCallerIdentity:getCallerIdentity": (),
    "aws:index/getRegion:getRegion": (),
    "aws:index/getPartition:getPartition": (),
}


def invoke_calls(token: str) -> list[Call]:
    """The calls a data-source invoke makes (``mocks.calls`` records the tokens)."""
    if token not in INVOKES:
        raise UnknownResourceType(token)
    return [Call(action=a, resource="*", why=f"invoke {token}") for a in INVOKES[token]]
