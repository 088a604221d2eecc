"""One pricing function per billable resource type: resources + context -> line items.

Each function reads only the resources' own inputs (camelCase, as recorded under the mocks), the
price table and the usage assumptions, and says in `assumption` what it multiplied.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from mlops.cost.model import Context, LineItem
from mlops.testing.mocks import RecordedResource

Pricer = Callable[[Sequence[RecordedResource], Context], list[LineItem]]
PRICERS: dict[str, Pricer] = {}
GB_PER_KB = 1 / (1024 * 1024)

ENDPOINT = "aws:sagemaker/endpoint:Endpoint"
ENDPOINT_CONFIG = "aws:sagemaker/endpointConfiguration:EndpointConfiguration"
SCALING_TARGET = "aws:appautoscaling/target:Target"


def prices(*types: str) -> Callable[[Pricer], Pricer]:
    def register(fn: Pricer) -> Pricer:
        for typ in types:
            PRICERS[typ] = fn
        return fn

    return register


def physical(r: RecordedResource) -> str:
    """The AWS name a resource gets: its `name` input, else the name the mocks computed."""
    return str(r.inputs.get("name") or r.state.get("name") or r.name)


def _n(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:,.3g}"


# --- SageMaker endpoints ------------------------------------------------------------------------
@dataclass(frozen=True)
class EndpointSpec:
    """What one production variant costs depends on these fields only."""

    label: str
    mode: str  # "serverless" | "realtime"
    instance_type: str = ""
    instances: int = 1
    memory_mb: int = 2048
    source: str = ""


def apply_mode_override(spec: EndpointSpec, ctx: Context) -> EndpointSpec:
    u = ctx.usage
    if u.endpoint_mode is None or u.endpoint_mode == spec.mode:
        return spec
    if u.endpoint_mode == "serverless":
        return replace(
            spec, mode="serverless", memory_mb=u.override_serverless_memory_mb,
            source=f"{spec.source}; forced serverless",
        )  # fmt: skip
    return replace(
        spec, mode="realtime", instance_type=u.override_realtime_instance_type,
        instances=u.override_realtime_instances, source=f"{spec.source}; forced real-time",
    )  # fmt: skip


def endpoint_items(spec: EndpointSpec, ctx: Context) -> list[LineItem]:
    """Compute (instance-hours or serverless seconds) plus data processed, for one variant."""
    spec = apply_mode_override(spec, ctx)
    u, p = ctx.usage, ctx.prices
    invocations = u.requests_per_month
    items: list[LineItem] = []
    if spec.mode == "realtime":
        rate = p.table("sagemaker.hosting_instance_hour").get(spec.instance_type)
        if rate is None:
            ctx.flag(ENDPOINT, f"instance type {spec.instance_type} not in the price table")
            return []
        hours = spec.instances * ctx.hours
        items.append(LineItem(
            ENDPOINT, f"{spec.label}: real-time {spec.instance_type} x {spec.instances}",
            1, "instance-hours", hours, hours * rate,
            f"{spec.instances} instance(s) always on x {ctx.hours:g} h at ${rate}/h"
            f" ({spec.source})", endpoint=True,
        ))  # fmt: skip
    else:
        rate = p.table("sagemaker.serverless_second_by_memory_mb").get(str(spec.memory_mb))
        if rate is None:
            ctx.flag(ENDPOINT, f"serverless memory {spec.memory_mb} MB not in the price table")
            return []
        seconds = invocations * u.serverless_inference_ms / 1000
        items.append(LineItem(
            ENDPOINT, f"{spec.label}: serverless {spec.memory_mb} MB", 1,
            "compute-seconds", seconds, seconds * rate,
            f"{_n(invocations)} invocations x {u.serverless_inference_ms:g} ms at "
            f"{spec.memory_mb} MB (${rate}/s) ({spec.source})", endpoint=True,
        ))  # fmt: skip
    gb = invocations * (u.payload_kb + u.response_kb) * GB_PER_KB
    items.append(LineItem(
        ENDPOINT, f"{spec.label}: data processed", 1, "GB", gb,
        gb * p.get("sagemaker.data_processed_gb"),
        f"{_n(invocations)} x ({u.payload_kb:g} KB in + {u.response_kb:g} KB out)", endpoint=True,
    ))  # fmt: skip
    return items


def variant_spec(label: str, variant: dict[str, Any], min_capacity: Any, src: str) -> EndpointSpec:
    serverless = variant.get("serverlessConfig")
    if serverless:
        return EndpointSpec(
            label, "serverless", memory_mb=int(serverless.get("memorySizeInMb") or 2048),
            source=src,
        )  # fmt: skip
    count = int(min_capacity if min_capacity is not None else variant.get("initialInstanceCount")
                or 1)  # fmt: skip
    origin = "autoscaling minCapacity" if min_capacity is not None else "initialInstanceCount"
    return EndpointSpec(
        label, "realtime", instance_type=str(variant.get("instanceType") or ""), instances=count,
        source=f"{src}, count from {origin}",
    )  # fmt: skip


@prices(ENDPOINT)
def _endpoints(resources: Sequence[RecordedResource], ctx: Context) -> list[LineItem]:
    configs = {physical(c): c for c in ctx.of_type(ENDPOINT_CONFIG)}
    targets = {
        str(t.inputs.get("resourceId")): t.inputs.get("minCapacity")
        for t in ctx.of_type(SCALING_TARGET)
        if t.inputs.get("serviceNamespace") == "sagemaker"
    }
    items: list[LineItem] = []
    for ep in resources:
        name = physical(ep)
        config = configs.get(str(ep.inputs.get("endpointConfigName")))
        if config is None and len(configs) == 1:
            config = next(iter(configs.values()))
        if config is None:
            ctx.flag(ENDPOINT, f"{name}: its endpoint configuration is not in the program")
            continue
        for variant in config.inputs.get("productionVariants") or []:
            vname = variant.get("variantName") or "AllTraffic"
            minimum = targets.get(f"endpoint/{name}/variant/{vname}")
            items += endpoint_items(variant_spec(name, variant, minimum, "program"), ctx)
    return items


# --- compute ----------------------------------------------------------------------------------
@prices("aws:lambda/function:Function")
def _lambda(resources: Sequence[RecordedResource], ctx: Context) -> list[LineItem]:
    u, p = ctx.usage, ctx.prices
    groups = Counter(
        (int(r.inputs.get("memorySize") or 128), (r.inputs.get("architectures") or ["x86_64"])[0])
        for r in resources
    )
    items = []
    for (memory, arch), count in sorted(groups.items()):
        calls = count * u.requests_per_month * u.lambda_invocations_per_request
        gb_s = calls * u.lambda_ms / 1000 * memory / 1024
        gb_rate = p.get(f"lambda.gb_second_{arch}")
        cost = calls / 1e6 * p.get("lambda.requests_per_million") + gb_s * gb_rate
        items.append(LineItem(
            "aws:lambda/function:Function", f"{count} function(s), {memory} MB {arch}", count,
            "invocations", calls, cost,
            f"{u.lambda_invocations_per_request:g} call/request/function x {u.lambda_ms:g} ms "
            f"({_n(gb_s)} GB-s)",
        ))  # fmt: skip
    return items


@prices("aws:sfn/stateMachine:StateMachine")
def _state_machines(resources: Sequence[RecordedResource], ctx: Context) -> list[LineItem]:
    u, p = ctx.usage, ctx.prices
    express = [r for r in resources if str(r.inputs.get("type", "STANDARD")).upper() == "EXPRESS"]
    standard = [r for r in resources if r not in express]
    items = []
    if express:
        runs = len(express) * u.requests_per_month * u.sfn_executions_per_request
        memory = p.get("stepfunctions.express_memory_increment_mb")
        gb_s = runs * u.sfn_duration_ms / 1000 * memory / 1024
        cost = runs / 1e6 * p.get("stepfunctions.express_requests_per_million") + gb_s * p.get(
            "stepfunctions.express_gb_second"
        )
        items.append(LineItem(
            "aws:sfn/stateMachine:StateMachine", "Express workflows", len(express),
            "executions", runs, cost,
            f"{u.sfn_executions_per_request:g}/request each, {u.sfn_duration_ms:g} ms at "
            f"{memory:g} MB billing increment",
        ))  # fmt: skip
    if standard:
        transitions = len(standard) * u.pipeline_runs * u.sfn_standard_transitions
        items.append(LineItem(
            "aws:sfn/stateMachine:StateMachine", "Standard workflows", len(standard),
            "state transitions", transitions,
            transitions / 1000 * p.get("stepfunctions.standard_transitions_per_thousand"),
            f"{u.pipeline_runs:g} runs x {u.sfn_standard_transitions:g} transitions each",
        ))  # fmt: skip
    return items


@prices("aws:apigateway/restApi:RestApi", "aws:apigatewayv2/api:Api")
def _apis(resources: Sequence[RecordedResource], ctx: Context) -> list[LineItem]:
    u, p = ctx.usage, ctx.prices
    items = []
    for r in resources:
        protocol = "REST" if r.type.startswith("aws:apigateway/") else r.inputs.get("protocolType")
        if protocol not in ("REST", "HTTP"):
            ctx.flag(r.type, f"{physical(r)}: {protocol} APIs are not priced")
            continue
        calls = u.requests_per_month * u.api_calls_per_request
        rate = p.get(f"apigateway.{protocol.lower()}_requests_per_million")
        items.append(LineItem(
            r.type, f"{physical(r)} ({protocol} API)", 1, "requests", calls, calls / 1e6 * rate,
            f"{u.api_calls_per_request:g} call/request at ${rate}/million",
        ))  # fmt: skip
    return items


# --- analytics --------------------------------------------------------------------------------
@prices("aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream")
def _firehose(resources: Sequence[RecordedResource], ctx: Context) -> list[LineItem]:
    u, p = ctx.usage, ctx.prices
    step = p.get("firehose.record_increment_kb")
    billed_kb = math.ceil(u.payload_kb / step) * step
    items = []
    for r in resources:
        records = u.requests_per_month * u.events_per_request
        gb = records * billed_kb * GB_PER_KB
        cost = gb * p.get("firehose.ingest_gb")
        s3 = r.inputs.get("extendedS3Configuration") or {}
        conversion = s3.get("dataFormatConversionConfiguration") or {}
        note = ""
        if conversion and conversion.get("enabled", True):
            cost += gb * p.get("firehose.format_conversion_gb")
            note = " + format conversion"
        if (s3.get("dynamicPartitioningConfiguration") or {}).get("enabled"):
            # one object per buffering interval per active partition (one partition assumed)
            objects = ctx.hours * 3600 / float(s3.get("bufferingInterval") or 300)
            cost += gb * p.get("firehose.dynamic_partitioning_gb") + objects / 1000 * p.get(
                "firehose.dynamic_partitioning_per_1000_objects"
            )
            note += f" + dynamic partitioning ({objects:,.0f} objects)"
        items.append(LineItem(
            r.type, physical(r), 1, "GB ingested", gb, cost,
            f"{u.events_per_request:g} records/request of <= {u.payload_kb:g} KB, billed in "
            f"{step:g} KB increments{note}",
        ))  # fmt: skip
    return items


def runs_per_month(expression: str, ctx: Context) -> float:
    """Runs a month of a SageMaker schedule: hourly cron / rate(N hours), else daily."""
    expr = expression.replace(" ", "")
    if expr.startswith("cron(0*") or expr in ("rate(1hour)", "rate(60minutes)"):
        return ctx.hours
    if expr.startswith("rate(") and "hours" in expr:
        return ctx.hours / float(expr[5:].split("hours")[0])
    return ctx.usage.days_per_month


@prices("aws:sagemaker/monitoringSchedule:MonitoringSchedule")
def _monitoring(resources: Sequence[RecordedResource], ctx: Context) -> list[LineItem]:
    """Each scheduled run is a processing job on the job definition's cluster."""
    u = ctx.usage
    definitions = {
        physical(d): d for d in ctx.resources if d.type.startswith("aws:sagemaker/")
        and d.type.endswith("JobDefinition")
    }  # fmt: skip
    rates = ctx.prices.table("sagemaker.processing_instance_hour")
    items = []
    for r in resources:
        config = r.inputs.get("monitoringScheduleConfig") or {}
        definition = definitions.get(str(config.get("monitoringJobDefinitionName")))
        cluster = {}
        if definition is not None:
            resources_key = next((k for k in definition.inputs if k.endswith("obResources")), "")
            cluster = (definition.inputs.get(resources_key) or {}).get("clusterConfig") or {}
        instance = str(cluster.get("instanceType") or "")
        rate = rates.get(instance)
        if rate is None:
            ctx.flag(r.type, f"{physical(r)}: job instance {instance or '?'} not priced")
            continue
        count = int(cluster.get("instanceCount") or 1)
        expression = str((config.get("scheduleConfig") or {}).get("scheduleExpression") or "")
        runs = runs_per_month(expression, ctx)
        hours = runs * count * u.monitoring_job_hours
        items.append(LineItem(
            r.type, f"{physical(r)}: {config.get('monitoringType', 'monitoring')} on {instance}",
            1, "instance-hours", hours, hours * rate,
            f"{runs:,.0f} runs ({expression or 'daily'}) x {count} x {u.monitoring_job_hours:g} h",
        ))  # fmt: skip
    return items
