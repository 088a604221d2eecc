"""DecisionAnalytics under Pulumi mocks: KMS everywhere, filter pattern, partitioning, error output,
optional transformation Lambda, optional Snowflake, model monitor."""

from __future__ import annotations

import json

import pytest
import sqlglot
from analytics.factories import REGISTRY

from mlops.analytics.views import load_views
from mlops.components.analytics import (
    DecisionAnalytics,
    DecisionAnalyticsArgs,
    firehose_policy,
)
from mlops.components.analytics_monitor import ModelMonitorArgs, model_monitor_image
from mlops.components.analytics_snowflake import SnowflakeArgs
from mlops.config import StackConfig
from mlops.naming import NameContext
from mlops.tags import base_tags
from mlops.testing.mocks import RecordedResource, RecordingMocks, run

KEY = "arn:aws:kms:eu-west-2:111111111111:key/analytics"
LOG_GROUP = "/mlops/dev/remedy/decisions"
FIREHOSE = "aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream"
TAGGABLE = (
    "aws:s3/bucket:Bucket",
    "aws:iam/role:Role",
    "aws:cloudwatch/logGroup:LogGroup",
    FIREHOSE,
    "aws:lambda/function:Function",
    "aws:cloudwatch/metricAlarm:MetricAlarm",
    "aws:sagemaker/monitoringSchedule:MonitoringSchedule",
)


def _args(cfg: StackConfig, **kw) -> DecisionAnalyticsArgs:
    ctx = NameContext(environment=cfg.environment, account_id=cfg.account_id, region=cfg.region)
    return DecisionAnalyticsArgs(
        names=ctx,
        usecase="remedy",
        events=REGISTRY,
        log_group_name=LOG_GROUP,
        kms_key_arn=KEY,
        access_logs_bucket="mlops-access-logs",
        tags=base_tags(cfg),
        log_retention_days=cfg.retention.log_days,
        **kw,
    )


def _snowflake() -> SnowflakeArgs:
    return SnowflakeArgs(
        database="MLOPS",
        aws_iam_user_arn="arn:aws:iam::999999999999:user/snowflake-abc",
        external_id="mlops-remedy-ext-id",
    )


def _monitoring(cfg: StackConfig) -> ModelMonitorArgs:
    ctx = NameContext(environment=cfg.environment, account_id=cfg.account_id, region=cfg.region)
    return ModelMonitorArgs(
        names=ctx,
        usecase="remedy",
        endpoint_name="mlops-dev-remedy",
        data_bucket_name="mlops-data",
        data_bucket_arn="arn:aws:s3:::mlops-data",
        kms_key_arn=KEY,
        subnet_ids=["subnet-1", "subnet-2"],
        security_group_ids=["sg-1"],
        tags=base_tags(cfg),
        features=("vehicle_age_years", "mileage", "delta_v_kph"),
        alarm_topic_arns=["arn:aws:sns:eu-west-2:111111111111:alerts"],
    )


def _build(mocks: RecordingMocks, args: DecisionAnalyticsArgs) -> RecordedResource:
    run(lambda: DecisionAnalytics("analytics", args))
    (component,) = mocks.of_type("mlops:analytics:DecisionAnalytics")
    return component


def _one(mocks: RecordingMocks, typ: str) -> RecordedResource:
    found = mocks.of_type(typ)
    assert len(found) == 1, f"expected one {typ}, got {found}"
    return found[0]


def _processors(stream: RecordedResource) -> dict[str, dict[str, str]]:
    procs = stream.inputs["extendedS3Configuration"]["processingConfiguration"]["processors"]
    return {
        p["type"]: {q["parameterName"]: q["parameterValue"] for q in p.get("parameters", [])}
        for p in procs
    }


def _descendants(mocks: RecordingMocks, root: RecordedResource) -> list[RecordedResource]:
    out, frontier = [], [root]
    while frontier:
        kids = [r for f in frontier for r in mocks.children_of(f)]
        out += kids
        frontier = kids
    return out


def test_default_stream_filters_partitions_encrypts_and_keeps_errors(stack_config, pulumi_mocks):
    component = _build(pulumi_mocks, _args(stack_config))

    sub = _one(pulumi_mocks, "aws:cloudwatch/logSubscriptionFilter:LogSubscriptionFilter")
    assert sub.inputs["filterPattern"] == REGISTRY.subscription_filter_pattern
    assert sub.inputs["logGroup"] == LOG_GROUP
    stream = _one(pulumi_mocks, FIREHOSE)
    assert sub.inputs["destinationArn"] == stream.state["arn"]

    sse = stream.inputs["serverSideEncryption"]
    assert sse == {"enabled": True, "keyType": "CUSTOMER_MANAGED_CMK", "keyArn": KEY}, stream.name
    s3 = stream.inputs["extendedS3Configuration"]
    assert s3["kmsKeyArn"] == KEY
    assert s3["dynamicPartitioningConfiguration"]["enabled"] is True
    assert s3["prefix"] == (
        "decision-events/remedy/event_type=!{partitionKeyFromQuery:event_type}/"
        "dt=!{partitionKeyFromQuery:dt}/"
    )
    assert s3["errorOutputPrefix"].startswith(
        "decision-events-errors/remedy/!{firehose:error-output-type}/"
    )
    assert not s3["errorOutputPrefix"].startswith(s3["prefix"].split("event_type")[0] + "event")
    procs = _processors(stream)
    assert list(procs) == [
        "Decompression", "CloudWatchLogProcessing", "MetadataExtraction", "AppendDelimiterToRecord"
    ]  # fmt: skip
    assert procs["MetadataExtraction"]["MetadataExtractionQuery"] == (
        "{event_type: .event_type, dt: ((.decided_at // .acted_at // .closed_at) | .[0:10])}"
    )
    assert s3["cloudwatchLoggingOptions"]["enabled"] is True

    for group in pulumi_mocks.of_type("aws:cloudwatch/logGroup:LogGroup"):
        assert group.inputs.get("kmsKeyId") == KEY, group.name
        assert group.inputs["retentionInDays"] == stack_config.retention.log_days, group.name
    enc = _one(pulumi_mocks, "aws:s3/bucketServerSideEncryptionConfiguration:"
                             "BucketServerSideEncryptionConfiguration")  # fmt: skip
    rule = enc.inputs["rules"][0]["applyServerSideEncryptionByDefault"]
    assert rule == {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": KEY}
    assert all(_one(pulumi_mocks, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
               .inputs[k] for k in ("blockPublicAcls", "blockPublicPolicy",
                                     "ignorePublicAcls", "restrictPublicBuckets"))  # fmt: skip
    assert not pulumi_mocks.of_type("aws:lambda/function:Function")
    assert not [r for r in pulumi_mocks.resources if r.type.startswith("snowflake:")]

    # Every resource hangs under the component; taggable ones carry base + component tags.
    children = _descendants(pulumi_mocks, component)
    assert len(children) == len(pulumi_mocks.resources) - 1
    for r in children:
        if r.type in TAGGABLE:
            tags = r.inputs.get("tags") or {}
            assert tags.get("component") == "analytics", r.name
            assert tags.get("environment") == stack_config.environment, r.name


def test_roles_are_least_privilege(stack_config, pulumi_mocks):
    _build(pulumi_mocks, _args(stack_config))
    policies = {
        r.name: json.loads(r.inputs["policy"])
        for r in pulumi_mocks.of_type("aws:iam/rolePolicy:RolePolicy")
    }
    logs = policies["analytics-logs-policy"]["Statement"]
    assert [s["Action"] for s in logs] == [["firehose:PutRecord", "firehose:PutRecordBatch"]]
    stream_arn = _one(pulumi_mocks, FIREHOSE).state["arn"]
    assert logs[0]["Resource"] == stream_arn
    fh = {s["Sid"]: s for s in policies["analytics-firehose-policy"]["Statement"]}
    assert set(fh) == {"WriteLandingBucket", "UseAnalyticsKey", "WriteDeliveryErrors"}
    for statement in fh.values():
        assert statement["Resource"] != "*" and "*" not in statement["Action"], statement
    trusts = {
        r.name: json.loads(r.inputs["assumeRolePolicy"])["Statement"][0]["Principal"]["Service"]
        for r in pulumi_mocks.of_type("aws:iam/role:Role")
    }
    assert trusts["analytics-firehose-role"] == "firehose.amazonaws.com"
    assert trusts["analytics-logs-role"] == f"logs.{stack_config.region}.amazonaws.com"


def test_transform_lambda_validates_flattens_and_partitions(stack_config, pulumi_mocks):
    _build(pulumi_mocks, _args(stack_config, transform_lambda=True))
    fn = _one(pulumi_mocks, "aws:lambda/function:Function")
    assert fn.inputs["handler"] == "mlops.analytics.firehose_transform.handler"
    # the Lambda packages Remedy's schema module and is told to import it
    assert fn.inputs["environment"]["variables"] == {"MLOPS_EVENT_REGISTRY": "remedy_core.events"}
    assert fn.inputs["kmsKeyArn"] == KEY
    assert "AWSLambdaPowertoolsPythonV3" in fn.inputs["layers"][0]
    stream = _one(pulumi_mocks, FIREHOSE)
    procs = _processors(stream)
    assert "Lambda" in procs and "MetadataExtraction" not in procs
    assert procs["Lambda"]["LambdaArn"] == f"{fn.state['arn']}:$LATEST"
    assert "partitionKeyFromLambda:dt" in stream.inputs["extendedS3Configuration"]["prefix"]
    fh = json.loads(pulumi_mocks.named("analytics-firehose-policy").inputs["policy"])
    invoke = next(s for s in fh["Statement"] if s["Sid"] == "InvokeTransform")
    assert invoke["Resource"][0] == fn.state["arn"]
    groups = {g.inputs["name"] for g in pulumi_mocks.of_type("aws:cloudwatch/logGroup:LogGroup")}
    assert f"/aws/lambda/{fn.inputs['name']}" in groups


def test_snowflake_ingest_tables_pipes_and_views(stack_config, pulumi_mocks):
    _build(pulumi_mocks, _args(stack_config, transform_lambda=True, snowflake=_snowflake()))
    integration = _one(pulumi_mocks, "snowflake:index/storageIntegrationAws:StorageIntegrationAws")
    assert integration.inputs["storageAwsExternalId"] == "mlops-remedy-ext-id"
    role = pulumi_mocks.named("analytics-snowflake-role")
    assert integration.inputs["storageAwsRoleArn"].endswith(f":role/{role.inputs['name']}")
    trust = json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]
    assert trust["Condition"] == {"StringEquals": {"sts:ExternalId": "mlops-remedy-ext-id"}}
    stage = _one(pulumi_mocks, "snowflake:index/stageExternalS3:StageExternalS3")
    assert stage.inputs["encryption"]["awsSseKms"]["kmsKeyId"] == KEY
    assert stage.inputs["url"].endswith("/decision-events/remedy/")
    assert role.inputs["name"].endswith("-remedy-analytics-snowflake")  # need-to-know pattern

    tables = {t.inputs["name"]: t for t in pulumi_mocks.of_type("snowflake:index/table:Table")}
    assert set(tables) == {t.table.upper() for t in REGISTRY.tables}
    for spec in REGISTRY.tables:
        got = [c["name"] for c in tables[spec.table.upper()].inputs["columns"]]
        assert got == [c.upper() for c in spec.columns], spec.table
    pipes = pulumi_mocks.of_type("snowflake:index/pipe:Pipe")
    assert len(pipes) == 3 and all(p.inputs["autoIngest"] for p in pipes)
    for pipe in pipes:
        copy = pipe.inputs["copyStatement"]
        assert "MATCH_BY_COLUMN_NAME = CASE_INSENSITIVE" in copy
        assert sqlglot.parse_one(copy.split(" FILE_FORMAT")[0].replace("@", ""), read="snowflake")
    notif = _one(pulumi_mocks, "aws:s3/bucketNotification:BucketNotification")
    assert notif.inputs["queues"][0]["filterPrefix"] == "decision-events/remedy/"

    views = pulumi_mocks.of_type("snowflake:index/view:View")
    assert {v.inputs["name"] for v in views} == {
        v.name.upper() for v in load_views(REGISTRY.views_dir)
    }
    for view in views:
        statement = view.inputs["statement"]
        sqlglot.parse_one(statement, read="snowflake")
        assert "MLOPS.ANALYTICS.decision_events" in statement or "MLOPS.ANALYTICS.claim" in (
            statement
        ), view.name


def test_model_monitor_is_vpc_only_encrypted_and_alarmed(stack_config, pulumi_mocks):
    _build(pulumi_mocks, _args(stack_config, monitoring=_monitoring(stack_config)))
    job = _one(pulumi_mocks, "aws:sagemaker/dataQualityJobDefinition:DataQualityJobDefinition")
    net = job.inputs["networkConfig"]
    assert net["enableNetworkIsolation"] and net["enableInterContainerTrafficEncryption"]
    assert net["vpcConfig"]["subnets"] == ["subnet-1", "subnet-2"]
    assert job.inputs["jobResources"]["clusterConfig"]["volumeKmsKeyId"] == KEY
    assert job.inputs["dataQualityJobOutputConfig"]["kmsKeyId"] == KEY
    assert job.inputs["dataQualityAppSpecification"]["imageUri"] == model_monitor_image(
        stack_config.region
    )
    schedule = _one(pulumi_mocks, "aws:sagemaker/monitoringSchedule:MonitoringSchedule")
    assert schedule.inputs["monitoringScheduleConfig"]["monitoringType"] == "DataQuality"
    alarms = pulumi_mocks.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")
    assert {a.inputs["metricName"] for a in alarms} == {
        "feature_baseline_drift_vehicle_age_years",
        "feature_baseline_drift_mileage",
        "feature_baseline_drift_delta_v_kph",
    }
    for alarm in alarms:
        assert alarm.inputs["threshold"] == 0.2 and alarm.inputs["alarmActions"], alarm.name
        assert alarm.inputs["dimensions"]["MonitoringSchedule"] == schedule.inputs["name"]


def test_args_validation_names_the_field():
    cfg_ctx = NameContext(environment="dev", account_id="111111111111", region="eu-west-2")
    base = dict(names=cfg_ctx, usecase="remedy", events=REGISTRY, log_group_name=LOG_GROUP,
                kms_key_arn=KEY, access_logs_bucket="logs", tags={})  # fmt: skip
    with pytest.raises(ValueError, match="snowflake needs transform_lambda=True"):
        DecisionAnalyticsArgs(**base, snowflake=_snowflake())
    with pytest.raises(ValueError, match="buffer_size_mb"):
        DecisionAnalyticsArgs(**base, buffer_size_mb=5)
    with pytest.raises(ValueError, match=r"SnowflakeArgs\.database"):
        SnowflakeArgs(
            database="mlops", aws_iam_user_arn="arn:aws:iam::1:user/x", external_id="x" * 8
        )
    with pytest.raises(ValueError, match=r"no Model Monitor image known for region 'xx-east-9'"):
        model_monitor_image("xx-east-9")


def test_firehose_policy_adds_invoke_only_with_a_lambda():
    without = firehose_policy("arn:aws:s3:::b", KEY, "arn:aws:logs:r:1:log-group:g", None)
    assert "InvokeTransform" not in {s["Sid"] for s in without["Statement"]}
    with_fn = firehose_policy("arn:aws:s3:::b", KEY, "arn:aws:logs:r:1:log-group:g", "arn:fn")
    assert {s["Sid"] for s in with_fn["Statement"]} >= {"InvokeTransform"}


def test_shared_platform_landing_bucket_is_used_when_given(stack_config, pulumi_mocks):
    arn = "arn:aws:s3:::mlops-analytics-landing"
    _build(
        pulumi_mocks,
        _args(stack_config, landing_bucket_name="mlops-analytics-landing", landing_bucket_arn=arn),
    )
    assert not pulumi_mocks.of_type("aws:s3/bucket:Bucket")
    stream = _one(pulumi_mocks, FIREHOSE)
    assert stream.inputs["extendedS3Configuration"]["bucketArn"] == arn
    fh = json.loads(pulumi_mocks.named("analytics-firehose-policy").inputs["policy"])
    write = next(s for s in fh["Statement"] if s["Sid"] == "WriteLandingBucket")
    assert write["Resource"] == [arn, f"{arn}/*"]
    # Every role the stream uses matches the platform's need-to-know pattern for that bucket.
    for role in pulumi_mocks.of_type("aws:iam/role:Role"):
        assert f"-{stack_config.environment}-remedy-analytics-" in role.inputs["name"], role.name


def test_model_monitor_can_run_as_an_existing_role(stack_config, pulumi_mocks):
    existing = "arn:aws:iam::111111111111:role/mlops-dev-model-execution"
    monitoring = _monitoring(stack_config)
    from dataclasses import replace

    _build(pulumi_mocks, _args(stack_config, monitoring=replace(monitoring, role_arn=existing)))
    job = _one(pulumi_mocks, "aws:sagemaker/dataQualityJobDefinition:DataQualityJobDefinition")
    assert job.inputs["roleArn"] == existing
    assert not [r for r in pulumi_mocks.of_type("aws:iam/role:Role") if "monitor" in r.name]


def test_stack_settings_validate_with_field_names():
    from pydantic import ValidationError

    from mlops.analytics.settings import AnalyticsSettings

    user, ext = "arn:aws:iam::123456789012:user/sf", "ext-id-123"
    assert AnalyticsSettings().snowflake.on is False  # off by default
    ok = AnalyticsSettings.model_validate(
        {"transformLambda": True, "snowflake": {"account": "myorg-analytics", "database": "MLOPS",
         "awsIamUserArn": user, "externalId": ext}}
    )  # fmt: skip
    assert ok.snowflake.on and ok.snowflake.schema_ == "ANALYTICS"
    assert (ok.snowflake.organization_name, ok.snowflake.account_name) == ("MYORG", "ANALYTICS")
    assert ok.monitoring.enabled is False
    off = AnalyticsSettings.model_validate(
        {"snowflake": {"account": "myorg-analytics", "enabled": False}}
    )
    assert off.snowflake.on is False
    with pytest.raises(ValidationError, match="needs transformLambda: true"):
        AnalyticsSettings.model_validate(
            {"snowflake": {"account": "myorg-a", "awsIamUserArn": user, "externalId": ext}}
        )
    with pytest.raises(ValidationError, match="awsIamUserArn"):
        AnalyticsSettings.model_validate(
            {"transformLambda": True, "snowflake": {"account": "myorg-a"}}
        )
    with pytest.raises(ValidationError, match=r"snowflake\.account: name the Snowflake account"):
        AnalyticsSettings.model_validate({"snowflake": {"enabled": True}})
    with pytest.raises(ValidationError, match=r"snowflake\.account"):
        AnalyticsSettings.model_validate({"snowflake": {"account": "no org"}})
    with pytest.raises(ValidationError, match=r"snowflake\.database"):
        AnalyticsSettings.model_validate({"snowflake": {"database": "lower"}})
