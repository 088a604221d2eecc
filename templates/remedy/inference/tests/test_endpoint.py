"""SageMaker endpoint predictor: success, missing endpoint, model error, timeout, garbage."""

from __future__ import annotations

import io
import json
from dataclasses import asdict

import boto3
import pytest
from botocore.exceptions import ReadTimeoutError
from botocore.response import StreamingBody
from botocore.stub import Stubber

from factories import claim, outputs
from remedy_core.features import encode_claim
from remedy_inference.endpoint import EndpointPredictor
from remedy_inference.service import ModelUnavailable

VEC = encode_claim(claim())


def stubbed():
    client = boto3.client(
        "sagemaker-runtime",
        region_name="eu-west-2",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    return client, Stubber(client)


def body(data: bytes) -> StreamingBody:
    return StreamingBody(io.BytesIO(data), len(data))


def test_endpoint_answer_becomes_model_outputs():
    client, stub = stubbed()
    answer = json.dumps({"bundle_id": "b", "outputs": [asdict(outputs())]}).encode()
    stub.add_response(
        "invoke_endpoint",
        {"Body": body(answer), "ContentType": "application/json"},
        {
            "EndpointName": "remedy-ep",
            "ContentType": "application/json",
            "Accept": "application/json",
            "Body": json.dumps({"instances": [VEC.tolist()]}),
        },
    )
    with stub:
        assert EndpointPredictor("remedy-ep", client).predict_one(VEC) == outputs()


@pytest.mark.parametrize(
    ("code", "message", "expected"),
    [
        ("ValidationError", "Endpoint remedy-ep of account 1 not found.", "MODEL_NOT_DEPLOYED"),
        ("ModelError", "Received server error (500) from primary", "MODEL_UNAVAILABLE"),
        ("ThrottlingException", "Rate exceeded", "MODEL_UNAVAILABLE"),
    ],
    ids=["missing", "model-error", "throttled"],
)
def test_endpoint_errors_map_to_reason_codes(code, message, expected):
    client, stub = stubbed()
    stub.add_client_error("invoke_endpoint", service_error_code=code, service_message=message)
    with stub, pytest.raises(ModelUnavailable) as err:
        EndpointPredictor("remedy-ep", client).predict_one(VEC)
    assert err.value.code == expected


def test_timeout_is_model_unavailable():
    client, _ = stubbed()

    def slow(**kwargs):
        raise ReadTimeoutError(endpoint_url="https://runtime.sagemaker")

    client.invoke_endpoint = slow
    with pytest.raises(ModelUnavailable) as err:
        EndpointPredictor("remedy-ep", client).predict_one(VEC)
    assert err.value.code == "MODEL_UNAVAILABLE"


def test_garbage_is_model_bad_output():
    client, stub = stubbed()
    stub.add_response("invoke_endpoint", {"Body": body(b"<html>oops")})
    with stub, pytest.raises(ModelUnavailable) as err:
        EndpointPredictor("remedy-ep", client).predict_one(VEC)
    assert err.value.code == "MODEL_BAD_OUTPUT"
