"""EventBridge: the rule that starts a use case's deploy pipeline, and a matcher to test it.

The deploy pipeline must start only when a model package in *this* use case's group becomes
``Approved``: never on ``Rejected``, never on a new ``PendingManualApproval`` package, never for
another
group. SageMaker also emits a state-change event when an approved package's metadata changes (our
promotion records do exactly that), so the pattern also requires that the package has not been
promoted yet (no ``mlops:dev:deployed-at`` key): a recorded promotion never re-triggers a deploy.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mlops.delivery.promotion import deployed_marker

SOURCE = "aws.sagemaker"
DETAIL_TYPE = "SageMaker Model Package State Change"


def approved_package_pattern(model_package_group: str) -> dict[str, Any]:
    """The EventBridge pattern for "a package of this group became Approved"."""
    return {
        "source": [SOURCE],
        "detail-type": [DETAIL_TYPE],
        "detail": {
            "ModelPackageGroupName": [model_package_group],
            "ModelApprovalStatus": ["Approved"],
            "CustomerMetadataProperties": {deployed_marker("dev"): [{"exists": False}]},
        },
    }


def rejected_package_pattern(model_package_group: str) -> dict[str, Any]:
    """The EventBridge pattern for "a package of this group that was deployed became Rejected":
    the rollback trigger (``mlops.delivery.rollback.lambda_handler``), which rolls back every
    stage the package is live in. Never a deploy pipeline's trigger (policy
    ``approval-rule-approved-only``)."""
    return {
        "source": [SOURCE],
        "detail-type": [DETAIL_TYPE],
        "detail": {
            "ModelPackageGroupName": [model_package_group],
            "ModelApprovalStatus": ["Rejected"],
            "CustomerMetadataProperties": {deployed_marker("dev"): [{"exists": True}]},
        },
    }


def sample_event(
    group: str,
    status: str,
    metadata: Mapping[str, str] | None = None,
    version: int = 1,
    account: str = "111111111111",
    region: str = "eu-west-2",
) -> dict[str, Any]:
    """A model package state-change event shaped like the ones SageMaker sends."""
    arn = f"arn:aws:sagemaker:{region}:{account}:model-package/{group}/{version}"
    detail: dict[str, Any] = {
        "ModelPackageGroupName": group,
        "ModelPackageVersion": version,
        "ModelPackageArn": arn,
        "ModelPackageName": group,
        "ModelApprovalStatus": status,
        "CreationTime": 1764380000000,
    }
    if metadata is not None:
        detail["CustomerMetadataProperties"] = dict(metadata)
    return {
        "version": "0",
        "id": "7e1c5f0a-0000-4000-8000-000000000000",
        "detail-type": DETAIL_TYPE,
        "source": SOURCE,
        "account": account,
        "time": "2026-11-29T02:00:00Z",
        "region": region,
        "resources": [arn],
        "detail": detail,
    }


_MISSING = object()


def matches(pattern: Mapping[str, Any], event: Mapping[str, Any]) -> bool:
    """EventBridge matching for the subset we use.

    Every pattern key must match (AND). A nested object descends into the event. A list matches if
    any entry matches (OR): literal strings/numbers/null compare exactly (case-sensitive), and the
    operators ``{"exists": bool}``, ``{"prefix": str}`` and ``{"anything-but": [...]}`` are
    supported. An array value in the event matches if any of its elements matches. Unsupported
    operators raise ``ValueError`` rather than silently matching.
    """
    for key, expected in pattern.items():
        actual = event.get(key, _MISSING) if isinstance(event, Mapping) else _MISSING
        if isinstance(expected, Mapping):
            if actual is _MISSING or not isinstance(actual, Mapping):
                # an object pattern over a missing field matches only if all leaves are exists:false
                if not _all_absent_ok(expected):
                    return False
                continue
            if not matches(expected, actual):
                return False
        elif isinstance(expected, list):
            if not any(_match_one(rule, actual) for rule in expected):
                return False
        else:
            raise ValueError(f"pattern value for {key!r} must be a list or an object")
    return True


def _all_absent_ok(pattern: Mapping[str, Any]) -> bool:
    for value in pattern.values():
        if isinstance(value, Mapping):
            if not _all_absent_ok(value):
                return False
        elif not any(_match_one(rule, _MISSING) for rule in value):
            return False
    return True


def _match_one(rule: Any, actual: Any) -> bool:
    if isinstance(rule, Mapping):
        if set(rule) == {"exists"}:
            return (actual is not _MISSING) is bool(rule["exists"])
        if actual is _MISSING:
            return False
        values = actual if isinstance(actual, list) else [actual]
        if set(rule) == {"prefix"}:
            return any(isinstance(v, str) and v.startswith(rule["prefix"]) for v in values)
        if set(rule) == {"anything-but"}:
            banned = rule["anything-but"]
            banned = banned if isinstance(banned, list) else [banned]
            return all(v not in banned for v in values)
        raise ValueError(f"unsupported EventBridge operator {dict(rule)!r}")
    if actual is _MISSING:
        return False
    values = actual if isinstance(actual, list) else [actual]
    return any(type(v) is type(rule) and v == rule for v in values)
