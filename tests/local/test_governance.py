"""Local approval: the platform's persona policies decide, evaluated by moto's IAM engine."""

from __future__ import annotations

import pytest

from mlops.local.embedded_aws import EmbeddedAWS
from mlops.local.environment import provision
from mlops.local.governance import ApprovalDenied, approve, evaluate, persona_policy


@pytest.fixture(scope="module")
def registry():
    with EmbeddedAWS() as aws:
        platform = provision(aws, "remedy")
        yield aws, platform


def _pending_package(aws: EmbeddedAWS, group: str) -> str:
    return aws.client("sagemaker").create_model_package(
        ModelPackageGroupName=group,
        ModelApprovalStatus="PendingManualApproval",
        InferenceSpecification={
            "Containers": [{"Image": "123456789012.dkr.ecr.eu-west-2.amazonaws.com/remedy:1"}],
            "SupportedContentTypes": ["application/json"],
            "SupportedResponseMIMETypes": ["application/json"],
        },
    )["ModelPackageArn"]


def test_data_scientist_is_refused_and_package_stays_pending(registry) -> None:
    aws, platform = registry
    arn = _pending_package(aws, platform.model_package_group)
    sm = aws.client("sagemaker")
    with pytest.raises(ApprovalDenied) as info:
        approve(sm, platform, arn, persona="data-scientist", user="priya-shah")
    assert "sagemaker:UpdateModelPackage is explicitly denied" in info.value.message
    assert "lead data scientist" in info.value.fix
    assert sm.describe_model_package(ModelPackageName=arn)["ModelApprovalStatus"] == (
        "PendingManualApproval"
    )


def test_lead_data_scientist_approves_and_is_recorded(registry) -> None:
    aws, platform = registry
    arn = _pending_package(aws, platform.model_package_group)
    result = approve(
        aws.client("sagemaker"), platform, arn, persona="lead-data-scientist", user="ellen-ward"
    )
    assert result.status == "Approved"
    described = aws.client("sagemaker").describe_model_package(ModelPackageName=arn)
    assert described["CustomerMetadataProperties"]["mlops:approved-by"] == "ellen-ward"


def test_evaluation_uses_the_real_persona_policies(registry) -> None:
    _, platform = registry
    sm = f"arn:aws:sagemaker:{platform.ctx.region}:{platform.ctx.account_id}"
    own = f"{sm}:model-package/{platform.model_package_group}/1"
    other = f"{sm}:model-package/mlops-local-othercase-models/1"
    lead = persona_policy(platform, "lead-data-scientist")
    ds = persona_policy(platform, "data-scientist")
    assert evaluate(lead, "sagemaker:UpdateModelPackage", own) == "allowed"
    # the lead acts as the use case's approver role: another use case's packages are out of reach
    assert evaluate(lead, "sagemaker:UpdateModelPackage", other) == "not allowed"
    assert evaluate(ds, "sagemaker:UpdateModelPackage", own) == "explicitly denied"
    assert evaluate(ds, "iam:CreateUser", "*") == "not allowed"
