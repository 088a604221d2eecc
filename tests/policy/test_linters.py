"""cfn-lint and asl-validator over what the program renders, found through the artifact registry."""

from __future__ import annotations

import json

import pulumi_aws as aws
import pytest

from mlops.config import REPO_ROOT
from mlops.policy.linters import EXTRACTORS, Artifact, artifacts, lint_resources, register_artifact

from . import builders as b
from .conftest import record

GOOD_CFN = """AWSTemplateFormatVersion: "2010-09-09"
Resources:
  Queue:
    Type: AWS::SQS::Queue
    Properties:
      KmsMasterKeyId: alias/aws/sqs
"""
BAD_CFN = GOOD_CFN.replace("KmsMasterKeyId", "KmsMasterKey")

needs_asl_validator = pytest.mark.skipif(
    not (REPO_ROOT / "node_modules" / ".bin" / "asl-validator").exists(),
    reason="asl-validator not installed: run `npm ci` at the repo root",
)


def _objects(*bodies: str) -> None:
    for i, body in enumerate(bodies):
        aws.s3.BucketObjectv2(f"template-{i}", bucket="b", key=f"t{i}.yaml", content=body)


def test_cfn_templates_in_s3_objects_are_linted() -> None:
    mocks = record(lambda: _objects(GOOD_CFN, BAD_CFN, "just a readme"))
    results = {r.artifact: r for r in lint_resources(mocks.resources)}
    assert {name: (r.tool, r.status) for name, r in results.items()} == {
        "template-0.content": ("cfn-lint", "passed"),
        "template-1.content": ("cfn-lint", "failed"),
    }
    assert "E3002" in results["template-1.content"].output


@needs_asl_validator
def test_state_machine_definitions_are_validated() -> None:
    broken = json.dumps({"StartAt": "Missing", "States": {"Done": {"Type": "Succeed"}}})

    def build() -> None:
        b.state_machine()
        aws.sfn.StateMachine("broken", role_arn=b.ROLE_ARN, definition=broken, tags=b.TAGS)

    results = {r.artifact: r for r in lint_resources(record(build).resources)}
    assert {name: r.status for name, r in results.items()} == {
        "subject.definition": "passed",
        "broken.definition": "failed",
    }
    assert "MISSING_TRANSITION_TARGET" in results["broken.definition"].summary


def test_components_can_register_their_own_artifacts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(EXTRACTORS, "aws:servicecatalog/product:Product", [])
    register_artifact("aws:servicecatalog/product:Product")(
        lambda r: [Artifact("cfn", f"{r.name}.template", BAD_CFN)]
    )

    def build() -> None:
        aws.servicecatalog.Product(
            "product",
            name="remedy",
            owner="ml-platform-team",
            type="CLOUD_FORMATION_TEMPLATE",
            provisioning_artifact_parameters={"template_url": "https://example.invalid/t.yaml"},
        )

    found = artifacts(record(build).resources)
    assert found == [Artifact("cfn", "product.template", BAD_CFN)]
