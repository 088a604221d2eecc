"""The repo's Pulumi program under the platform's mocks: the platform's InferenceService built
with this use case's handlers, per stack, with and without an approved model."""

from __future__ import annotations

import json

import pulumi
import pytest
from mlops.testing.mocks import RecordingMocks, install, run

from tabular_core import usecase
from tabular_inference.infra import HANDLERS, ServiceSettings, build, settings_from_config

ACCOUNTS = {"dev": "111111111111", "staging": "222222222222", "prod": "333333333333"}
PACKAGE = "arn:aws:sagemaker:eu-west-2:111111111111:model-package/churn-models/3"


class FakeConfig:
    def __init__(self, values: dict[str, str]) -> None:
        self.values = values

    def get(self, key: str) -> str | None:
        return self.values.get(key)

    def get_int(self, key: str) -> int | None:
        value = self.values.get(key)
        return None if value is None else int(value)

    def get_object(self, key: str):
        value = self.values.get(key)
        return None if value is None else json.loads(value)

    def require(self, key: str) -> str:
        if key not in self.values:
            raise KeyError(key)
        return self.values[key]


def deploy(env: str, model: str | None) -> RecordingMocks:
    ref = f"organization/mlops-platform/{env}"
    acct = ACCOUNTS[env]
    outputs = {
        "artifacts_key_arn": f"arn:aws:kms:eu-west-2:{acct}:key/artifacts",
        "private_subnet_ids": ["subnet-1", "subnet-2"],
        "sagemaker_security_group_id": "sg-sagemaker",
        "artifacts_bucket": f"mlops-{env}-model-artifacts",
        "registered_models_bucket": "mlops-dev-model-artifacts-111111111111-eu-west-2",
        "registered_models_key_arn": "arn:aws:kms:eu-west-2:111111111111:key/artifacts",
        "data_bucket": f"mlops-{env}-data",
    }
    mocks = RecordingMocks(account_id=acct, stack_outputs={ref: outputs})
    install(mocks, env, {}, project=f"{usecase.USECASE_NAME}-inference")
    config = {"accountId": acct, "platformStack": ref}
    if model:
        config["modelPackageArn"] = model
    settings = settings_from_config(FakeConfig(config), env)
    code = pulumi.AssetArchive({"x.py": pulumi.StringAsset("x = 1\n")})
    run(lambda: build(settings, code=code))
    return mocks


@pytest.mark.parametrize(("env", "model"), [("dev", None), ("staging", PACKAGE), ("prod", PACKAGE)])
def test_stack_builds_the_platform_component(env: str, model: str | None) -> None:
    mocks = deploy(env, model)
    (service,) = mocks.of_type("mlops:serving:InferenceService")
    assert service.name == usecase.USECASE_NAME
    assert len(mocks.of_type("aws:sagemaker/endpoint:Endpoint")) == (1 if model else 0)
    functions = mocks.of_type("aws:lambda/function:Function")
    assert sorted(f.inputs["handler"] for f in functions) == sorted(HANDLERS.values())
    schema = json.loads(mocks.of_type("aws:apigateway/model:Model")[0].inputs["schema"])
    assert set(schema["required"]) == {*usecase.NUMERIC_FEATURES, *usecase.CATEGORICAL_FEATURES}
    assert mocks.of_type("aws:apigateway/restApi:RestApi")
    assert mocks.duplicate_keys() == []


def test_settings_from_config_defaults_per_stack() -> None:
    dev = settings_from_config(FakeConfig({"accountId": "1" * 12, "platformStack": "p"}), "dev")
    prod = settings_from_config(FakeConfig({"accountId": "3" * 12, "platformStack": "p"}), "prod")
    assert (dev.endpoint_mode, prod.endpoint_mode) == ("serverless", "realtime")
    assert (prod.min_instances, prod.max_instances) == (2, 4)
    assert dev.model_package_arn is None


def test_model_package_group_matches_the_training_pipeline() -> None:
    settings = ServiceSettings(environment="staging", account_id="2" * 12, platform_stack="p")
    assert settings.model_package_group.startswith("mlops-staging-")
    assert usecase.USECASE_NAME[:20] in settings.model_package_group


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"environment": "qa"}, "environment must be one of"),
        ({"account_id": "123"}, "accountId must be 12 digits"),
        ({"endpoint_mode": "batch"}, "endpointMode must be serverless or realtime"),
        ({"min_instances": 3, "max_instances": 2}, "minInstances <= maxInstances"),
    ],
)
def test_bad_settings_are_refused(kwargs, message) -> None:
    base = {"environment": "dev", "account_id": "111111111111", "platform_stack": "p"}
    with pytest.raises(ValueError, match=message):
        ServiceSettings(**{**base, **kwargs})
