"""Rollout per stage under mocks: real-time endpoints take a new model through SageMaker's
deployment guardrails (the manifest's traffic shifting, rolled back by the endpoint's alarms and
the use case's investigate share), serverless ones all at once; the manifest validates the
rollout with errors that name the field; the manifest's rollout reaches the inference program
unchanged through the deploy build's config."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml

from mlops.delivery.deploy import endpoint_config
from mlops.errors import ManifestError
from mlops.inference.stack_settings import InferenceStackSettings, common_settings
from mlops.testing.mocks import RecordingMocks, run
from mlops.usecases import USECASES_DIR, RealtimeEndpoint, load_manifest, parse_manifest

from .test_serving import KEY, PACKAGE, build

REMEDY = USECASES_DIR / "remedy.yaml"


def _endpoint(mocks: RecordingMocks):
    [endpoint] = mocks.of_type("aws:sagemaker/endpoint:Endpoint")
    return endpoint


def _alarm_names(mocks: RecordingMocks) -> set[str]:
    return {a.inputs["name"] for a in mocks.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")}


@pytest.mark.parametrize("stack_config", ["prod"], indirect=True)
def test_a_realtime_endpoint_rolls_out_canary_and_rolls_back_on_its_alarms(
    pulumi_mocks: RecordingMocks, stack_config
) -> None:
    run(lambda: build(stack_config, True))
    config = _endpoint(pulumi_mocks).inputs["deploymentConfig"]
    policy = config["blueGreenUpdatePolicy"]
    assert policy["trafficRoutingConfiguration"] == {
        "type": "CANARY",
        "waitIntervalInSeconds": 600,
        "canarySize": {"type": "CAPACITY_PERCENT", "value": 10},
    }
    assert policy["terminationWaitInSeconds"] == 300
    rollback = [a["alarmName"] for a in config["autoRollbackConfiguration"]["alarms"]]
    assert rollback == [
        "mlops-prod-remedy-alarm-endpoint-5xx",
        "mlops-prod-remedy-alarm-model-latency-p99",
        "mlops-prod-remedy-alarm-investigate-share",
    ]
    assert set(rollback) <= _alarm_names(pulumi_mocks)  # every named alarm exists
    latency = next(
        a for a in pulumi_mocks.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")
        if a.inputs["name"] == rollback[1]
    )  # fmt: skip
    assert latency.inputs["dimensions"] == {
        "EndpointName": _endpoint(pulumi_mocks).inputs["name"],
        "VariantName": "AllTraffic",
    }
    assert latency.inputs["period"] * latency.inputs["evaluationPeriods"] < 600  # within a wait


@pytest.mark.parametrize("stack_config", ["dev", "staging"], indirect=True)
def test_serverless_endpoints_update_all_at_once(pulumi_mocks: RecordingMocks, stack_config):
    run(lambda: build(stack_config, True))
    assert _endpoint(pulumi_mocks).inputs.get("deploymentConfig") is None


@pytest.mark.parametrize("stack_config", ["prod"], indirect=True)
def test_the_investigate_share_alarm_is_the_use_cases_choice(
    pulumi_mocks: RecordingMocks, stack_config
) -> None:
    """A use case that never answers investigate has no such alarm and rolls back on errors and
    latency only."""
    run(lambda: build(stack_config, True, investigate_share=None))
    rollback = _endpoint(pulumi_mocks).inputs["deploymentConfig"]["autoRollbackConfiguration"]
    assert [a["alarmName"] for a in rollback["alarms"]] == [
        "mlops-prod-remedy-alarm-endpoint-5xx",
        "mlops-prod-remedy-alarm-model-latency-p99",
    ]
    assert not [n for n in _alarm_names(pulumi_mocks) if "investigate" in n]


def _manifest(prod_endpoint: dict[str, Any], dev_endpoint: dict[str, Any] | None = None):
    data = yaml.safe_load(REMEDY.read_text())
    data = copy.deepcopy(data)
    data["stacks"]["prod"]["endpoint"] = prod_endpoint
    if dev_endpoint is not None:
        data["stacks"]["dev"]["endpoint"] = dev_endpoint
    return parse_manifest(data, "usecases/remedy.yaml")


PROD = {"mode": "realtime", "instance_type": "ml.c6i.large", "min_instances": 2,
        "max_instances": 6}  # fmt: skip


@pytest.mark.parametrize(
    ("rollout", "message"),
    [
        ({"traffic": "shadow"}, "stacks.prod.endpoint.rollout.traffic: Input should be"),
        ({"traffic": "linear", "step_percent": 5}, "below SageMaker's minimum of 10%"),
        ({"step_percent": 80}, "stacks.prod.endpoint.rollout.step_percent: Input should be"),
        ({"wait_seconds": 7200}, "stacks.prod.endpoint.rollout.wait_seconds"),
        ({"traffic": "linear", "step_percent": 10, "wait_seconds": 3600}, "over SageMaker's"),
        ({"canary": 10}, "stacks.prod.endpoint.rollout.canary: is not a known field"),
    ],
)
def test_a_bad_rollout_names_the_field(rollout: dict[str, Any], message: str) -> None:
    with pytest.raises(ManifestError) as err:
        _manifest({**PROD, "rollout": rollout})
    assert message in err.value.message, err.value.message
    assert "rollout: {traffic: canary or linear or all_at_once" in err.value.fix


def test_a_serverless_endpoint_refuses_a_rollout() -> None:
    serverless = {"mode": "serverless", "memory_mb": 2048, "rollout": {"traffic": "canary"}}
    with pytest.raises(ManifestError) as err:
        _manifest(PROD, dev_endpoint=serverless)
    assert "stacks.dev.endpoint: rollout applies to real-time endpoints only" in err.value.message


def test_the_manifests_rollout_reaches_the_inference_program_unchanged() -> None:
    """Manifest → deploy build's `pulumi config set` (endpoint_config) → the inference repo's
    settings → the endpoint model InferenceService takes."""
    rollout = {"traffic": "linear", "step_percent": 25, "wait_seconds": 0,
               "termination_wait_seconds": 120}  # fmt: skip
    manifest = _manifest({**PROD, "rollout": rollout})
    endpoint = manifest.stacks.prod.endpoint
    config = {
        **endpoint_config(endpoint.model_dump(mode="json")),
        "accountId": "333333333333",
        "platformStack": "org/mlops-platform/prod",
    }

    class Config(dict):
        def get_int(self, key: str) -> int | None:
            return None if key not in self else int(self[key])

        def get_object(self, key: str) -> Any:
            return self.get(key)

        def require(self, key: str) -> str:
            return self[key]

    settings = InferenceStackSettings(**common_settings(Config(config), "prod"))
    assert settings.endpoint() == endpoint
    assert isinstance(endpoint, RealtimeEndpoint) and endpoint.rollout.steps == 4


@pytest.mark.parametrize("stack_config", ["prod"], indirect=True)
def test_changing_only_the_rollout_keeps_the_endpoint_config(pulumi_mocks, stack_config) -> None:
    """How the endpoint changes is not what it serves: no new endpoint config (no redeploy)."""
    from mlops.components.serving_endpoint import ModelEndpoint, ModelEndpointArgs
    from mlops.naming import NameContext

    def endpoint(name: str, rollout: dict[str, Any]) -> ModelEndpoint:
        return ModelEndpoint(name, ModelEndpointArgs(
            usecase="remedy", tags={},
            names=NameContext("prod", stack_config.account_id, stack_config.region),
            endpoint=_manifest({**PROD, "rollout": rollout}).stacks.prod.endpoint,
            model_package_arn=PACKAGE, kms_key_arn=KEY, subnet_ids=["subnet-a"],
            security_group_ids=["sg-a"], data_capture_bucket="capture",
            rollback_alarm_names=["mlops-prod-remedy-alarm-endpoint-5xx"],
        ))  # fmt: skip

    run(lambda: [endpoint("a", {"traffic": "canary"}),
                 endpoint("b", {"traffic": "linear", "step_percent": 20})])  # fmt: skip
    configs = pulumi_mocks.of_type("aws:sagemaker/endpointConfiguration:EndpointConfiguration")
    assert len({c.inputs["name"] for c in configs}) == 1, [c.inputs["name"] for c in configs]
    routing = {
        e.name: e.inputs["deploymentConfig"]["blueGreenUpdatePolicy"][
            "trafficRoutingConfiguration"]["type"]
        for e in pulumi_mocks.of_type("aws:sagemaker/endpoint:Endpoint")
    }  # fmt: skip
    assert routing == {"a-endpoint": "CANARY", "b-endpoint": "LINEAR"}


def test_a_realtime_endpoint_without_rollback_alarms_is_refused() -> None:
    from mlops.components.serving_endpoint import ModelEndpointArgs
    from mlops.naming import NameContext

    with pytest.raises(ValueError, match=r"needs 1\.\.10 rollback_alarm_names"):
        ModelEndpointArgs(
            usecase="remedy", tags={}, names=NameContext("prod", "333333333333", "eu-west-2"),
            endpoint=RealtimeEndpoint(mode="realtime", instance_type="ml.c6i.large"),
            model_package_arn=PACKAGE, kms_key_arn=KEY, subnet_ids=[], security_group_ids=[],
            data_capture_bucket="capture",
        )  # fmt: skip


def test_the_remedy_manifest_rolls_prod_out_by_canary() -> None:
    endpoint = load_manifest(REMEDY).stacks.prod.endpoint
    assert isinstance(endpoint, RealtimeEndpoint)
    assert (endpoint.rollout.traffic, endpoint.rollout.step_percent) == ("canary", 10)
