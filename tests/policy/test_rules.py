"""Every rule: a compliant and a violating set of real pulumi-aws resources, via the runner."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from mlops.policy.base import REGISTRY

from . import builders as b

# rule -> (compliant build, violating build, fragment of the expected message)
CASES: dict[str, tuple[Callable[[], Any], Callable[[], Any], str]] = {
    "s3-sse-kms-bucket-key": (b.sse, lambda: b.sse(algorithm="AES256"), "not 'aws:kms'"),
    "s3-versioning-enabled": (b.versioning, lambda: b.versioning("Suspended"), "'Suspended'"),
    "s3-public-access-block-full": (
        b.public_access_block,
        lambda: b.public_access_block(restrict=False),
        "restrictPublicBuckets",
    ),
    "s3-bucket-has-controls": (
        b.secure_bucket,
        lambda: b.secure_bucket(with_block=False),
        "no BucketPublicAccessBlock",
    ),
    "kms-key-rotation": (b.kms_key, lambda: b.kms_key(rotate=False), "enableKeyRotation"),
    "kms-key-deletion-window": (
        b.kms_key,
        lambda: __import__("pulumi_aws").kms.Key(
            "subject", enable_key_rotation=True, deletion_window_in_days=7, tags=b.TAGS
        ),
        "deletionWindowInDays is 7, below 30",
    ),
    "s3-deny-insecure-transport": (
        b.secure_bucket,
        lambda: b.secure_bucket(tls_only=False),
        "accepts requests without TLS",
    ),
    "sagemaker-endpoint-data-capture": (
        b.endpoint_config,
        lambda: b.endpoint_config(capture=False),
        "no data capture",
    ),
    "sagemaker-domain-vpc-only-kms": (
        b.domain,
        lambda: b.domain(access="PublicInternetOnly"),
        "not 'VpcOnly'",
    ),
    "sagemaker-endpoint-config-encrypted": (
        b.endpoint_config,
        lambda: b.endpoint_config(kms=False),
        "no kmsKeyArn",
    ),
    "sagemaker-notebook-locked-down": (
        b.notebook,
        lambda: b.notebook(locked=False),
        "rootAccess",
    ),
    "sagemaker-pipeline-vpc-encryption": (
        b.pipeline,
        lambda: b.pipeline(nested_ok=False),
        "step 'train' (Training) lacks EnableInterContainerTrafficEncryption",
    ),
    "log-group-kms": (b.log_group, lambda: b.log_group(kms=False), "no kmsKeyId"),
    "log-group-retention": (b.log_group, lambda: b.log_group(days=7), "below the minimum of 30"),
    "cloudtrail-multi-region-validated": (
        b.trail,
        lambda: b.trail(multi_region=False),
        "isMultiRegionTrail",
    ),
    "iam-no-star-on-star": (
        lambda: b.role_with_inline(b.SCOPED),
        lambda: b.role_with_inline(b.STAR),
        "inlinePolicies[work]: statement Admin allows Action '*'",
    ),
    "iam-no-passrole-on-star": (
        lambda: b.role_policy(b.PASSROLE_SCOPED),
        lambda: b.role_policy(b.PASSROLE),
        "statement Pass allows iam:PassRole",
    ),
    "iam-no-public-principal": (
        lambda: b.bucket_policy(b.DENY_INSECURE),
        lambda: b.bucket_policy(b.DENY_INSECURE, b.PUBLIC_READ),
        "statement Public allows Principal '*'",
    ),
    "apigateway-method-authorized": (b.method, lambda: b.method("NONE"), "'NONE'"),
    "iam-role-permissions-boundary": (
        b.inference_role("arn:aws:iam::111111111111:policy/mlops-dev-remedy-boundary"),
        b.inference_role(None),
        "no permissionsBoundary",
    ),
    "apigateway-stage-access-logs": (b.stage, lambda: b.stage(logs=False), "no accessLogSettings"),
    "sfn-logs-execution-data": (
        b.state_machine,
        lambda: b.state_machine(logging=False),
        "logging level is OFF",
    ),
    "sfn-log-group-encrypted": (
        b.state_machine,
        lambda: b.state_machine(group_kms=False),
        "unencrypted group 'sfn-logs'",
    ),
    "lambda-async-failure-destination": (
        b.async_lambda,
        lambda: b.async_lambda(on_failure=False),
        "subject-from-events (events.amazonaws.com)",
    ),
    "required-tags": (
        b.kms_key,
        lambda: __import__("pulumi_aws").kms.Key(
            "subject", enable_key_rotation=True, tags={"owner": "x"}
        ),
        "missing tags: cost-centre, data-classification, environment",
    ),
    "iam-role-managed-policy-limit": (
        lambda: b.role_with_attachments(10),
        lambda: b.role_with_attachments(11),
        "role 'subject' has 11 managed policies attached; IAM allows 10",
    ),
    "approval-rule-approved-only": (
        lambda: b.UseCase("remedy", ("Approved",), rejected_target=ROLLBACK_FUNCTION),
        lambda: b.UseCase("remedy", ("Approved", "PendingManualApproval")),
        "not ['Approved'] only",
    ),
}
ROLLBACK_FUNCTION = "arn:aws:lambda:eu-west-2:111111111111:function:mlops-dev-remedy-rollback"


def test_a_rejected_only_rule_may_start_the_rollback_but_never_a_pipeline(check) -> None:
    pipeline = "arn:aws:codepipeline:eu-west-2:111111111111:mlops-dev-remedy-deploy"
    result = check(lambda: b.UseCase("remedy", ("Approved",), rejected_target=pipeline))
    found = [v.message for v in result.violations if v.rule == "approval-rule-approved-only"]
    assert found == [
        "rule 'rejected' matches Rejected packages and starts the pipeline "
        "'mlops-dev-remedy-deploy' (it would deploy on a rejection)"
    ]


def _sse_messages(check, **kwargs: Any) -> list[str]:
    result = check(lambda: b.sse(**kwargs))
    return [v.message for v in result.violations if v.rule == "s3-sse-kms-bucket-key"]


def test_only_the_shared_buckets_turn_the_bucket_key_off(check) -> None:
    """Shared multi-tenant buckets (by their physical name) must have no bucket key, so each
    object's KMS context is its ARN; every other bucket must keep it."""
    assert _sse_messages(check, bucket=b.SHARED_BUCKET, bucket_key=False) == []
    assert _sse_messages(check, bucket=b.SINGLE_TENANT_BUCKET, bucket_key=True) == []
    off = _sse_messages(check, bucket=b.SINGLE_TENANT_BUCKET, bucket_key=False)
    assert off == [
        "bucketKeyEnabled is not true (only the shared multi-tenant buckets turn it off)"
    ]
    on = _sse_messages(check, bucket=b.SHARED_BUCKET, bucket_key=True)
    assert len(on) == 1 and f"shared bucket {b.SHARED_BUCKET!r}" in on[0], on


def test_every_rule_has_a_case() -> None:
    assert sorted(CASES) == sorted(REGISTRY)


@pytest.mark.parametrize("rule", sorted(CASES))
def test_compliant_resources_pass(check, rule: str) -> None:
    result = check(CASES[rule][0])
    found = [v for v in result.violations if v.rule == rule]
    assert not found, f"{rule} flagged compliant resources: {found}"


@pytest.mark.parametrize("rule", sorted(CASES))
def test_violating_resource_fails(check, rule: str) -> None:
    _, violating, fragment = CASES[rule]
    result = check(violating)
    found = [v for v in result.violations if v.rule == rule]
    assert {v.level for v in found} <= {REGISTRY[rule].level.value}
    assert found, f"{rule} did not flag its violating case; got {result.violations}"
    assert all(v.fix == REGISTRY[rule].fix for v in found)
    messages = [f"{v.resource}: {v.message}" for v in found]
    assert any(fragment in m for m in messages), messages
    # the subject (or, for stack rules, the resource it is about) is named
    assert {v.resource for v in found} & {"subject", "remedy"}, messages


def test_compliant_cases_together_have_no_violation_at_all(check) -> None:
    """The compliant builders are clean under every rule, not just their own (tags included)."""

    def build() -> None:
        b.secure_bucket("data")
        b.kms_key()
        b.domain()
        b.endpoint_config()
        b.notebook()
        b.pipeline()
        b.trail()
        b.state_machine()
        b.async_lambda()
        b.UseCase("remedy", ("Approved",))

    result = check(build)
    assert result.violations == []
    assert result.resource_count >= 15
