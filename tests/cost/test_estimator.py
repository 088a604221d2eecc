"""The estimator on hand-built resources, with expectations computed by hand.

Prices and usage come from tests/cost/factories.py: 100 hours and 1,000 requests a month.
"""

from __future__ import annotations

import pytest

from mlops.cost.estimator import classify, estimate, unclassified_types
from mlops.cost.model import Estimate
from mlops.usecases import load_manifests

from .factories import price_table, res, usage

KB = 1 / (1024 * 1024)  # GB per KB
ENDPOINT = "aws:sagemaker/endpoint:Endpoint"
CONFIG = "aws:sagemaker/endpointConfiguration:EndpointConfiguration"
TARGET = "aws:appautoscaling/target:Target"


def run(resources, **usage_changes) -> Estimate:
    return estimate("dev", resources, price_table(), usage(**usage_changes), az_count=2)


def cost_of(e: Estimate, what_contains: str) -> float:
    matches = [i for i in e.items if what_contains in i.what]
    assert matches, f"no line item containing {what_contains!r}: {[i.what for i in e.items]}"
    return sum(i.monthly for i in matches)


def realtime_endpoint(min_capacity: int | None = 3, instance: str = "ml.c6i.large"):
    resources = [
        res(ENDPOINT, "ep", name="remedy-ep", endpointConfigName="remedy-cfg"),
        res(CONFIG, "cfg", name="remedy-cfg", productionVariants=[
            {"variantName": "AllTraffic", "instanceType": instance, "initialInstanceCount": 1}
        ]),
    ]  # fmt: skip
    if min_capacity is not None:
        resources.append(res(TARGET, "scaling", serviceNamespace="sagemaker",
                             resourceId="endpoint/remedy-ep/variant/AllTraffic",
                             minCapacity=min_capacity))  # fmt: skip
    return resources


def serverless_endpoint(memory: int = 2048):
    return [
        res(ENDPOINT, "ep", name="remedy-ep", endpointConfigName="remedy-cfg"),
        res(CONFIG, "cfg", name="remedy-cfg", productionVariants=[
            {"variantName": "AllTraffic", "serverlessConfig": {"memorySizeInMb": memory,
                                                               "maxConcurrency": 5}}
        ]),
    ]  # fmt: skip


def test_realtime_endpoint_uses_autoscaling_minimum_times_hours() -> None:
    e = run(realtime_endpoint(min_capacity=3))
    # 3 instances x 100 h x $0.5; data: 1,000 x (4 + 1) KB x $1/GB
    assert cost_of(e, "real-time ml.c6i.large x 3") == pytest.approx(150.0)
    assert cost_of(e, "data processed") == pytest.approx(1000 * 5 * KB)
    assert e.endpoint_total == pytest.approx(150.0 + 1000 * 5 * KB)
    assert e.free[CONFIG][0] == 1 and e.free[TARGET][0] == 1


def test_realtime_endpoint_without_autoscaling_uses_initial_count() -> None:
    e = run(realtime_endpoint(min_capacity=None))
    assert cost_of(e, "real-time ml.c6i.large x 1") == pytest.approx(50.0)


def test_serverless_endpoint_is_priced_by_compute_seconds() -> None:
    e = run(serverless_endpoint(), serverless_inference_ms=150)
    # 1,000 invocations x 0.15 s x $0.001/s at 2048 MB
    assert cost_of(e, "serverless 2048 MB") == pytest.approx(0.15)


def test_payload_size_changes_data_processed() -> None:
    e = run(serverless_endpoint(), payload_kb=99)
    assert cost_of(e, "data processed") == pytest.approx(1000 * 100 * KB)


@pytest.mark.parametrize(
    ("resources", "mode", "expected"),
    [
        (serverless_endpoint(), "realtime", 2 * 100 * 0.5),  # 2 x ml.c6i.large x 100 h
        (realtime_endpoint(3), "serverless", 1000 * 0.15 * 0.001),  # 2048 MB default
    ],
)
def test_endpoint_mode_override_reprices_every_endpoint(resources, mode, expected) -> None:
    e = run(resources, endpoint_mode=mode, override_realtime_instances=2)
    compute = [i for i in e.items if i.endpoint and "data processed" not in i.what]
    assert len(compute) == 1
    assert compute[0].monthly == pytest.approx(expected)
    assert "forced" in compute[0].assumption


def test_unknown_instance_type_is_flagged_not_silently_zero() -> None:
    e = run(realtime_endpoint(instance="ml.x99.huge"))
    assert ENDPOINT in e.unpriced
    assert "ml.x99.huge" in e.unpriced[ENDPOINT][1]
    assert e.endpoint_total == 0


def test_lambda_requests_and_gb_seconds() -> None:
    fns = [res("aws:lambda/function:Function", f"fn{i}", memorySize=512) for i in range(2)]
    e = run(fns, lambda_ms=200)
    # 2 functions x 1,000 calls = 2,000 calls: $0.002 requests + 2,000 x 0.2 s x 0.5 GB x $0.01
    assert cost_of(e, "512 MB x86_64") == pytest.approx(0.002 + 2.0)


def test_express_state_machine() -> None:
    sm = res("aws:sfn/stateMachine:StateMachine", "decide", type="EXPRESS")
    e = run([sm], sfn_duration_ms=1000)
    # 1,000 runs: $2/M -> 0.002; 1,000 x 1 s x 64/1024 GB x $0.01 = 0.625
    assert cost_of(e, "Express") == pytest.approx(0.002 + 0.625)


def test_rest_api_requests() -> None:
    e = run([res("aws:apigateway/restApi:RestApi", "api", name="decisions")])
    assert cost_of(e, "decisions") == pytest.approx(1000 / 1e6 * 4.0)


def test_firehose_bills_5kb_increments() -> None:
    stream = res("aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream", "events")
    e = run([stream], events_per_request=3, payload_kb=4)
    # 3,000 records, each rounded up to 5 KB, x $10/GB
    assert cost_of(e, "events") == pytest.approx(3000 * 5 * KB * 10)


def test_firehose_dynamic_partitioning_adds_per_gb_and_per_object() -> None:
    stream = res(
        "aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream",
        "events",
        extendedS3Configuration={
            "bufferingInterval": 360,
            "dynamicPartitioningConfiguration": {"enabled": True},
        },
    )
    e = run([stream], events_per_request=3, payload_kb=4)
    gb = 3000 * 5 * KB
    # ingest $10/GB + partitioning $2/GB + (100 h x 3600 s / 360 s = 1,000 objects) x $0.5/1000
    assert cost_of(e, "events") == pytest.approx(gb * 10 + gb * 2 + 0.5)  # fmt: skip


def test_buckets_and_keys() -> None:
    resources = [res("aws:s3/bucket:Bucket", f"b{i}") for i in range(2)] + [
        res("aws:kms/key:Key", f"k{i}") for i in range(3)
    ]
    e = run(resources, s3_gb_per_bucket=100, s3_puts_per_bucket=1000, s3_gets_per_bucket=10_000,
            kms_requests_per_key=10_000)  # fmt: skip
    assert cost_of(e, "S3 Standard storage") == pytest.approx(2 * 100 * 0.1)
    assert cost_of(e, "bucket(s): requests") == pytest.approx(2 * (0.01 + 0.01))
    assert cost_of(e, "customer-managed key") == pytest.approx(3.0)
    assert cost_of(e, "key(s): API requests") == pytest.approx(3 * 0.03)


def test_interface_endpoints_per_az_and_gateway_free() -> None:
    vpce = "aws:ec2/vpcEndpoint:VpcEndpoint"
    resources = [
        res(vpce, "sm-api", vpcEndpointType="Interface", subnetIds=["a", "b", "c"]),
        res(vpce, "sts", vpcEndpointType="Interface"),  # no subnets recorded: az_count (2)
        res(vpce, "s3", vpcEndpointType="Gateway"),
    ]
    e = run(resources, endpoint_gb_per_month=10)
    # (3 + 2) AZ x 100 h x $0.01 + 2 x 10 GB x $0.01
    assert cost_of(e, "interface endpoint") == pytest.approx(5.0 + 0.2)
    assert cost_of(e, "gateway endpoint") == 0


def test_nat_gateway() -> None:
    e = run([res("aws:ec2/natGateway:NatGateway", "nat")], nat_gb_per_month=100)
    assert cost_of(e, "NAT") == pytest.approx(100 * 0.05 + 100 * 0.05)


def test_cloudtrail_first_trail_free_data_events_priced() -> None:
    trail = "aws:cloudtrail/trail:Trail"
    e = run([
        res(trail, "audit", name="audit", eventSelectors=[{"dataResources": [{"type": "x"}]}]),
        res(trail, "second", name="second"),
    ], cloudtrail_data_events=1_000_000, management_events=500_000)  # fmt: skip
    assert cost_of(e, "audit") == pytest.approx(10 * 0.1)  # 1M data events
    assert cost_of(e, "second") == pytest.approx(5 * 2.0)  # extra management copy


def test_guardduty_and_config() -> None:
    e = run([
        res("aws:guardduty/detector:Detector", "gd", name="gd"),
        res("aws:cfg/recorder:Recorder", "rec"),
        res("aws:cfg/rule:Rule", "r1"), res("aws:cfg/rule:Rule", "r2"),
    ], management_events=1_000_000, guardduty_flow_dns_gb=10, config_items=1000,
       config_evaluations_per_rule=100)  # fmt: skip
    assert cost_of(e, "gd") == pytest.approx(4.0 + 10.0)
    assert cost_of(e, "configuration recorder") == pytest.approx(3.0)
    assert cost_of(e, "rule(s)") == pytest.approx(2 * 100 * 0.001)


def test_log_groups_grouped_by_retention() -> None:
    lg = "aws:cloudwatch/logGroup:LogGroup"
    e = run([res(lg, "a", retentionInDays=30), res(lg, "b", retentionInDays=30)],
            log_gb_per_group=2, days_per_month=30)  # fmt: skip
    # ingest 4 GB x $0.5; steady state 1 month stored x $0.03 ($0.12); 3,000 requests don't matter
    assert cost_of(e, "30 days retention") == pytest.approx(4 * 0.5 + 4 * 0.03)


def test_codepipeline_v2_and_codebuild() -> None:
    e = run([
        res("aws:codepipeline/pipeline:Pipeline", "p", pipelineType="V2"),
        res("aws:codebuild/project:Project", "b", environment={"computeType":
                                                               "BUILD_GENERAL1_SMALL"}),
    ], pipeline_runs=10, pipeline_action_minutes=30, build_minutes=6)  # fmt: skip
    assert cost_of(e, "V2 pipeline") == pytest.approx(300 * 0.002)
    assert cost_of(e, "BUILD_GENERAL1_SMALL") == pytest.approx(60 * 0.005)


def test_free_external_ignored_and_unknown_types_are_reported() -> None:
    resources = [
        res("aws:iam/role:Role", "role"),
        res("aws:iam/role:Role", "role2"),
        res("snowflake:index/database:Database", "db"),
        res("pulumi:providers:aws", "aws"),
        res("mlops:serving:Thing", "component", custom=False),
        res("aws:quantum/computer:Computer", "q"),
    ]
    e = run(resources)
    assert e.free["aws:iam/role:Role"][0] == 2
    assert "snowflake:index/database:Database" in e.external
    assert e.unpriced["aws:quantum/computer:Computer"][0] == 1
    assert unclassified_types(resources) == ["aws:quantum/computer:Computer"]
    assert classify("pulumi:providers:aws") == "ignored"
    assert e.items == [] and e.total == 0
    assert e.resource_count == 4  # providers and components are not cloud resources


def test_total_is_the_sum_of_items_and_json_round_trips() -> None:
    e = run([*realtime_endpoint(), res("aws:kms/key:Key", "k")])
    assert e.total == pytest.approx(sum(i.monthly for i in e.items))
    doc = e.to_json()
    assert doc["monthly_total"] == round(e.total, 2)
    assert doc["prices_as_of"] == "2026-01-01"
    assert doc["assumptions"]["requests_per_day"] == 100


def test_usecase_manifest_endpoint_and_training() -> None:
    manifests = [m for m in load_manifests() if m.name == "remedy"]
    prod = estimate("prod", [], price_table(), usage(), environment="prod", manifests=manifests)
    # usecases/remedy.yaml prod: real-time ml.c6i.large, min_instances 2 -> 2 x 100 h x $0.5
    assert cost_of(prod, "remedy: real-time ml.c6i.large x 2") == pytest.approx(100.0)
    dev = estimate("dev", [], price_table(), usage(training_runs=4, tuning_runs=1,
                   training_job_hours=0.5), environment="dev", manifests=manifests)  # fmt: skip
    # dev: serverless 2048 MB; training: (4 + 1 x 100 trials) x 0.5 h x $2 (ml.m5.xlarge)
    assert cost_of(dev, "remedy: serverless 2048 MB") == pytest.approx(0.15)
    assert cost_of(dev, "remedy: ml.m5.xlarge") == pytest.approx(104 * 0.5 * 2.0)


def test_usecase_endpoint_not_double_counted_when_the_program_creates_it() -> None:
    manifests = [m for m in load_manifests() if m.name == "remedy"]
    e = estimate("prod", realtime_endpoint(3), price_table(), usage(), environment="prod",
                 manifests=manifests)  # fmt: skip
    compute = [i for i in e.items if i.endpoint and "data processed" not in i.what]
    assert [i.what for i in compute] == ["remedy-ep: real-time ml.c6i.large x 3"]


def test_model_monitor_schedule_runs_processing_jobs() -> None:
    job = "aws:sagemaker/dataQualityJobDefinition:DataQualityJobDefinition"
    schedule = "aws:sagemaker/monitoringSchedule:MonitoringSchedule"
    resources = [
        res(job, "job", name="dq", jobResources={"clusterConfig": {
            "instanceType": "ml.m5.large", "instanceCount": 1}}),
        res(schedule, "hourly", name="hourly", monitoringScheduleConfig={
            "monitoringJobDefinitionName": "dq", "monitoringType": "DataQuality",
            "scheduleConfig": {"scheduleExpression": "cron(0 * ? * * *)"}}),
        res(schedule, "daily", name="daily", monitoringScheduleConfig={
            "monitoringJobDefinitionName": "dq",
            "scheduleConfig": {"scheduleExpression": "cron(0 3 ? * * *)"}}),
    ]  # fmt: skip
    e = run(resources, monitoring_job_hours=0.1, days_per_month=10)
    # hourly: 100 runs x 0.1 h x $1 (ml.m5.large processing); daily: 10 runs x 0.1 h x $1
    assert cost_of(e, "hourly") == pytest.approx(10.0)
    assert cost_of(e, "daily") == pytest.approx(1.0)
    assert e.free[job][0] == 1
