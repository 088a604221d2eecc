"""The operations dashboard per use case and stage, under mocks: the body is valid JSON whose
widgets chart the resources the service really created, and the model-health metrics it shows
are the ones the monitoring publishes."""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

import pytest

from mlops.components.serving_dashboard import (
    DRIFT_METRIC,
    MODEL_HEALTH_NAMESPACE,
)
from mlops.testing.mocks import RecordingMocks, run

from .test_serving import HEALTH_METRICS, build

ROOT = Path(__file__).resolve().parents[2]


def _body(mocks: RecordingMocks) -> tuple[str, dict[str, Any]]:
    [dashboard] = mocks.of_type("aws:cloudwatch/dashboard:Dashboard")
    return dashboard.inputs["dashboardName"], json.loads(dashboard.inputs["dashboardBody"])


def _widgets(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {w["properties"].get("title", w["type"]): w for w in body["widgets"]}


def _metric_names(widget: dict[str, Any]) -> list[str]:
    return [m[1] for m in widget["properties"]["metrics"] if isinstance(m[0], str)]


@pytest.mark.parametrize("stack_config", ["prod"], indirect=True)
def test_the_prod_dashboard_charts_what_the_service_created(pulumi_mocks, stack_config) -> None:
    run(lambda: build(stack_config, True))
    name, body = _body(pulumi_mocks)
    assert name == "mlops-prod-remedy-operations"
    widgets = _widgets(body)
    assert list(widgets) == [
        "text", "Decision API latency", "Model latency", "Errors", "Decision mix (per hour)",
        "Investigate share (hourly)", "Drift: PSI per feature (monthly job)",
        "Model quality vs recorded outcomes", "Model Monitor: baseline drift",
        "Rollout guards (an alarm rolls a rollout back)",
        "Endpoint invocations (rollouts: both fleets serve)",
    ]  # fmt: skip
    for w in body["widgets"]:  # within the 24-column grid
        assert w["x"] >= 0 and w["x"] + w["width"] <= 24, w
    [api] = pulumi_mocks.of_type("aws:apigateway/restApi:RestApi")
    [endpoint] = pulumi_mocks.of_type("aws:sagemaker/endpoint:Endpoint")
    latency = widgets["Decision API latency"]["properties"]["metrics"]
    assert {tuple(m[2:6]) for m in latency} == {("ApiName", api.inputs["name"], "Stage", "v1")}
    assert widgets["Model latency"]["properties"]["metrics"][0][3] == endpoint.inputs["name"]
    functions = {f.inputs["name"] for f in pulumi_mocks.of_type("aws:lambda/function:Function")}
    errors = widgets["Errors"]["properties"]["metrics"]
    assert {m[3] for m in errors if m[1] == "Errors"} == functions
    assert "Invocation5XXErrors" in _metric_names(widgets["Errors"])
    # the rollout guards are exactly the alarms the endpoint's guardrails name
    rollback = endpoint.inputs["deploymentConfig"]["autoRollbackConfiguration"]["alarms"]
    alarms = {a.inputs["name"]: a for a in pulumi_mocks.of_type(
        "aws:cloudwatch/metricAlarm:MetricAlarm")}  # fmt: skip
    guards = widgets["Rollout guards (an alarm rolls a rollout back)"]["properties"]["alarms"]
    assert [g.rsplit(":", 1)[-1] for g in guards] == [a["alarmName"] for a in rollback]
    assert all(a["alarmName"] in alarms for a in rollback)
    # decision mix: a SEARCH over the metric the decide log group's filter really publishes
    mix = pulumi_mocks.of_type("aws:cloudwatch/logMetricFilter:LogMetricFilter")
    [mix_filter] = [f for f in mix if f.name.endswith("-metric-decision-mix")]
    transformation = mix_filter.inputs["metricTransformation"]
    expression = widgets["Decision mix (per hour)"]["properties"]["metrics"][0][0]["expression"]
    assert transformation["dimensions"] == {"Recommendation": "$.recommendation"}
    assert f"{{{transformation['namespace']},Recommendation}}" in expression
    assert f'MetricName="{transformation["name"]}"' in expression
    drift = widgets["Drift: PSI per feature (monthly job)"]["properties"]["metrics"][0][0]
    assert 'UseCase="remedy" Stage="prod"' in drift["expression"]


@pytest.mark.parametrize("stack_config", ["dev"], indirect=True)
def test_a_serverless_stage_without_a_model_has_no_endpoint_or_rollout_widgets(
    pulumi_mocks, stack_config
) -> None:
    run(lambda: build(stack_config, False))
    name, body = _body(pulumi_mocks)
    assert name == "mlops-dev-remedy-operations"
    titles = set(_widgets(body))
    assert not {t for t in titles if "Model latency" in t or "Rollout" in t or "Endpoint" in t}
    assert "Decision mix (per hour)" in titles


@pytest.mark.parametrize("stack_config", ["staging"], indirect=True)
def test_a_serverless_endpoint_shows_no_rollout_guards(pulumi_mocks, stack_config) -> None:
    run(lambda: build(stack_config, True))
    titles = set(_widgets(_body(pulumi_mocks)[1]))
    assert "Model latency" in titles
    assert "Rollout guards (an alarm rolls a rollout back)" not in titles


def _constant(path: Path, name: str) -> Any:
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == name for t in node.targets
        ):
            return ast.literal_eval(node.value)
    raise AssertionError(f"{name} not in {path}")


def test_the_model_health_widgets_read_what_the_monitoring_publishes() -> None:
    """The Remedy health job (templates/remedy) publishes these names; a rename there must
    change the dashboard too."""
    health = ROOT / "templates/remedy/inference/src/remedy_inference/health.py"
    monitoring = ROOT / "templates/remedy/core/remedy_core/monitoring.py"
    assert _constant(health, "NAMESPACE") == MODEL_HEALTH_NAMESPACE
    published = _constant(monitoring, "METRICS")
    assert published["psi"] == DRIFT_METRIC
    infra = ROOT / "templates/remedy/inference/src/remedy_inference/infra.py"
    charted = _constant(infra, "HEALTH_METRICS")
    assert set(charted) == {v for k, v in published.items() if k != "psi"}
    assert tuple(charted) == HEALTH_METRICS  # what the service tests build with


@pytest.mark.parametrize("stack_config", ["prod"], indirect=True)
def test_the_platform_charts_no_use_case_quality_metrics_by_default(
    pulumi_mocks, stack_config
) -> None:
    run(lambda: build(stack_config, True, health_metrics=()))
    _, body = _body(pulumi_mocks)
    widgets = _widgets(body)
    assert "Drift: PSI per feature (monthly job)" in widgets
    assert "Model quality vs recorded outcomes" not in widgets
