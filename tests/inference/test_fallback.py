"""The decision service's answers when it cannot decide: generic defaults, validated use-case
values (the platform names no use case's domain)."""

from __future__ import annotations

import json

import pytest

from mlops.inference.fallback import FallbackResponses


def test_the_defaults_are_generic_error_documents():
    f = FallbackResponses()
    assert f.decide_failed == {
        "error": "DECISION_SERVICE_ERROR",
        "detail": "the decision service failed",
    }
    assert json.loads(f.incomplete_template.replace("$r.status", "TIMED_OUT")) == {
        "error": "WORKFLOW_TIMED_OUT",
        "detail": "the decision workflow did not complete",
    }
    assert f.invalid_request_detail == "invalid request"
    assert FallbackResponses().decide_failed is not f.decide_failed  # no shared mutable default


def test_a_use_cases_own_answers_are_kept_as_given():
    body = {"recommendation": "refer", "reasons": [{"code": "DECISION_SERVICE_ERROR"}]}
    template = '{"recommendation": "refer",\n "code": "WORKFLOW_$r.status"}'
    f = FallbackResponses(
        decide_failed=body, incomplete_template=template, invalid_request_detail="invalid order"
    )
    assert (f.decide_failed, f.incomplete_template, f.invalid_request_detail) == (
        body, template, "invalid order",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"decide_failed": {}}, r"FallbackResponses\.decide_failed must be a non-empty JSON"),
        ({"decide_failed": ["x"]}, r"FallbackResponses\.decide_failed must be a non-empty JSON"),
        ({"decide_failed": {"x": object()}}, r"FallbackResponses\.decide_failed is not JSON"),
        ({"decide_failed": {"x": float("nan")}}, r"FallbackResponses\.decide_failed is not JSON"),
        ({"incomplete_template": "not json"}, r"incomplete_template is not JSON once \$r\.status"),
        ({"incomplete_template": "[1]"}, r"incomplete_template must be a non-empty JSON object"),
        ({"incomplete_template": '{"a": "$context.x"}'}, r"incomplete_template: the only VTL"),
        ({"incomplete_template": '#set($x = 1)\n{"a": 1}'}, r"incomplete_template: the only VTL"),
        ({"incomplete_template": 3}, r"incomplete_template must be a string"),
        ({"invalid_request_detail": " "}, r"invalid_request_detail must be 1\.\.200 characters"),
        ({"invalid_request_detail": "x" * 201}, r"invalid_request_detail must be 1\.\.200"),
        ({"invalid_request_detail": 'a "quoted" word'}, r"invalid_request_detail .*plain text"),
        ({"invalid_request_detail": "costs $5"}, r"invalid_request_detail .*plain text"),
        ({"invalid_request_detail": "two\nlines"}, r"invalid_request_detail .*plain text"),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_bad_answers_are_refused_naming_the_field(kwargs, message):
    with pytest.raises(ValueError, match=message):
        FallbackResponses(**kwargs)
