"""Pure serving documents: draft-04 request schema, templates, IAM documents."""

from __future__ import annotations

import json
from typing import Literal

import pytest
from pydantic import BaseModel, Field

from mlops.inference import serving_docs
from mlops.inference.fallback import FallbackResponses


class Vehicle(BaseModel):
    year: int = Field(ge=1950)
    powertrain: Literal["petrol", "ev"]


class Request(BaseModel):
    claim_id: str = Field(min_length=1)
    kind: Literal["claim"] = "claim"
    vehicle: Vehicle
    previous: Vehicle | None = None


def test_pydantic_schema_becomes_self_contained_draft4():
    schema = serving_docs.draft4_schema(Request.model_json_schema())
    text = json.dumps(schema)
    assert schema["$schema"] == "http://json-schema.org/draft-04/schema#"
    assert "$ref" not in text and "$defs" not in text and '"title"' not in text
    vehicle = schema["properties"]["vehicle"]
    assert vehicle["properties"]["year"] == {"minimum": 1950, "type": "integer"}
    assert vehicle["properties"]["powertrain"]["enum"] == ["petrol", "ev"]
    assert schema["properties"]["kind"]["enum"] == ["claim"]
    assert set(schema["required"]) == {"claim_id", "vehicle"}
    assert schema["properties"]["previous"]["anyOf"][1] == {"type": "null"}


def test_request_template_passes_the_body_as_execution_input():
    template = json.loads(
        serving_docs.start_sync_request_template("arn:aws:states:x:1:stateMachine:m")
    )
    assert template["stateMachineArn"].endswith(":m")
    assert template["input"] == "$util.escapeJavaScript($input.json('$'))"


def test_response_template_maps_invalid_requests_to_422_and_never_5xx():
    incomplete = FallbackResponses().incomplete_template
    t = serving_docs.start_sync_response_template(incomplete)
    assert '#elseif($r.error == "InvalidRequest")' in t
    assert "responseOverride.status = 422" in t
    assert t.endswith(f"#else\n{incomplete}\n#end") and "500" not in t


def test_the_response_template_carries_the_use_cases_incomplete_answer_verbatim():
    """The use case's answer (Remedy's investigate) is the #else branch, byte for
    byte; the rest of the mapping is the platform's."""
    answer = '{"recommendation": "refer",\n "code": "WORKFLOW_$r.status"}'
    assert serving_docs.start_sync_response_template(answer) == (
        "#set($r = $input.path('$'))\n"
        '#if($r.status == "SUCCEEDED")\n'
        "$r.output\n"
        '#elseif($r.error == "InvalidRequest")\n'
        "#set($context.responseOverride.status = 422)\n"
        "$r.cause\n"
        "#else\n"
        '{"recommendation": "refer",\n "code": "WORKFLOW_$r.status"}\n'
        "#end"
    )


def test_the_bad_request_body_names_the_use_cases_detail_and_the_failing_properties():
    errors = '"errors": "$util.escapeJavaScript($context.error.validationErrorString)"}'
    assert serving_docs.bad_request_template("invalid request") == (
        '{"detail": "invalid request", ' + errors
    )
    assert (
        serving_docs.bad_request_template("invalid order")
        == '{"detail": "invalid order", ' + errors
    )


VPC = {
    "region": "eu-west-2",
    "account_id": "111111111111",
    "subnet_ids": ["subnet-a", "subnet-b"],
    "security_group_ids": ["sg-1"],
}
EC2 = "arn:aws:ec2:eu-west-2:111111111111"


@pytest.mark.parametrize("which", ["lambda", "model"])
def test_serving_roles_scope_network_interfaces_like_the_platform(which):
    """Only Describe on "*"; interfaces created in the service's own subnets with its
    own security groups, deleted / re-addressed / shared only in this account and region."""
    if which == "lambda":
        doc = serving_docs.lambda_policy(log_group_arn="arn:lg", kms_key_arn="arn:k", **VPC)
    else:
        doc = serving_docs.model_policy(kms_key_arns=["arn:k"], artifact_bucket_arn=None,
                                        capture_bucket_arn=None, **VPC)  # fmt: skip
    for st in doc["Statement"]:
        actions = [st["Action"]] if isinstance(st["Action"], str) else st["Action"]
        if st["Resource"] == "*":
            assert not [a for a in actions if a.startswith("ec2:") and "Describe" not in a], st
    by_sid = {s["Sid"]: s for s in doc["Statement"]}
    assert by_sid["VpcAttach"]["Resource"] == [
        f"{EC2}:network-interface/*", f"{EC2}:subnet/subnet-a", f"{EC2}:subnet/subnet-b",
        f"{EC2}:security-group/sg-1",
    ]  # fmt: skip
    own = by_sid["VpcOwnInterfaces"]
    assert own["Resource"] == f"{EC2}:network-interface/*"
    assert "ec2:DeleteNetworkInterface" in own["Action"]


def test_iam_documents_are_scoped():
    lam = serving_docs.lambda_policy(log_group_arn="arn:lg", kms_key_arn="arn:k",
                                     secret_arns=["arn:s"], **VPC)  # fmt: skip
    by_sid = {s["Sid"]: s for s in lam["Statement"]}
    assert by_sid["Logs"]["Resource"] == "arn:lg:*"
    assert by_sid["Secrets"] == {
        "Sid": "Secrets",
        "Effect": "Allow",
        "Action": "secretsmanager:GetSecretValue",
        "Resource": "arn:s",
    }
    no_endpoint = serving_docs.state_machine_policy(function_arns=["arn:f"], endpoint_arn=None,
                                                    kms_key_arn="arn:k")  # fmt: skip
    assert "InvokeEndpoint" not in {s["Sid"] for s in no_endpoint["Statement"]}
    model = serving_docs.model_policy(kms_key_arns=["arn:k", "arn:k"],
                                      artifact_bucket_arn="arn:aws:s3:::b",
                                      capture_bucket_arn=None, region="eu-west-2",
                                      account_id="111111111111", usecase="remedy",
                                      artifact_key_arn="arn:aws:kms:eu-west-2:1:key/a")  # fmt: skip
    sids = {s["Sid"]: s for s in model["Statement"]}
    assert sids["Keys"]["Resource"] == "arn:k"  # de-duplicated
    assert sids["ReadRegisteredModels"]["Resource"] == "arn:aws:s3:::b/remedy/models/*"
    assert sids["DecryptRegisteredModels"]["Resource"] == "arn:aws:kms:eu-west-2:1:key/a"
    assert sids["PullImages"]["Resource"] == "arn:aws:ecr:*:*:repository/*"
    assert "WriteDataCapture" not in sids
