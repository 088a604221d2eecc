"""Condition operators, set operators, missing keys and policy variables, from the IAM User Guide
("IAM JSON policy elements: Condition operators", "Creating a condition with multiple context keys
or values", "IAM policy elements: Variables and tags"). Each docstring names the page."""

from __future__ import annotations

import pytest

from mlops.rehearsal.conditions import (
    PolicyError,
    RequestContext,
    arn_matches,
    evaluate_condition,
    expand,
    parse_operator,
    resource_arn_matches,
)


def met(block, context=None, *, variables=True) -> bool:
    return evaluate_condition(block, RequestContext(context or {}), variables=variables).met


# --- string ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("op", "policy_value", "request_value", "expected"),
    [
        ("StringEquals", "iamuser-admin", "iamuser-admin", True),
        ("StringEquals", "iamuser-admin", "IAMUSER-ADMIN", False),  # case-sensitive
        ("StringNotEquals", "iamuser-admin", "iamuser-admin", False),
        ("StringNotEquals", "iamuser-admin", "other", True),
        ("StringEqualsIgnoreCase", "iamuser-admin", "IAMUSER-ADMIN", True),
        ("StringNotEqualsIgnoreCase", "iamuser-admin", "IAMUSER-ADMIN", False),
        ("StringLike", "home/*", "home/carlos/", True),
        ("StringLike", "home/?", "home/c", True),
        ("StringLike", "home/?", "home/ca", False),
        ("StringLike", "home/", "home/carlos/", False),
        ("StringNotLike", "home/*", "home/carlos/", False),
        ("StringNotLike", "home/*", "work/", True),
        ("StringEquals", "home/*", "home/carlos/", False),  # no wildcards in StringEquals
        ("StringEquals", "home/*", "home/*", True),
    ],
)
def test_string_operators(op, policy_value, request_value, expected):
    """IAM JSON policy elements: Condition operators — "String condition operators" (the
    aws:PrincipalTag/job-category example; case-sensitive unless IgnoreCase; wildcards only in
    StringLike)."""
    key = "aws:PrincipalTag/job-category"
    assert met({op: {key: policy_value}}, {key: request_value}) is expected


def test_key_names_are_case_insensitive_values_are_not():
    """IAM JSON policy elements: Condition — "Condition key names are not case-sensitive" while
    the value comparison depends on the operator."""
    assert met({"StringEquals": {"AWS:PRINCIPALTAG/Team": "a"}}, {"aws:PrincipalTag/team": "a"})
    assert not met({"StringEquals": {"aws:PrincipalTag/team": "A"}}, {"aws:PrincipalTag/team": "a"})


# --- numeric, date, bool, binary, ip, arn ---------------------------------------------------------
@pytest.mark.parametrize(
    ("op", "value", "expected"),
    [
        ("NumericEquals", "10", True),
        ("NumericNotEquals", "10", False),
        ("NumericLessThan", "10", False),
        ("NumericLessThanEquals", "10", True),
        ("NumericGreaterThan", "9.5", True),
        ("NumericGreaterThanEquals", "11", False),
    ],
)
def test_numeric_operators(op, value, expected):
    """IAM JSON policy elements: Condition operators — "Numeric condition operators" (s3:max-keys
    example)."""
    assert met({op: {"s3:max-keys": value}}, {"s3:max-keys": 10}) is expected


@pytest.mark.parametrize(
    ("op", "value", "expected"),
    [
        ("DateGreaterThan", "2020-01-01T00:00:01Z", True),
        ("DateLessThan", "2020-01-01T00:00:01Z", False),
        ("DateEquals", "2021-06-01T12:00:00Z", True),
        ("DateNotEquals", "2021-06-01T12:00:00Z", False),
        ("DateGreaterThanEquals", "1622548800", True),  # epoch seconds of the same instant
        ("DateLessThanEquals", "2021-06-01", False),
    ],
)
def test_date_operators(op, value, expected):
    """IAM JSON policy elements: Condition operators — "Date condition operators"
    (aws:TokenIssueTime example; ISO 8601 or epoch)."""
    assert (
        met({op: {"aws:TokenIssueTime": value}}, {"aws:TokenIssueTime": "2021-06-01T12:00:00Z"})
        is expected
    )


def test_bool_operator():
    """IAM JSON policy elements: Condition operators — "Boolean condition operators"
    (aws:SecureTransport example)."""
    deny_plain = {"Bool": {"aws:SecureTransport": "false"}}
    assert met(deny_plain, {"aws:SecureTransport": False})
    assert not met(deny_plain, {"aws:SecureTransport": True})
    assert met({"Bool": {"aws:SecureTransport": True}}, {"aws:SecureTransport": "true"})


def test_binary_operator():
    """IAM JSON policy elements: Condition operators — "Binary condition operators" compare
    base-64 values byte for byte."""
    assert met(
        {"BinaryEquals": {"k": "QmluYXJ5VmFsdWVJbkJhc2U2NA=="}},
        {"k": "QmluYXJ5VmFsdWVJbkJhc2U2NA=="},
    )
    assert not met({"BinaryEquals": {"k": "QmluYXJ5VmFsdWVJbkJhc2U2NA=="}}, {"k": "b3RoZXI="})


@pytest.mark.parametrize(
    ("op", "ip", "expected"),
    [
        ("IpAddress", "203.0.113.7", True),
        ("IpAddress", "198.51.100.1", False),
        ("NotIpAddress", "198.51.100.1", True),
        ("IpAddress", "2001:DB8:1234:5678::1", True),
    ],
)
def test_ip_operators(op, ip, expected):
    """IAM JSON policy elements: Condition operators — "IP address condition operators" (mixed
    IPv4/IPv6 aws:SourceIp example)."""
    block = {op: {"aws:SourceIp": ["203.0.113.0/24", "2001:DB8:1234:5678::/64"]}}
    assert met(block, {"aws:SourceIp": ip}) is expected


def test_arn_like_matches_per_segment_unlike_string_like():
    """IAM JSON policy elements: Condition operators — "Amazon Resource Name (ARN) condition
    operators": the StringLike match succeeds, the ArnLike match fails because each of the six
    parts is matched separately."""
    pattern = "arn:aws:someservice:*:111122223333:finance/*"
    value = "arn:aws:someservice:us-east-2:999999999999:store/abc:111122223333:finance/document.txt"
    assert met({"StringLike": {"aws:SourceArn": pattern}}, {"aws:SourceArn": value})
    assert not met({"ArnLike": {"aws:SourceArn": pattern}}, {"aws:SourceArn": value})
    ok = "arn:aws:someservice:us-east-2:111122223333:finance/document.txt"
    assert met({"ArnLike": {"aws:SourceArn": pattern}}, {"aws:SourceArn": ok})
    assert met({"ArnEquals": {"aws:SourceArn": pattern}}, {"aws:SourceArn": ok})  # same as Like
    assert not met({"ArnNotLike": {"aws:SourceArn": pattern}}, {"aws:SourceArn": ok})
    assert not met({"ArnLike": {"aws:SourceArn": pattern}}, {"aws:SourceArn": "not-an-arn"})


def test_arn_like_resource_part_keeps_colons():
    """IAM JSON policy elements: Condition operators — ARN operators: the sixth part (the resource)
    may contain colons, e.g. a log group ARN with ``:*``."""
    pattern = "arn:aws:logs:eu-west-2:111122223333:log-group:/aws/lambda/*"
    assert met(
        {"ArnLike": {"aws:SourceArn": pattern}},
        {"aws:SourceArn": "arn:aws:logs:eu-west-2:111122223333:log-group:/aws/lambda/f:*"},
    )


def test_resource_and_arn_matching_helpers_differ_on_trailing_star():
    """IAM JSON policy elements: Resource — a segment's trailing * may expand beyond colons in a
    Resource element; ArnLike (Condition operators) keeps it within the segment."""
    pieces = expand(
        "arn:aws:someservice:*:111122223333:finance/*", RequestContext(), variables=False
    )
    value = "arn:aws:someservice:us-east-2:999999999999:store/abc:111122223333:finance/x"
    assert pieces is not None
    assert resource_arn_matches(pieces, value)
    assert not arn_matches(pieces, value)


# --- missing keys, IfExists, Null -----------------------------------------------------------------
@pytest.mark.parametrize(
    ("op", "expected"),
    [
        ("StringEquals", False),
        ("StringLike", False),
        ("StringNotEquals", True),
        ("StringNotLike", True),
        ("ArnNotLike", True),
        ("ArnLike", False),
        ("NumericLessThan", False),
        ("Bool", False),
        ("StringEqualsIfExists", True),
        ("StringNotEqualsIfExists", True),
        ("ArnLikeIfExists", True),
        ("NotIpAddress", True),
    ],
)
def test_missing_key(op, expected):
    """IAM JSON policy elements: Condition operators — "If the key ... is not present in the request
    context, the values do not match and the condition is false. If the policy condition requires
    that the key is not matched, such as StringNotLike or ArnNotLike ... the condition is true";
    ...IfExists: "If the key is not present, evaluate the condition element as true"."""
    value = {"Bool": "true", "NumericLessThan": "5", "NotIpAddress": "10.0.0.0/8"}.get(
        op, "arn:aws:s3:::x"
    )
    outcome = evaluate_condition({op: {"some:key": value}}, RequestContext())
    assert outcome.met is expected
    if not expected:
        assert "is not in the request" in outcome.failed


def test_ifexists_when_present():
    """IAM JSON policy elements: Condition operators — "...IfExists" (ec2:InstanceType example):
    present keys are checked as without IfExists."""
    block = {"StringLikeIfExists": {"ec2:InstanceType": ["t1.*", "t2.*", "m3.*"]}}
    assert met(block, {"ec2:InstanceType": "t2.micro"})
    assert not met(block, {"ec2:InstanceType": "p3.16xlarge"})
    assert met(block, {})


def test_null_operator():
    """IAM JSON policy elements: Condition operators — "Condition operator to check existence of
    condition keys" (aws:TokenIssueTime example)."""
    assert met({"Null": {"aws:TokenIssueTime": "true"}}, {})
    assert not met({"Null": {"aws:TokenIssueTime": "true"}}, {"aws:TokenIssueTime": "2024-01-01"})
    assert met({"Null": {"aws:TokenIssueTime": "false"}}, {"aws:TokenIssueTime": "2024-01-01"})
    assert met({"Null": {"sagemaker:VpcSubnets": True}}, {"sagemaker:VpcSubnets": []})
    with pytest.raises(PolicyError):
        parse_operator("NullIfExists")


# --- set operators --------------------------------------------------------------------------------
THREAD_ALLOWED = {
    "ForAllValues:StringLike": {"dynamodb:requestedAttributes": ["PostDateTime", "Message", "Tags"]}
}
THREAD_FORBIDDEN = {
    "ForAnyValue:StringLike": {"dynamodb:requestedAttributes": ["ID", "PostDateTime"]}
}


def test_for_all_values():
    """Creating a condition that tests multiple key values — ForAllValues: every requested
    attribute must be in the list (PostDateTime+Message yes, PostDateTime+UserName no)."""
    assert met(THREAD_ALLOWED, {"dynamodb:requestedAttributes": ["PostDateTime", "Message"]})
    assert not met(THREAD_ALLOWED, {"dynamodb:requestedAttributes": ["PostDateTime", "UserName"]})


def test_for_any_value():
    """Creating a condition that tests multiple key values — ForAnyValue: one match is enough
    (UserName, Message, PostDateTime matches PostDateTime; UserName alone does not)."""
    request = ["UserName", "Message", "PostDateTime"]
    assert met(THREAD_FORBIDDEN, {"dynamodb:requestedAttributes": request})
    assert not met(THREAD_FORBIDDEN, {"dynamodb:requestedAttributes": ["UserName"]})


@pytest.mark.parametrize("request_value", [None, []])
def test_set_operators_on_missing_or_empty_keys(request_value):
    """Single-valued vs. multivalued context keys / multi-value conditions — "If the key values in
    the request resolve to an empty data set ... ForAllValues returns true, and ForAnyValue returns
    false"; ForAllValues "also returns true if there are no context keys in the request"."""
    ctx = {} if request_value is None else {"dynamodb:requestedAttributes": request_value}
    assert met(THREAD_ALLOWED, ctx)
    assert not met(THREAD_FORBIDDEN, ctx)


def test_negated_set_operators():
    """Creating a condition with multiple context keys or values — ForAllValues:StringNotEquals:
    no requested tag key may be in the list; ForAnyValue:StringNotEquals: at least one is not."""
    block_all = {"ForAllValues:StringNotEquals": {"aws:TagKeys": ["Owner", "CostCenter"]}}
    block_any = {"ForAnyValue:StringNotEquals": {"aws:TagKeys": ["Owner", "CostCenter"]}}
    assert met(block_all, {"aws:TagKeys": ["Project"]})
    assert not met(block_all, {"aws:TagKeys": ["Project", "Owner"]})
    assert met(block_any, {"aws:TagKeys": ["Project", "Owner"]})
    assert not met(block_any, {"aws:TagKeys": ["Owner"]})


def test_plain_operator_on_a_multivalued_key():
    """Single-valued vs. multivalued context keys — a plain operator on a list matches when any
    value matches; its negation when none does (our reading: AWS asks for set operators here)."""
    assert met(
        {"StringEquals": {"aws:CalledVia": "athena.amazonaws.com"}},
        {"aws:CalledVia": ["cloudformation.amazonaws.com", "athena.amazonaws.com"]},
    )
    assert not met(
        {"StringNotEquals": {"aws:CalledVia": "athena.amazonaws.com"}},
        {"aws:CalledVia": ["cloudformation.amazonaws.com", "athena.amazonaws.com"]},
    )


def test_multiple_keys_and_values():
    """IAM JSON policy elements: Condition — "If your policy has multiple condition operators or
    multiple keys ... evaluated using a logical AND"; multiple values of one key "using a logical
    OR"; negated operators are true only when no value matches."""
    block = {
        "StringEquals": {"aws:PrincipalTag/dept": ["a", "b"], "aws:PrincipalTag/level": "5"},
        "Bool": {"aws:SecureTransport": "true"},
    }
    ctx = {"aws:PrincipalTag/dept": "b", "aws:PrincipalTag/level": "5", "aws:SecureTransport": True}
    assert met(block, ctx)
    assert not met(block, {**ctx, "aws:PrincipalTag/level": "4"})
    assert not met(block, {**ctx, "aws:SecureTransport": False})
    assert not met({"StringNotEquals": {"k": ["a", "b"]}}, {"k": "b"})
    assert met({"StringNotEquals": {"k": ["a", "b"]}}, {"k": "c"})


# --- policy variables -----------------------------------------------------------------------------
def test_policy_variable_in_condition():
    """IAM JSON policy elements: Condition operators — the s3:prefix home-directory example with
    ${aws:username}."""
    block = {"StringLike": {"s3:prefix": ["", "home/", "home/${aws:username}/"]}}
    assert met(block, {"s3:prefix": "home/carlos/", "aws:username": "carlos"})
    assert not met(block, {"s3:prefix": "home/maria/", "aws:username": "carlos"})
    assert met(block, {"s3:prefix": "", "aws:username": "carlos"})


def test_policy_variables_only_in_version_2012():
    """IAM policy elements: Variables and tags — variables are substituted only with Version
    2012-10-17; otherwise ``${aws:username}`` is literal text."""
    block = {"StringEquals": {"s3:prefix": "home/${aws:username}"}}
    ctx = {"s3:prefix": "home/carlos", "aws:username": "carlos"}
    assert met(block, ctx, variables=True)
    assert not met(block, ctx, variables=False)
    assert met(block, {"s3:prefix": "home/${aws:username}"}, variables=False)


def test_variable_with_no_value():
    """IAM policy elements: Variables and tags — "Policy variables with no value": StringEquals
    does not match, inverted operators like StringNotEquals do."""
    ctx = {"s3:ExistingObjectTag/Team": "red"}
    eq = {"StringEquals": {"s3:ExistingObjectTag/Team": "${aws:PrincipalTag/Team}"}}
    neq = {"StringNotEquals": {"s3:ExistingObjectTag/Team": "${aws:PrincipalTag/Team}"}}
    assert not met(eq, ctx)
    assert met(neq, ctx)
    assert met(eq, {**ctx, "aws:PrincipalTag/Team": "red"})


def test_variable_default_and_special_characters():
    """IAM policy elements: Variables and tags — "Specifying default values" and the special
    variables ${*}, ${?}, ${$}."""
    ctx = RequestContext({"aws:PrincipalTag/team": "yellow"})
    assert expand("bucket-${aws:PrincipalTag/team, 'company-wide'}", ctx, variables=True) == (
        ("lit", "bucket-"),
        ("lit", "yellow"),
    )
    none = RequestContext()
    pieces = expand("bucket-${aws:PrincipalTag/team, 'company-wide'}", none, variables=True)
    assert pieces == (("lit", "bucket-"), ("lit", "company-wide"))
    block = {"StringLike": {"k": "a${*}b*"}}
    assert met(block, {"k": "a*bcd"})
    assert not met(block, {"k": "axbcd"})  # ${*} is a literal asterisk
    assert met({"StringEquals": {"k": "cost ${$}5"}}, {"k": "cost $5"})


def test_multivalued_keys_are_not_variables():
    """Single-valued vs. multivalued context keys — "you cannot use multivalued context keys as
    policy variables": the variable has no value."""
    assert not met({"StringEquals": {"k": "${aws:TagKeys}"}}, {"k": "a", "aws:TagKeys": ["a"]})


def test_substituted_values_are_literal():
    """IAM policy elements: Variables and tags — a substituted value is text, not a pattern."""
    block = {"StringLike": {"s3:prefix": "${aws:PrincipalTag/p}"}}
    assert not met(block, {"s3:prefix": "anything", "aws:PrincipalTag/p": "*"})
    assert met(block, {"s3:prefix": "*", "aws:PrincipalTag/p": "*"})


# --- errors ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "block",
    [
        {"StringEqualz": {"k": "v"}},
        {"NumericLessThan": {"k": "ten"}},
        {"DateLessThan": {"k": "yesterday"}},
        {"IpAddress": {"k": "not-an-ip"}},
        {"StringEquals": "k"},
        {"StringEquals": {"k": {"nested": "v"}}},
    ],
)
def test_invalid_conditions_are_errors(block):
    """IAM JSON policy elements: Condition operators — values must fit their operator; AWS rejects
    such policies, so the evaluator raises instead of guessing."""
    with pytest.raises(PolicyError):
        evaluate_condition(block, RequestContext({"k": "v"}))


def test_operator_parsing():
    """IAM JSON policy elements: Condition operators — set qualifiers and ...IfExists compose."""
    op = parse_operator("ForAnyValue:StringNotLikeIfExists")
    assert (op.family, op.test, op.negated, op.if_exists, op.qualifier) == (
        "string",
        "like",
        True,
        True,
        "ForAnyValue",
    )
    assert parse_operator("ArnNotEquals").negated
    assert parse_operator("StringEqualsIgnoreCase").ignore_case
