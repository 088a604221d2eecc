"""Settings of the Pulumi program (pure) and, when the platform provides it, the component build."""

import pytest

from tabular_core import usecase
from tabular_inference.infra import ServiceSettings, settings_from_config


class FakeConfig:
    def __init__(self, values: dict[str, str]) -> None:
        self.values = values

    def get(self, key: str) -> str | None:
        return self.values.get(key)

    def get_int(self, key: str) -> int | None:
        value = self.values.get(key)
        return None if value is None else int(value)

    def require(self, key: str) -> str:
        if key not in self.values:
            raise KeyError(key)
        return self.values[key]


def test_settings_from_config_defaults_per_stack() -> None:
    dev = settings_from_config(FakeConfig({"accountId": "111111111111"}), "dev")
    assert dev.serverless_memory_mb == 2048
    prod = settings_from_config(
        FakeConfig({"accountId": "333333333333", "minInstances": "2", "maxInstances": "4"}), "prod"
    )
    assert prod.serverless_memory_mb is None
    assert (prod.min_instances, prod.max_instances) == (2, 4)


def test_model_package_group_matches_the_training_pipeline() -> None:
    settings = ServiceSettings(environment="staging", account_id="222222222222")
    assert settings.model_package_group.startswith("mlops-staging-")
    assert usecase.USECASE_NAME[:20] in settings.model_package_group


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"environment": "qa"}, "environment must be one of"),
        ({"account_id": "123"}, "account_id must be 12 digits"),
        ({"min_instances": 3, "max_instances": 2}, "min_instances <= max_instances"),
    ],
)
def test_bad_settings_are_refused(kwargs, message) -> None:
    base = {"environment": "dev", "account_id": "111111111111"}
    with pytest.raises(ValueError, match=message):
        ServiceSettings(**{**base, **kwargs})
