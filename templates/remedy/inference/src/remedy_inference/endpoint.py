"""The SageMaker endpoint as a ``Predictor`` for the in-process service (local API in the cloud
account, smoke tests, the deploy pipeline's checks). The Step Functions workflow calls the same
endpoint through its native SageMaker runtime task instead.

Failures map to the decision's model reasons: endpoint missing -> MODEL_NOT_DEPLOYED; timeouts,
throttling, 5xx or model errors -> MODEL_UNAVAILABLE; an unusable body -> MODEL_BAD_OUTPUT.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from remedy_core.outputs import ModelOutputs
from remedy_inference.service import ModelUnavailable
from remedy_inference.steps import model_input, parse_predict


def runtime_client(region: str | None = None, timeout_s: float = 2.0) -> Any:
    import boto3
    from botocore.config import Config

    config = Config(
        connect_timeout=timeout_s,
        read_timeout=timeout_s,
        retries={"max_attempts": 2, "mode": "standard"},
    )
    return boto3.client("sagemaker-runtime", region_name=region, config=config)


class EndpointPredictor:
    def __init__(self, endpoint_name: str, client: Any = None) -> None:
        self.endpoint_name = endpoint_name
        self.client = client or runtime_client()

    def predict_one(self, features: np.ndarray) -> ModelOutputs:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            response = self.client.invoke_endpoint(
                EndpointName=self.endpoint_name,
                ContentType="application/json",
                Accept="application/json",
                Body=model_input([np.asarray(features, dtype=np.float32).tolist()]),
            )
            body = response["Body"].read().decode("utf-8", errors="replace")
        except ClientError as exc:
            error = exc.response.get("Error", {})
            missing = error.get("Code") == "ValidationError" and "not found" in str(
                error.get("Message", "")
            )
            code = "MODEL_NOT_DEPLOYED" if missing else "MODEL_UNAVAILABLE"
            raise ModelUnavailable(code, error.get("Code", "ClientError")) from exc
        except BotoCoreError as exc:  # timeouts, connection errors
            raise ModelUnavailable("MODEL_UNAVAILABLE", type(exc).__name__) from exc
        outputs, failure = parse_predict({"body": body})
        if outputs is None:
            raise ModelUnavailable(failure or "MODEL_BAD_OUTPUT", "unusable endpoint answer")
        return outputs
