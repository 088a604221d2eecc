"""Real components, built under the mocks, are priced from the inputs they actually record.

Guards the camelCase keys the pricers read (productionVariants, serverlessConfig, minCapacity,
memorySize, type=EXPRESS) against the serving component as it is written today.
"""

from __future__ import annotations

import pulumi
import pytest

from mlops.components.serving import FunctionSpec, InferenceService, InferenceServiceArgs
from mlops.cost.estimator import estimate
from mlops.cost.prices import load_prices
from mlops.cost.usage import default_usage
from mlops.local.remedy import remedy_registry
from mlops.naming import NameContext
from mlops.tags import base_tags
from mlops.testing.mocks import run
from mlops.usecases import USECASES_DIR, load_manifest


def _serving(cfg) -> InferenceService:
    manifest = load_manifest(USECASES_DIR / "remedy.yaml")
    return InferenceService("remedy-serving", InferenceServiceArgs(
        usecase="remedy",
        names=NameContext(cfg.environment, cfg.account_id, cfg.region),
        tags=base_tags(cfg),
        endpoint=manifest.stacks.for_env(cfg.environment).endpoint,
        functions=[FunctionSpec(role=r, handler=f"remedy_inference.handlers.{r}.handler")
                   for r in ("encode", "market", "decide")],
        code=pulumi.AssetArchive({"handler.py": pulumi.StringAsset("x = 1\n")}),
        kms_key_arn=f"arn:aws:kms:{cfg.region}:{cfg.account_id}:key/stack",
        subnet_ids=["subnet-a", "subnet-b"], security_group_ids=["sg-lambda"],
        model_package_arn=f"arn:aws:sagemaker:{cfg.region}:{cfg.accounts.dev}:model-package/"
        "mlops-dev-remedy-models/3",
        model_artifact_bucket_arn="arn:aws:s3:::mlops-dev-artifacts",
        model_artifact_kms_key_arn=f"arn:aws:kms:{cfg.region}:{cfg.accounts.dev}:key/artifacts",
        data_capture_bucket=f"mlops-{cfg.environment}-capture",
        request_schema={"type": "object"},
        log_retention_days=cfg.retention.log_days,
    ))  # fmt: skip


def test_inference_service_is_fully_priced(pulumi_mocks, stack_config) -> None:
    cfg = stack_config
    run(lambda: _serving(cfg))
    e = estimate(cfg.environment, pulumi_mocks.resources, load_prices(cfg.region),
                 default_usage(cfg.environment), environment=cfg.environment)  # fmt: skip
    assert not e.unpriced, e.unpriced
    manifest_ep = load_manifest(USECASES_DIR / "remedy.yaml").stacks.for_env(cfg.environment)
    compute = [i for i in e.items if i.endpoint and "data processed" not in i.what]
    assert len(compute) == 1, compute
    if manifest_ep.endpoint.mode == "realtime":
        ep = manifest_ep.endpoint
        assert f"real-time {ep.instance_type} x {ep.min_instances}" in compute[0].what
        assert "autoscaling minCapacity" in compute[0].assumption
        assert compute[0].monthly == pytest.approx(
            ep.min_instances * 730 * load_prices().table("sagemaker.hosting_instance_hour")[
                ep.instance_type]
        )  # fmt: skip
    else:
        assert f"serverless {manifest_ep.endpoint.memory_mb} MB" in compute[0].what
    kinds = {i.resource_type for i in e.items}
    assert {"aws:lambda/function:Function", "aws:sfn/stateMachine:StateMachine",
            "aws:apigateway/restApi:RestApi"} <= kinds  # fmt: skip
    express = next(i for i in e.items if i.resource_type == "aws:sfn/stateMachine:StateMachine")
    assert express.what == "Express workflows"


def test_decision_analytics_is_fully_priced(pulumi_mocks, stack_config) -> None:
    from mlops.components.analytics import DecisionAnalytics, DecisionAnalyticsArgs
    from mlops.components.analytics_monitor import ModelMonitorArgs
    from mlops.components.analytics_snowflake import SnowflakeArgs

    cfg = stack_config
    names = NameContext(cfg.environment, cfg.account_id, cfg.region)
    key = f"arn:aws:kms:{cfg.region}:{cfg.account_id}:key/analytics"
    args = DecisionAnalyticsArgs(
        names=names, usecase="remedy", events=remedy_registry(),
        log_group_name=f"/mlops/{cfg.environment}/remedy/decisions",
        kms_key_arn=key, access_logs_bucket="mlops-access-logs", tags=base_tags(cfg),
        transform_lambda=True, lambda_subnet_ids=["subnet-1"], lambda_security_group_ids=["sg-1"],
        snowflake=SnowflakeArgs(database="MLOPS", external_id="mlops-remedy-ext-id",
                                aws_iam_user_arn="arn:aws:iam::999999999999:user/snowflake-abc"),
        monitoring=ModelMonitorArgs(
            names=names, usecase="remedy", endpoint_name=f"mlops-{cfg.environment}-remedy",
            data_bucket_name="mlops-data", data_bucket_arn="arn:aws:s3:::mlops-data",
            kms_key_arn=key, subnet_ids=["subnet-1"], security_group_ids=["sg-1"],
            tags=base_tags(cfg), alarm_topic_arns=[],
            features=("vehicle_age_years", "mileage", "delta_v_kph"),
        ),
    )  # fmt: skip
    run(lambda: DecisionAnalytics("analytics", args))
    e = estimate(cfg.environment, pulumi_mocks.resources, load_prices(cfg.region),
                 default_usage(cfg.environment), environment=cfg.environment)  # fmt: skip
    assert not e.unpriced, e.unpriced
    stream = next(i for i in e.items if "Firehose" in i.resource_type)
    assert "dynamic partitioning" in stream.assumption
    monitor = next(i for i in e.items if i.resource_type.endswith("MonitoringSchedule"))
    assert monitor.quantity == pytest.approx(730 * 0.1)  # hourly, 6 minutes per run
    assert any(t.startswith("snowflake:") for t in e.external), "Snowflake is billed elsewhere"
