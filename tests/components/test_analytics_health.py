"""ModelHealthAlarms under Pulumi mocks: a KMS-encrypted topic notifying the use case's leads,
an alarm per quality check and per input, and the optional retrain rule (manifest switch)."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from mlops.components.analytics_health import (
    NAMESPACE,
    HealthCheck,
    ModelHealthAlarms,
    ModelHealthAlarmsArgs,
    alarm_pattern,
    retrain_policy,
)
from mlops.naming import NameContext
from mlops.testing.mocks import run

KEY = "arn:aws:kms:eu-west-2:111111111111:key/health"
CTX = NameContext(environment="prod", account_id="111111111111", region="eu-west-2")
PIPELINE = "arn:aws:sagemaker:eu-west-2:111111111111:pipeline/mlops-prod-remedy-training"


INFRA = (
    Path(__file__).resolve().parents[2] / "templates/remedy/inference/src/remedy_inference/infra.py"
)


def _remedy(name: str) -> tuple:
    """A literal constant of Remedy's inference program (what it passes to the component)."""
    for node in ast.parse(INFRA.read_text()).body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == name for t in node.targets):
            return ast.literal_eval(node.value)
    raise AssertionError(f"{name} not in {INFRA}")


REMEDY_CHECKS = tuple(HealthCheck(*c) for c in _remedy("HEALTH_CHECKS"))
REMEDY_FEATURES = _remedy("HEALTH_FEATURES")


def _args(**kw) -> ModelHealthAlarmsArgs:
    kw = {"checks": REMEDY_CHECKS, "features": REMEDY_FEATURES, **kw}
    return ModelHealthAlarmsArgs(
        names=CTX, usecase="remedy", stage="prod", kms_key_arn=KEY,
        lead_emails=["ellen.ward@example.com"], tags={"owner": "ellen.ward@example.com"}, **kw,
    )  # fmt: skip


def test_the_platform_defaults_to_no_use_case_checks(pulumi_mocks):
    args = ModelHealthAlarmsArgs(
        names=CTX, usecase="remedy", stage="prod", kms_key_arn=KEY,
        lead_emails=["ellen.ward@example.com"], tags={},
    )  # fmt: skip
    assert (args.checks, args.features) == ((), ())
    run(lambda: ModelHealthAlarms("health", args))
    assert not pulumi_mocks.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")
    assert len(pulumi_mocks.of_type("aws:sns/topic:Topic")) == 1


def test_alarms_notify_the_lead_on_an_encrypted_topic(pulumi_mocks):
    run(lambda: ModelHealthAlarms("health", _args()))
    (topic,) = pulumi_mocks.of_type("aws:sns/topic:Topic")
    assert topic.inputs["kmsMasterKeyId"] == KEY
    assert topic.inputs["name"] == "mlops-prod-remedy-model-health"
    (sub,) = pulumi_mocks.of_type("aws:sns/topicSubscription:TopicSubscription")
    assert (sub.inputs["protocol"], sub.inputs["endpoint"]) == ("email", "ellen.ward@example.com")
    (policy,) = pulumi_mocks.of_type("aws:sns/topicPolicy:TopicPolicy")
    (statement,) = json.loads(policy.inputs["policy"])["Statement"]
    assert statement["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert statement["Condition"] == {"StringEquals": {"aws:SourceAccount": "111111111111"}}
    alarms = pulumi_mocks.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")
    assert len(alarms) == len(REMEDY_CHECKS) + len(REMEDY_FEATURES)
    by_metric: dict[str, list] = {}
    for alarm in alarms:
        assert alarm.inputs["namespace"] == NAMESPACE, alarm.name
        assert alarm.inputs["alarmActions"] == [topic.state["arn"]], alarm.name
        assert alarm.inputs["dimensions"]["UseCase"] == "remedy", alarm.name
        assert alarm.inputs["dimensions"]["Stage"] == "prod", alarm.name
        by_metric.setdefault(alarm.inputs["metricName"], []).append(alarm.inputs)
    coverage = {
        (a["comparisonOperator"], a["threshold"]) for a in by_metric["RepairCostIntervalCoverage"]
    }
    assert coverage == {("LessThanThreshold", 0.72), ("GreaterThanThreshold", 0.88)}
    drift = {a["dimensions"]["Feature"]: a["threshold"] for a in by_metric["FeaturePSI"]}
    assert drift == dict.fromkeys(REMEDY_FEATURES, 0.2)
    assert not pulumi_mocks.of_type("aws:cloudwatch/eventRule:EventRule")


def test_the_manifest_switch_starts_the_training_pipeline_on_an_alarm(pulumi_mocks):
    run(lambda: ModelHealthAlarms("health", _args(retrain_pipeline_arn=PIPELINE)))
    (rule,) = pulumi_mocks.of_type("aws:cloudwatch/eventRule:EventRule")
    pattern = json.loads(rule.inputs["eventPattern"])
    alarms = pulumi_mocks.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")
    assert sorted(pattern["resources"]) == sorted(a.state["arn"] for a in alarms)
    assert pattern["detail"] == {"state": {"value": ["ALARM"]}}
    (target,) = pulumi_mocks.of_type("aws:cloudwatch/eventTarget:EventTarget")
    assert target.inputs["arn"] == PIPELINE
    (role,) = pulumi_mocks.of_type("aws:iam/role:Role")
    assert target.inputs["roleArn"] == role.state["arn"]
    assert role.inputs["permissionsBoundary"].endswith(":policy/mlops-prod-remedy-boundary")
    trust = json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]
    assert trust["Principal"] == {"Service": "events.amazonaws.com"}
    (policy,) = pulumi_mocks.of_type("aws:iam/rolePolicy:RolePolicy")
    assert json.loads(policy.inputs["policy"]) == retrain_policy(PIPELINE)


def test_retrain_policy_starts_only_that_pipeline():
    (statement,) = retrain_policy(PIPELINE)["Statement"]
    assert statement["Action"] in ("sagemaker:StartPipelineExecution",
                                   ["sagemaker:StartPipelineExecution"])  # fmt: skip
    assert statement["Resource"] == PIPELINE
    assert alarm_pattern(["a"])["detail-type"] == ["CloudWatch Alarm State Change"]


@pytest.mark.parametrize(
    "kw, message",
    [
        ({"lead_emails": []}, "lead_emails: name the use case's lead"),
        ({"lead_emails": ["ellen"]}, "not e-mail addresses: \\['ellen'\\]"),
        ({"psi_threshold": 0}, "psi_threshold must be in"),
        ({"retrain_pipeline_arn": "training"}, "must be a SageMaker pipeline ARN"),
        ({"retrain_pipeline_arn": PIPELINE.replace("111111111111", "222222222222")},
         "retrain_on_breach: the training pipeline is in 222222222222"),
    ],
)  # fmt: skip
def test_bad_args_name_the_field_and_fix(kw, message):
    fields = {"names": CTX, "usecase": "remedy", "stage": "prod", "kms_key_arn": KEY, "tags": {},
              "lead_emails": ["ellen.ward@example.com"], **kw}  # fmt: skip
    with pytest.raises(ValueError, match=message):
        ModelHealthAlarmsArgs(**fields)
