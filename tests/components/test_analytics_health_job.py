"""The scheduled model-health job: the component under Pulumi mocks (least-privilege role under
the boundary, encrypted logs, in-VPC function, schedule) and its handler on moto (landed events
in S3 in, the latest month's model-health metrics out with the hand-computed values)."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime

import boto3
import pulumi
import pytest
from analytics.factories import decision, outcome
from moto import mock_aws

from mlops.components.analytics_health import NAMESPACE
from mlops.components.analytics_health_job import ModelHealthJob, ModelHealthJobArgs, job_policy
from mlops.events import landing_prefix
from mlops.local.remedy import remedy_on_path
from mlops.naming import NameContext
from mlops.testing.mocks import run

remedy_on_path()

from remedy_inference.health import run_cloud_job  # noqa: E402

CTX = NameContext(environment="prod", account_id="111111111111", region="eu-west-2")
BUCKET = "mlops-prod-analytics-111111111111-eu-west-2"
BUCKET_ARN = f"arn:aws:s3:::{BUCKET}"
DATA_KEY = "arn:aws:kms:eu-west-2:111111111111:key/data"
LOGS_KEY = "arn:aws:kms:eu-west-2:111111111111:key/logs"


def _args(**kw) -> ModelHealthJobArgs:
    return ModelHealthJobArgs(
        names=CTX, usecase="remedy", stage="prod",
        handler="remedy_inference.handlers.health.handler",
        code=pulumi.AssetArchive({}), layer_code=pulumi.AssetArchive({}),
        landing_bucket_name=BUCKET, landing_bucket_arn=BUCKET_ARN,
        data_kms_key_arn=DATA_KEY, log_kms_key_arn=LOGS_KEY,
        subnet_ids=["subnet-a", "subnet-b"], security_group_ids=["sg-1"],
        tags={"owner": "ellen.ward@example.com"},
        layers=["arn:aws:lambda:eu-west-2:1:layer:deps:1"],
        **kw,
    )  # fmt: skip


def test_the_job_runs_in_the_vpc_on_a_schedule_with_encrypted_logs(pulumi_mocks):
    run(lambda: ModelHealthJob("remedy-health-job", _args()))
    (fn,) = pulumi_mocks.of_type("aws:lambda/function:Function")
    assert fn.inputs["name"] == "mlops-prod-remedy-model-health"
    assert fn.inputs["vpcConfig"]["subnetIds"] == ["subnet-a", "subnet-b"]
    assert fn.inputs["reservedConcurrentExecutions"] == 1
    assert fn.inputs["kmsKeyArn"] == DATA_KEY
    assert fn.inputs["environment"]["variables"]["HEALTH_BUCKET"] == BUCKET
    (layer,) = pulumi_mocks.of_type("aws:lambda/layerVersion:LayerVersion")
    assert fn.inputs["layers"] == ["arn:aws:lambda:eu-west-2:1:layer:deps:1", layer.state["arn"]]
    (logs,) = pulumi_mocks.of_type("aws:cloudwatch/logGroup:LogGroup")
    assert logs.inputs["name"] == "/aws/lambda/mlops-prod-remedy-model-health"
    assert (logs.inputs["kmsKeyId"], logs.inputs["retentionInDays"]) == (LOGS_KEY, 365)
    roles = pulumi_mocks.of_type("aws:iam/role:Role")
    assert {r.inputs["name"] for r in roles} == {
        "mlops-prod-remedy-analytics-health",
        "mlops-prod-remedy-model-health-scheduler",
    }
    for role in roles:
        assert role.inputs["permissionsBoundary"] == (
            "arn:aws:iam::111111111111:policy/mlops-prod-remedy-boundary"
        ), role.name
    (schedule,) = pulumi_mocks.of_type("aws:scheduler/schedule:Schedule")
    assert schedule.inputs["name"] == "mlops-prod-remedy-model-health-prod"
    assert schedule.inputs["target"]["arn"] == fn.state["arn"]
    policies = {
        p.name: json.loads(p.inputs["policy"])
        for p in pulumi_mocks.of_type("aws:iam/rolePolicy:RolePolicy")
    }
    (invoke,) = policies["remedy-health-job-scheduler-policy"]["Statement"]
    assert (invoke["Action"], invoke["Resource"]) == ("lambda:InvokeFunction", fn.state["arn"])


def test_the_role_reads_only_its_use_case_and_puts_only_model_health_metrics():
    doc = job_policy(bucket_arn=BUCKET_ARN, usecase="remedy", key_arn=DATA_KEY,
                     log_group_arn="arn:aws:logs:eu-west-2:1:log-group:/aws/lambda/x",
                     region="eu-west-2")  # fmt: skip
    st = {s["Sid"]: s for s in doc["Statement"]}
    assert st["ReadUseCaseEvents"]["Resource"] == f"{BUCKET_ARN}/decision-events/remedy/*"
    assert st["ListUseCaseEvents"]["Condition"] == {
        "StringLike": {"s3:prefix": ["decision-events/remedy/*"]}
    }
    assert st["DecryptViaS3AndLambda"]["Action"] == "kms:Decrypt"
    assert st["DecryptViaS3AndLambda"]["Condition"] == {
        "StringEquals": {
            "kms:ViaService": ["s3.eu-west-2.amazonaws.com", "lambda.eu-west-2.amazonaws.com"]
        }
    }
    assert st["PutModelHealthMetrics"]["Condition"] == {
        "StringEquals": {"cloudwatch:namespace": NAMESPACE}
    }
    actions = {
        a
        for s in doc["Statement"]
        for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    }
    assert not {
        a for a in actions if a.startswith("s3:") and a not in ("s3:GetObject", "s3:ListBucket")
    }


def ts(month: int, day: int) -> datetime:
    return datetime(2026, month, day, 12, tzinfo=UTC)


def with_prob(dec, prob: float):
    return dec.model_copy(update={"model_outputs": dec.model_outputs.model_copy(
        update={"total_loss_prob": prob})})  # fmt: skip


def _landed(events) -> bytes:
    """One Firehose batch as it lands: newline-delimited event JSON, gzipped."""
    return gzip.compress("\n".join(e.model_dump_json() for e in events).encode() + b"\n")


@mock_aws
def test_the_handler_puts_the_latest_month_computed_from_landed_events():
    s3 = boto3.client("s3", region_name="eu-west-2")
    cw = boto3.client("cloudwatch", region_name="eu-west-2")
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-2"})
    d = [
        with_prob(decision("Q1", decided_at=ts(1, 5), repair_p50=2000), 0.1),
        with_prob(decision("Q2", decided_at=ts(1, 6), repair_p50=3000), 0.1),
        with_prob(decision("Q3", decided_at=ts(1, 7), recommendation="write_off", pav=8000), 0.9),
        with_prob(decision("Q4", decided_at=ts(1, 8), recommendation="write_off", pav=5000), 0.9),
        with_prob(decision("Q5", decided_at=ts(1, 9), pav=6000), 0.1),
    ]
    outcomes = [
        outcome(d[0], closed_at=ts(2, 1), final_path="repaired", actual_repair_cost=2500),
        outcome(d[1], closed_at=ts(2, 1), final_path="repaired", actual_repair_cost=5000),
        outcome(d[2], closed_at=ts(2, 1), final_path="written_off", settlement_amount=8400),
        outcome(d[3], closed_at=ts(2, 1), final_path="repaired", actual_repair_cost=4000),
        outcome(d[4], closed_at=ts(2, 1), final_path="written_off", settlement_amount=7000),
    ]
    prefix = landing_prefix("remedy")
    s3.put_object(
        Bucket=BUCKET, Key=f"{prefix}event_type=decision/dt=2026-01-09/a.gz", Body=_landed(d)
    )
    s3.put_object(
        Bucket=BUCKET,
        Key=f"{prefix}event_type=claim_outcome/dt=2026-02-01/b.gz",
        Body=_landed(outcomes),
    )
    # another use case's events are not this job's
    s3.put_object(Bucket=BUCKET, Key="decision-events/other/x.gz", Body=_landed(d))
    now = datetime.now(UTC).replace(microsecond=0)
    env = {"HEALTH_BUCKET": BUCKET, "HEALTH_USECASE": "remedy", "HEALTH_STAGE": "prod"}

    summary = run_cloud_job(env, s3=s3, cloudwatch=cw, now=now)

    assert (summary["objects_loaded"], summary["rows_loaded"], summary["months"]) == (2, 10, 1)
    expected = {
        "RepairCostIntervalCoverage": 1 / 3,
        "RepairCostBias": 7400 / 11500 - 1,
        "RepairCostMAE": (500 + 2000 + 1600) / 3,
        "PavWithin10Pct": 0.5,
        "WrongWriteOffRate": 0.2,
        "TotalLossECE": (3 * abs(0.1 - 1 / 3) + 2 * abs(0.9 - 0.5)) / 5,
    }
    got = {}
    for metric in cw.list_metrics(Namespace=NAMESPACE)["Metrics"]:
        dims = {x["Name"]: x["Value"] for x in metric["Dimensions"]}
        assert dims == {"UseCase": "remedy", "Stage": "prod"}, metric
        stats = cw.get_metric_statistics(
            Namespace=NAMESPACE,
            MetricName=metric["MetricName"],
            Dimensions=metric["Dimensions"],
            StartTime=now.replace(hour=0, minute=0, second=0),
            EndTime=now.replace(hour=23, minute=59),
            Period=86400,
            Statistics=["Minimum", "SampleCount"],
        )["Datapoints"]
        (point,) = stats
        assert point["SampleCount"] == 1, metric["MetricName"]
        got[metric["MetricName"]] = point["Minimum"]
    assert got.keys() == expected.keys()
    for name, value in expected.items():
        assert got[name] == pytest.approx(value), name
    assert summary["metrics_published"] == len(expected)
