"""The real program passes; a seeded bad stack fails with exactly the expected rules."""

from __future__ import annotations

import json
from pathlib import Path

import pulumi_aws as aws
import pytest

from mlops.policy.check import check_resources, format_result
from mlops.policy.rules import taggable
from mlops.testing.mocks import RecordingMocks

from . import builders as b

DATA = Path(__file__).parent / "data"


def test_real_program_has_no_mandatory_violation(program: RecordingMocks, stack_config) -> None:
    """Runs for dev, staging and prod (the `program` fixture builds each once per session)."""
    result = check_resources(program.resources, stack=stack_config.environment)
    assert result.resource_count == sum(r.custom for r in program.resources)
    assert result.mandatory == [], "\n".join(format_result(result))


def seeded_bad_stack() -> None:
    """A plausible stack with one mistake per area (and everything else right)."""
    b.secure_bucket("data")
    b.secure_bucket("scratch", with_block=False)  # no public-access block
    aws.kms.Key("legacy-key", enable_key_rotation=False, tags=b.TAGS)  # no rotation
    aws.cloudwatch.LogGroup(
        "api-logs", name="/mlops/api", kms_key_id=b.KEY_ARN, retention_in_days=7, tags=b.TAGS
    )  # too short
    aws.iam.Policy("ci-admin", policy=b.doc(b.STAR), tags=b.TAGS)  # "*" on "*"
    aws.cloudwatch.EventRule(
        "deploy-on-any-status",
        event_pattern=b.approval_pattern(),  # no ModelApprovalStatus filter at all
        tags=b.TAGS,
    )


EXPECTED = {
    "s3-bucket-has-controls": {"scratch"},
    "kms-key-rotation": {"legacy-key"},
    "log-group-retention": {"api-logs"},
    "iam-no-star-on-star": {"ci-admin"},
    "approval-rule-approved-only": {"deploy-on-any-status"},
}


def test_seeded_bad_stack_fails_with_the_expected_rules(check) -> None:
    result = check(seeded_bad_stack)
    assert not result.ok
    got: dict[str, set[str]] = {}
    for v in result.mandatory:
        got.setdefault(v.rule, set()).add(v.resource)
    assert got == EXPECTED, "\n".join(format_result(result))
    assert result.advisory == []


def test_config_can_demote_a_rule_and_change_its_threshold(check) -> None:
    config = {
        "kms-key-rotation": "advisory",
        "log-group-retention": {"minimumRetentionDays": 3},
        "iam-no-star-on-star": {"enforcementLevel": "disabled"},
    }
    result = check(seeded_bad_stack, config)
    assert result.rule_names() == {"s3-bucket-has-controls", "approval-rule-approved-only"}
    assert {(v.rule, v.level) for v in result.advisory} == {("kms-key-rotation", "advisory")}


def test_retention_minimum_comes_from_config(check) -> None:
    strict = check(b.log_group, {"log-group-retention": {"minimumRetentionDays": 90}})
    assert [v.message for v in strict.mandatory] == [
        "retentionInDays is 30, below the minimum of 90"
    ]


def test_required_tags_come_from_config(check) -> None:
    result = check(b.kms_key, {"required-tags": {"requiredTags": ["owner", "project"]}})
    assert [(v.rule, v.message) for v in result.mandatory] == [
        ("required-tags", "missing tags: project")
    ]


def test_untaggable_types_need_no_tags(check) -> None:
    result = check(b.versioning)  # BucketVersioning takes no tags
    assert result.violations == []


def test_asymmetric_keys_are_not_asked_to_rotate(check) -> None:
    result = check(
        lambda: aws.kms.Key(
            "signing", customer_master_key_spec="RSA_2048", key_usage="SIGN_VERIFY", tags=b.TAGS
        )
    )
    assert result.violations == []


def test_every_policy_bearing_type_is_checked(check) -> None:
    """The same bad statement in a managed policy, a role policy and a bucket policy."""

    def build() -> None:
        aws.iam.Policy("p1", policy=b.doc(b.PASSROLE), tags=b.TAGS)
        aws.iam.RolePolicy("p2", role="r", policy=b.doc(b.SCOPED, b.PASSROLE))
        aws.iam.Role(
            "p3",
            assume_role_policy=b.doc(
                {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}
            ),
            inline_policies=[{"name": "x", "policy": b.doc({**b.PASSROLE, "Action": "iam:*"})}],
            tags=b.TAGS,
        )

    result = check(build)
    passrole = {v.resource for v in result.mandatory if v.rule == "iam-no-passrole-on-star"}
    public = {v.resource for v in result.mandatory if v.rule == "iam-no-public-principal"}
    assert passrole == {"p1", "p2", "p3"}
    assert public == {"p3"}  # anyone may assume the role


def test_sync_only_lambda_needs_no_destination(check) -> None:
    def build() -> None:
        aws.lambda_.Function(
            "api-handler",
            role=b.ROLE_ARN,
            runtime="python3.12",
            handler="index.handler",
            code=b.pulumi.AssetArchive({"index.py": b.pulumi.StringAsset("x = 1\n")}),
            tags=b.TAGS,
        )
        aws.lambda_.Permission(
            "api-handler-from-apigw",
            action="lambda:InvokeFunction",
            function="api-handler",
            principal="apigateway.amazonaws.com",
        )

    assert check(build).violations == []


def test_dead_letter_queue_satisfies_async_rule(check) -> None:
    result = check(lambda: b.async_lambda(on_failure=False, dlq=True))
    assert result.violations == []


def test_use_case_without_approval_rule_fails(check) -> None:
    result = check(lambda: b.UseCase("remedy", None))
    assert [(v.rule, v.resource) for v in result.mandatory] == [
        ("approval-rule-approved-only", "remedy")
    ]


def test_custom_authorizer_needs_an_authorizer_id(check) -> None:
    bad = check(lambda: b.method("CUSTOM"))
    good = check(lambda: b.method("CUSTOM", authorizer=True))
    assert [v.message for v in bad.mandatory] == [
        "authorization is CUSTOM but no authorizerId is configured"
    ]
    assert good.violations == []


def test_http_api_routes_need_auth(check) -> None:
    assert check(b.http_route).violations == []
    assert check(lambda: b.http_route("NONE")).rule_names() == {"apigateway-method-authorized"}


def test_pipeline_from_s3_location_cannot_be_verified(check) -> None:
    def build() -> None:
        aws.sagemaker.Pipeline(
            "subject",
            pipeline_name="p",
            pipeline_display_name="p",
            role_arn=b.ROLE_ARN,
            pipeline_definition_s3_location={"bucket": "b", "object_key": "k.json"},
            tags=b.TAGS,
        )

    assert check(build).rule_names() == {"sagemaker-pipeline-vpc-encryption"}


def test_result_json_is_serialisable(check) -> None:
    doc = json.loads(json.dumps(check(seeded_bad_stack).to_json()))
    assert doc["ok"] is False
    assert {v["rule"] for v in doc["violations"]} == set(EXPECTED)


def test_use_case_without_registry_needs_no_approval_rule(check) -> None:
    """Staging and prod host only the deployment target of a use case: no registry, no rule."""

    class Target(b.pulumi.ComponentResource):
        def __init__(self) -> None:
            super().__init__("mlops:usecase:UseCase", "remedy")
            self.register_outputs({})

    assert check(Target).violations == []


def test_approval_rule_must_name_its_group(check) -> None:
    def build() -> None:
        aws.cloudwatch.EventRule(
            "any-group",
            event_pattern=json.dumps(
                {
                    "detail-type": ["SageMaker Model Package State Change"],
                    "detail": {"ModelApprovalStatus": ["Approved"]},
                }
            ),
            tags=b.TAGS,
        )

    result = check(build)
    assert [v.message for v in result.mandatory] == [
        "rule 'any-group' matches approvals of every model package group"
    ]


def test_real_sdk_pipeline_definition_is_understood(check) -> None:
    """data/remedy_training_pipeline.json is what the remedy template's `pipeline_definition()`
    produced with the sagemaker 3.27 SDK offline (Processing, Tuning, Condition, RegisterModel)."""
    definition = json.loads((DATA / "remedy_training_pipeline.json").read_text())

    def pipeline(body: dict) -> None:
        aws.sagemaker.Pipeline(
            "training",
            pipeline_name="mlops-dev-remedy-training",
            pipeline_display_name="remedy-training",
            role_arn=b.ROLE_ARN,
            pipeline_definition=json.dumps(body),
            tags=b.TAGS,
        )

    assert check(lambda: pipeline(definition)).violations == []
    steps = {s["Name"]: s["Arguments"] for s in definition["Steps"]}
    del steps["Tune"]["TrainingJobDefinition"]["EnableInterContainerTrafficEncryption"]
    del steps["Evaluate"]["NetworkConfig"]["VpcConfig"]
    result = check(lambda: pipeline(definition))
    assert [v.message for v in result.mandatory] == [
        "step 'Tune' (Tuning) lacks EnableInterContainerTrafficEncryption",
        "step 'Evaluate' has no VpcConfig with Subnets and SecurityGroupIds",
    ]


@pytest.mark.parametrize(
    ("resource_type", "expected"),
    [
        ("aws:s3/bucket:Bucket", True),
        ("aws:kms/key:Key", True),
        ("aws:lambda/function:Function", True),  # module pulumi_aws.lambda_
        ("aws:sagemaker/domain:Domain", True),
        ("aws:s3/bucketVersioning:BucketVersioning", False),
        ("aws:iam/rolePolicy:RolePolicy", False),
        ("mlops:storage:SecureBucket", False),
        ("pulumi:providers:aws", False),
    ],
)
def test_taggable_types_come_from_pulumi_aws(resource_type: str, expected: bool) -> None:
    assert taggable(resource_type, {}) is expected


def test_attaching_admin_managed_policies_counts_as_the_statement(check) -> None:
    def build() -> None:
        aws.iam.RolePolicyAttachment(
            "admin", role="r", policy_arn="arn:aws:iam::aws:policy/AdministratorAccess"
        )
        aws.iam.RolePolicyAttachment(
            "iam-full", role="r", policy_arn="arn:aws:iam::aws:policy/IAMFullAccess"
        )
        aws.iam.RolePolicyAttachment(
            "read-only", role="r", policy_arn="arn:aws:iam::aws:policy/ReadOnlyAccess"
        )

    found = {(v.rule, v.resource) for v in check(build).mandatory}
    assert found == {("iam-no-star-on-star", "admin"), ("iam-no-passrole-on-star", "iam-full")}
