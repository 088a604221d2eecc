"""The mock harness itself: it must surface failures, record inputs, and catch duplicates."""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws
import pytest

from mlops.testing.mocks import RecordingMocks, policy_documents, run


def test_failure_inside_apply_surfaces(pulumi_mocks: RecordingMocks) -> None:
    """Run in reverse: an assertion that fails inside `.apply` must fail the build."""

    def program() -> pulumi.Output:
        bucket = aws.s3.Bucket("probe")
        return bucket.arn.apply(lambda arn: _assert(arn == "not-the-arn", arn))

    with pytest.raises(AssertionError, match="arn:aws:s3:::probe"):
        run(program)


def _assert(condition: bool, detail: str) -> None:
    assert condition, detail


def test_records_inputs_and_computed_outputs(pulumi_mocks: RecordingMocks) -> None:
    seen: dict[str, str] = {}

    def program() -> pulumi.Output:
        key = aws.kms.Key("probe-key", enable_key_rotation=True)
        return key.arn.apply(lambda arn: seen.setdefault("arn", arn))

    run(program)
    key = pulumi_mocks.named("probe-key")
    assert key.inputs["enableKeyRotation"] is True
    assert seen["arn"].startswith(f"arn:aws:kms:{pulumi_mocks.region}:{pulumi_mocks.account_id}:")


def test_records_parent_of_children(pulumi_mocks: RecordingMocks) -> None:
    class Probe(pulumi.ComponentResource):
        def __init__(self, name: str) -> None:
            super().__init__("mlops:test:Probe", name)
            self.bucket = aws.s3.Bucket(f"{name}-bucket", opts=pulumi.ResourceOptions(parent=self))
            self.register_outputs({})

    run(lambda: Probe("probe"))
    component = pulumi_mocks.named("probe")
    assert component.is_component
    assert [c.name for c in pulumi_mocks.children_of(component)] == ["probe-bucket"]


def test_duplicate_type_and_name_is_detected() -> None:
    mocks = RecordingMocks()
    from mlops.testing.mocks import install

    install(mocks, "dev")
    run(lambda: [aws.s3.Bucket("same"), aws.s3.Bucket("same")])
    assert mocks.duplicate_keys() == [("aws:s3/bucket:Bucket", "same")]


def test_invokes_answer_like_aws(pulumi_mocks: RecordingMocks) -> None:
    got: dict[str, object] = {}

    def program() -> None:
        got["identity"] = aws.get_caller_identity().account_id
        got["region"] = aws.get_region().region
        got["azs"] = aws.get_availability_zones().names

    run(program)
    assert got["identity"] == pulumi_mocks.account_id
    assert got["region"] == "eu-west-2"
    assert got["azs"][:2] == ["eu-west-2a", "eu-west-2b"]


def test_policy_documents_are_extracted(pulumi_mocks: RecordingMocks) -> None:
    statement = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}
    doc = json.dumps({"Version": "2012-10-17", "Statement": [statement]})
    run(lambda: aws.iam.Policy("probe-policy", policy=doc))
    docs = policy_documents(pulumi_mocks.resources)
    assert [name for name, _ in docs] == ["probe-policy.policy"]
