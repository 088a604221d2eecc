"""The operations dashboard of a use case in one stage (CloudWatch), built with its decision
service (`InferenceService`): `mlops-<stage>-<usecase>-operations`.

Rows, top to bottom:

- latency: the decision API (p50/p99, API Gateway) and the model (p99 ``ModelLatency``);
- errors: API 4xx/5xx, the workflow's failed and timed-out executions, each function's errors,
  the endpoint's 4xx/5xx;
- decisions: the mix per recommendation (metric ``mlops/<usecase>`` ``DecisionsByRecommendation``,
  dimension ``Recommendation``, from the decide step's audit events) and the hourly investigate
  share (``Investigations / Decisions``) — for a use case that emits decision events;
- model health: what the monitoring publishes — per-feature drift ``FeaturePSI`` and the
  quality metrics the use case names (``health_metrics``; namespace ``mlops/model-health``,
  dimensions ``UseCase``, ``Stage``, ``Feature``), and on a real-time endpoint SageMaker Model
  Monitor's ``feature_baseline_drift_*`` (namespace ``aws/sagemaker/Endpoints/data-metrics``);
- rollouts: the state of the alarms that roll a rollout back, the endpoint's invocations (a
  blue/green shift shows as both fleets serving), and how to see rollbacks (the registry).

``dashboard_body`` is pure (unit-tested on the parsed JSON); ``operations_dashboard`` creates
the resource.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

MODEL_HEALTH_NAMESPACE = "mlops/model-health"
"""Where the model-health job publishes (dimensions UseCase, Stage[, Feature])."""
DRIFT_METRIC = "FeaturePSI"
MONITOR_NAMESPACE = "aws/sagemaker/Endpoints/data-metrics"
"""SageMaker Model Monitor's data-quality metrics (dimensions Endpoint, MonitoringSchedule)."""
DECISION_MIX_METRIC = "DecisionsByRecommendation"
WIDTH = 24


@dataclass(frozen=True, kw_only=True)
class DashboardInputs:
    """Plain values (resolved outputs) the body is built from."""

    usecase: str
    stage: str
    region: str
    api_name: str
    api_stage: str
    state_machine_arn: str
    function_names: Mapping[str, str]
    endpoint_name: str | None = None
    rollback_alarm_arns: Sequence[str] = ()
    decision_events: bool = False
    investigate_share: bool = False
    health_metrics: Sequence[str] = ()


def _metric_widget(
    title: str, metrics: list[list[Any]], x: int, y: int, w: int = 8, **props: Any
) -> dict[str, Any]:
    return {
        "type": "metric",
        "x": x,
        "y": y,
        "width": w,
        "height": 6,
        "properties": {"title": title, "view": "timeSeries", "metrics": metrics, **props},
    }


def dashboard_body(d: DashboardInputs) -> dict[str, Any]:
    """The dashboard's JSON body (CloudWatch dashboard body structure)."""
    region = {"region": d.region}
    api = ["ApiName", d.api_name, "Stage", d.api_stage]
    ep = ["EndpointName", d.endpoint_name, "VariantName", "AllTraffic"] if d.endpoint_name else []
    widgets: list[dict[str, Any]] = [
        {
            "type": "text", "x": 0, "y": 0, "width": WIDTH, "height": 2,
            "properties": {"markdown": (
                f"## {d.usecase} in {d.stage}\n"
                f"Rollbacks and who approved what: `mlops promotions {d.usecase}`; roll back "
                f"with `mlops rollback {d.usecase} --stage {d.stage} --reason \"...\"`."
            )},
        },
    ]  # fmt: skip
    # latency
    latency = [
        ["AWS/ApiGateway", "Latency", *api, {"stat": "p50", "label": "API p50 (ms)"}],
        ["AWS/ApiGateway", "Latency", *api, {"stat": "p99", "label": "API p99 (ms)"}],
    ]
    widgets.append(_metric_widget("Decision API latency", latency, 0, 2, 12, period=60, **region))
    if d.endpoint_name:
        model = [["AWS/SageMaker", "ModelLatency", *ep, {"stat": "p99", "label": "p99 (µs)"}]]
        widgets.append(_metric_widget("Model latency", model, 12, 2, 12, period=60, **region))
    # errors
    errors: list[list[Any]] = [
        ["AWS/ApiGateway", "5XXError", *api, {"stat": "Sum"}],
        ["AWS/ApiGateway", "4XXError", *api, {"stat": "Sum"}],
        ["AWS/States", "ExecutionsFailed", "StateMachineArn", d.state_machine_arn, {"stat": "Sum"}],
        ["AWS/States", "ExecutionsTimedOut", "StateMachineArn", d.state_machine_arn,
         {"stat": "Sum"}],
    ]  # fmt: skip
    errors += [
        ["AWS/Lambda", "Errors", "FunctionName", fn, {"stat": "Sum", "label": f"{role} errors"}]
        for role, fn in sorted(d.function_names.items())
    ]
    if d.endpoint_name:
        errors += [
            ["AWS/SageMaker", "Invocation5XXErrors", *ep, {"stat": "Sum"}],
            ["AWS/SageMaker", "Invocation4XXErrors", *ep, {"stat": "Sum"}],
        ]
    widgets.append(_metric_widget("Errors", errors, 0, 8, WIDTH, period=300, **region))
    # decisions
    y = 14
    if d.decision_events:
        mix = {
            "expression": (
                f"SEARCH('{{mlops/{d.usecase},Recommendation}} "
                f"MetricName=\"{DECISION_MIX_METRIC}\"', 'Sum', 3600)"
            ),
            "id": "mix",
            "label": "",
        }
        widgets.append(_metric_widget(
            "Decision mix (per hour)", [[mix]], 0, y, 12, stacked=True, **region
        ))  # fmt: skip
        if d.investigate_share:
            share = [
                [f"mlops/{d.usecase}", "Investigations", {"id": "inv", "stat": "Sum",
                                                          "visible": False}],
                [f"mlops/{d.usecase}", "Decisions", {"id": "all", "stat": "Sum",
                                                     "visible": False}],
                [{"expression": "IF(all > 0, inv / all, 0)", "id": "share",
                  "label": "investigate share"}],
            ]  # fmt: skip
            widgets.append(_metric_widget(
                "Investigate share (hourly)", share, 12, y, 12, period=3600,
                yAxis={"left": {"min": 0, "max": 1}}, **region,
            ))  # fmt: skip
        y += 6
    # model health (published by the monitoring)
    dims = f'UseCase="{d.usecase}" Stage="{d.stage}"'
    drift = {
        "expression": (
            f"SEARCH('{{{MODEL_HEALTH_NAMESPACE},UseCase,Stage,Feature}} "
            f"MetricName=\"{DRIFT_METRIC}\" {dims}', 'Maximum', 86400)"
        ),
        "id": "psi",
        "label": "",
    }
    widgets.append(_metric_widget("Drift: PSI per feature (monthly job)", [[drift]], 0, y, 12,
                                  annotations={"horizontal": [{"label": "drift", "value": 0.2}]},
                                  **region))  # fmt: skip
    quality = [
        [MODEL_HEALTH_NAMESPACE, m, "UseCase", d.usecase, "Stage", d.stage, {"stat": "Average"}]
        for m in d.health_metrics
    ]
    if quality:
        widgets.append(_metric_widget("Model quality vs recorded outcomes", quality, 12, y, 12,
                                      period=86400, **region))  # fmt: skip
    y += 6
    if d.endpoint_name:
        monitor = {
            "expression": (
                f"SEARCH('{{{MONITOR_NAMESPACE},Endpoint,MonitoringSchedule}} "
                f"Endpoint=\"{d.endpoint_name}\" feature_baseline_drift', 'Maximum', 3600)"
            ),
            "id": "monitor",
            "label": "",
        }
        widgets.append(_metric_widget("Model Monitor: baseline drift", [[monitor]], 0, y,
                                      WIDTH, **region))  # fmt: skip
        y += 6
    # rollouts
    if d.rollback_alarm_arns:
        widgets.append({
            "type": "alarm", "x": 0, "y": y, "width": 12, "height": 4,
            "properties": {"title": "Rollout guards (an alarm rolls a rollout back)",
                           "alarms": list(d.rollback_alarm_arns)},
        })  # fmt: skip
    if d.endpoint_name:
        invocations = [["AWS/SageMaker", "Invocations", *ep, {"stat": "Sum"}]]
        widgets.append(_metric_widget("Endpoint invocations (rollouts: both fleets serve)",
                                      invocations, 12, y, 12, period=60, **region))  # fmt: skip
    return {"widgets": widgets}


def dashboard_name(names: Any, usecase: str) -> str:
    from mlops.naming import usecase_name

    return usecase_name(names, usecase, "operations")


def operations_dashboard(
    name: str,
    *,
    names: Any,
    usecase: str,
    api_name: pulumi.Input[str],
    api_stage: pulumi.Input[str],
    state_machine_arn: pulumi.Input[str],
    function_names: Mapping[str, pulumi.Input[str]],
    endpoint_name: pulumi.Input[str] | None,
    rollback_alarm_arns: Sequence[pulumi.Input[str]],
    decision_events: bool,
    investigate_share: bool,
    health_metrics: Sequence[str] = (),
    opts: pulumi.ResourceOptions,
) -> aws.cloudwatch.Dashboard:
    roles = sorted(function_names)
    body = pulumi.Output.all(
        api=api_name,
        stage=api_stage,
        sm=state_machine_arn,
        fns=[function_names[r] for r in roles],
        ep=endpoint_name,
        alarms=list(rollback_alarm_arns),
    ).apply(
        lambda v: json.dumps(
            dashboard_body(
                DashboardInputs(
                    usecase=usecase, stage=names.environment, region=names.region,
                    api_name=v["api"], api_stage=v["stage"], state_machine_arn=v["sm"],
                    function_names=dict(zip(roles, v["fns"], strict=True)),
                    endpoint_name=v["ep"], rollback_alarm_arns=v["alarms"],
                    decision_events=decision_events, investigate_share=investigate_share,
                    health_metrics=tuple(health_metrics),
                )
            ),
            sort_keys=True,
        )
    )  # fmt: skip
    return aws.cloudwatch.Dashboard(
        name,
        dashboard_name=dashboard_name(names, usecase),
        dashboard_body=body,
        opts=opts,
    )
