"""log-group-retention: a log group must expire its logs: no retention = forever."""

from __future__ import annotations

from . import builders as b


def _found(result) -> list[str]:
    return [v.message for v in result.violations if v.rule == "log-group-retention"]


def test_a_log_group_with_a_retention_passes(check) -> None:
    assert _found(check(lambda: b.log_group(days=30))) == []
    assert _found(check(lambda: b.log_group(days=3653))) == []


def test_a_log_group_that_never_expires_fails(check) -> None:
    assert _found(check(lambda: b.log_group(days=None))) == [
        "no retentionInDays: the log group never expires its logs"
    ]


def test_a_retention_of_zero_is_never_expire_and_fails(check) -> None:
    # CloudWatch reports "never expire" as 0 / absent; both must be refused.
    assert _found(check(lambda: b.log_group(days=0))) == [
        "no retentionInDays: the log group never expires its logs"
    ]


def test_a_short_retention_still_fails_with_its_minimum(check) -> None:
    assert _found(check(lambda: b.log_group(days=7))) == [
        "retentionInDays is 7, below the minimum of 30"
    ]
