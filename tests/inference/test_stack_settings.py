"""Shared inference-stack settings: validation names the setting; defaults per stack."""

from __future__ import annotations

import pytest

from mlops.inference.stack_settings import InferenceStackSettings, common_settings
from mlops.usecases import RealtimeEndpoint, ServerlessEndpoint


class Config(dict):
    def get(self, key):
        return super().get(key)

    def get_int(self, key):
        value = super().get(key)
        return None if value is None else int(value)

    def get_object(self, key):
        return super().get(key)

    def require(self, key):
        return self[key]


BASE = {"environment": "dev", "account_id": "111111111111", "platform_stack": "org/p/dev"}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"environment": "qa"}, "environment must be one of"),
        ({"account_id": "12"}, "accountId must be 12 digits"),
        ({"endpoint_mode": "batch"}, "endpointMode must be serverless or realtime"),
        ({"min_instances": 3, "max_instances": 2}, "minInstances <= maxInstances"),
        ({"model_package_arn": "arn:aws:s3:::x"}, "modelPackageArn"),
    ],
)
def test_bad_settings_name_the_setting(change, message) -> None:
    with pytest.raises(ValueError, match=message):
        InferenceStackSettings(**{**BASE, **change})


def test_prod_defaults_to_realtime_and_others_to_serverless() -> None:
    config = Config(accountId="111111111111", platformStack="org/p/dev")
    dev = InferenceStackSettings(**common_settings(config, "dev"))
    prod = InferenceStackSettings(**common_settings(config, "prod", prod_instances=(3, 9)))
    assert isinstance(dev.endpoint(), ServerlessEndpoint)
    endpoint = prod.endpoint()
    assert isinstance(endpoint, RealtimeEndpoint)
    assert (endpoint.min_instances, endpoint.max_instances) == (3, 9)
    explicit = Config(config, endpointMode="serverless", serverlessMemoryMb="4096")
    assert InferenceStackSettings(**common_settings(explicit, "prod")).endpoint().memory_mb == 4096
