"""The model-health job: input drift and model quality against claim outcomes, per month, over the
analytics store; breaches become alarms.

    python -m remedy_inference.health --warehouse .mlops/analytics/warehouse.duckdb \
        --reference training_reference.json [--stage prod] [--publish]

Run on a schedule (monthly, after the claims of a month have closed; the local twin is
``mlops demo``'s monitoring phase). Steps:

1. quality per month of decision: the analytics view ``model_quality_monthly`` (one SQL source,
   DuckDB locally and Snowflake in the cloud: ``mlops.analytics.views``);
2. drift per month and feature: PSI against the training reference profile
   (``mlops.analytics.drift``; numeric key inputs and the powertrain mix);
3. breaches: ``remedy_core.monitoring`` against ``HealthThresholds`` (pure functions);
4. alarms are recorded in the warehouse (``model_health_alarms``, shown on the dashboard's
   model-health page) and, with a publisher, every month's values are published as CloudWatch
   metrics (namespace ``mlops/model-health``) on which the platform's alarms notify the use case's
   lead (``mlops.components.analytics_health.ModelHealthAlarms``).
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from remedy_core.monitoring import (
    METRICS,
    Breach,
    HealthThresholds,
    drift_breaches,
    quality_breaches,
)

NAMESPACE = "mlops/model-health"
SOURCE = "remedy-health-job"
QUALITY_VALUES = {
    "interval_coverage_80": "interval_coverage_80",
    "repair_bias": "repair_bias_ratio",
    "repair_mae": "repair_mae",
    "pav_within_10pct": "pav_within_10pct",
    "wrong_write_off_rate": "wrong_write_off_rate",
    "total_loss_ece": "total_loss_ece",
}


class MetricPublisher(Protocol):
    def publish(self, metrics: list[dict[str, Any]]) -> None: ...


@dataclass
class CloudWatchPublisher:
    """Publishes month values as CloudWatch metrics (the adapter; boto3 client injected)."""

    client: Any
    usecase: str
    stage: str
    namespace: str = NAMESPACE

    def publish(self, metrics: list[dict[str, Any]]) -> None:
        data = [
            {
                "MetricName": m["name"],
                "Dimensions": [
                    {"Name": "UseCase", "Value": self.usecase},
                    {"Name": "Stage", "Value": self.stage},
                    *([{"Name": "Feature", "Value": m["feature"]}] if "feature" in m else []),
                ],
                "Timestamp": m["timestamp"],
                "Value": float(m["value"]),
            }
            for m in metrics
        ]
        for i in range(0, len(data), 500):  # PutMetricData takes up to 1000 values
            self.client.put_metric_data(Namespace=self.namespace, MetricData=data[i : i + 500])


@dataclass
class HealthReport:
    quality: list[dict[str, Any]] = field(default_factory=list)
    drift: list[dict[str, Any]] = field(default_factory=list)
    breaches: list[Breach] = field(default_factory=list)
    metrics: list[dict[str, Any]] = field(default_factory=list)

    def month(self, month: str) -> dict[str, Any]:
        """One month's quality values and PSI per feature (``YYYY-MM``)."""
        row = next((r for r in self.quality if str(r["month_start"])[:7] == month), {})
        psi = {r["feature"]: r["psi"] for r in self.drift if str(r["month_start"])[:7] == month}
        return {**row, "psi": psi}


def drift_rows(wh: Any, reference: Any, min_rows: int) -> list[dict[str, Any]]:
    from mlops.analytics.drift import psi_by_month

    columns = [*reference.features, *reference.categories]
    if not columns:
        return []
    frame = wh.frame(
        "SELECT CAST(DATE_TRUNC('month', decided_at) AS DATE) AS month_start, "  # noqa: S608
        + ", ".join(columns)
        + " FROM decision_events"
    )
    return psi_by_month(frame, reference, min_rows=min_rows) if not frame.empty else []


def run_health_job(
    wh: Any,
    reference: Any = None,
    *,
    thresholds: HealthThresholds = HealthThresholds(),
    publisher: MetricPublisher | None = None,
    now: datetime | None = None,
    min_drift_rows: int = 100,
) -> HealthReport:
    """Compute, evaluate, record and (optionally) publish model health for every month."""
    report = HealthReport(quality=wh.view("model_quality_monthly", order_by="month_start"))
    if reference is not None:
        report.drift = drift_rows(wh, reference, min_drift_rows)
    report.breaches = quality_breaches(report.quality, thresholds) + drift_breaches(
        report.drift, thresholds
    )
    for row in report.quality:
        stamp = _month_timestamp(row["month_start"])
        for metric, column in QUALITY_VALUES.items():
            value = row.get(column)
            if value is not None and not math.isnan(float(value)):
                value = float(value) - 1 if metric == "repair_bias" else float(value)
                report.metrics.append({"name": METRICS[metric], "value": value, "timestamp": stamp})
    for row in report.drift:
        if not math.isnan(row["psi"]):
            report.metrics.append({
                "name": METRICS["psi"], "feature": row["feature"], "value": row["psi"],
                "timestamp": _month_timestamp(row["month_start"]),
            })  # fmt: skip
    wh.record_alarms(SOURCE, report.breaches, now or datetime.now(UTC))
    if publisher is not None and report.metrics:
        publisher.publish(report.metrics)
    return report


def _month_timestamp(month_start: Any) -> datetime:
    text = str(month_start)[:10]
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def latest_month(metrics: list[dict[str, Any]], at: datetime) -> list[dict[str, Any]]:
    """The latest month's metrics, stamped ``at``: CloudWatch takes data points at most two weeks
    old, and the alarms (daily periods) look at the current day only."""
    if not metrics:
        return []
    last = max(m["timestamp"] for m in metrics)
    return [{**m, "timestamp": at} for m in metrics if m["timestamp"] == last]


def run_cloud_job(
    env: Mapping[str, str] | None = None,
    *,
    s3: Any = None,
    cloudwatch: Any = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The scheduled job (``handlers.health``): load the use case's landed events
    (``decision-events/<usecase>/`` of ``HEALTH_BUCKET``) into an in-memory warehouse, compute
    quality and drift (with the reference profile at ``HEALTH_REFERENCE_KEY`` in that bucket, when
    set) and put the latest month's metrics. Clients default to boto3's."""
    import os
    import tempfile
    from pathlib import Path

    from mlops.analytics.drift import ReferenceProfile
    from mlops.analytics.warehouse import S3ObjectStore, Warehouse
    from mlops.events import landing_prefix

    from remedy_core.events import REGISTRY

    env = os.environ if env is None else env
    bucket, usecase = env["HEALTH_BUCKET"], env.get("HEALTH_USECASE", "remedy")
    stage = env.get("HEALTH_STAGE", "prod")
    if s3 is None or cloudwatch is None:
        import boto3

        s3 = s3 or boto3.client("s3")
        cloudwatch = cloudwatch or boto3.client("cloudwatch")
    reference = None
    if key := env.get("HEALTH_REFERENCE_KEY"):
        with tempfile.TemporaryDirectory() as tmp:  # Lambda's only writable place is /tmp
            path = Path(tmp) / "reference.json"
            path.write_bytes(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
            reference = ReferenceProfile.load(path)
    at = now or datetime.now(UTC)
    with Warehouse(":memory:", events=REGISTRY) as wh:
        loaded = wh.refresh(S3ObjectStore(s3, bucket), prefix=landing_prefix(usecase))
        report = run_health_job(wh, reference, now=at)
    published = latest_month(report.metrics, at)
    if published:
        CloudWatchPublisher(cloudwatch, usecase, stage).publish(published)
    return {
        "objects_loaded": loaded.objects_loaded,
        "rows_loaded": loaded.rows_loaded,
        "months": len(report.quality),
        "breaches": [b.metric for b in report.breaches],
        "metrics_published": len(published),
    }


def main(argv: list[str] | None = None) -> int:
    from mlops.analytics.drift import ReferenceProfile
    from mlops.analytics.warehouse import Warehouse

    from remedy_core.events import REGISTRY

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--warehouse", required=True)
    p.add_argument("--reference", help="training reference profile (JSON) for drift")
    p.add_argument("--stage", default="dev")
    p.add_argument("--publish", action="store_true", help="publish CloudWatch metrics")
    a = p.parse_args(argv)
    reference = ReferenceProfile.load(a.reference) if a.reference else None
    publisher = None
    if a.publish:
        import boto3

        publisher = CloudWatchPublisher(boto3.client("cloudwatch"), "remedy", a.stage)
    with Warehouse(a.warehouse, events=REGISTRY) as wh:
        report = run_health_job(wh, reference, publisher=publisher)
    for breach in report.breaches:
        print(f"ALARM {breach.metric}: {breach.message} (limit {breach.threshold})")
    print(f"{len(report.quality)} month(s) of outcomes, {len(report.breaches)} alarm(s)")
    return 1 if report.breaches else 0


if __name__ == "__main__":
    raise SystemExit(main())
