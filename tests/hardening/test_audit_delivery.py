"""No decision is lost on the way to the warehouse when the embedded AWS fails.

Decisions are made while CloudWatch Logs / Firehose / S3 (moto server) are unreachable or
restarted; the audit lines wait in the decision API's JSON-lines file, the ``LogShipper`` logs a
warning and keeps its offset, and delivers them once AWS answers again. The check is always
count in == count out: every event id written by the service is in DuckDB exactly once.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from mlops.analytics.warehouse import Warehouse
from mlops.local.analytics_stream import LocalAnalyticsStream, stream_names
from mlops.local.embedded_aws import FAKE_CREDENTIALS, EmbeddedAWS
from mlops.local.environment import provision
from mlops.local.remedy import remedy_registry
from mlops.local.shipper import LogShipper

from .outage import Outage

USECASE = "remedy"

REGISTRY = remedy_registry()


def aws_clients(endpoint_url: str, region: str = "eu-west-2") -> dict:
    """The stream's clients with short timeouts and one retry (an outage should fail fast)."""
    import boto3
    from botocore.config import Config

    config = Config(connect_timeout=1, read_timeout=10, retries={"max_attempts": 2})
    return {
        svc: boto3.client(
            svc,
            endpoint_url=endpoint_url,
            region_name=region,
            aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            config=config,
        )
        for svc in ("logs", "firehose", "s3", "kms", "iam")
    }


@pytest.fixture
def aws():
    with EmbeddedAWS() as embedded:
        yield embedded


def provision_all(aws: EmbeddedAWS) -> LocalAnalyticsStream:
    """What `mlops demo` provisions: platform keys/buckets, then the decision-event stream."""
    platform = provision(aws, USECASE)
    stream = LocalAnalyticsStream(
        aws_clients(aws.endpoint_url, aws.region),
        stream_names(platform.ctx, USECASE),
        events=REGISTRY,
    )
    stream.provision()
    return stream


@pytest.fixture
def decide(compiled, claims, tmp_path):
    """``decide(n)``: n more decisions by the real service, audit lines to a JSON-lines file."""
    from remedy_inference.audit import JsonLinesSink
    from remedy_inference.market_data import SyntheticMarket
    from remedy_inference.service import BundlePredictor, DecisionService

    audit = tmp_path / "decision-audit.jsonl"
    service = DecisionService(
        predictor=BundlePredictor(compiled),
        valuation=SyntheticMarket(),
        sink=JsonLinesSink(str(audit)),
    )
    made = []

    def run(n: int) -> list[str]:
        ids = [service.decide(claims[(len(made) + i) % len(claims)]).decision_id for i in range(n)]
        made.extend(ids)
        return ids

    run.audit = audit
    run.made = made
    return run


def ids_in_file(path: Path) -> list[str]:
    return [json.loads(line)["event_id"] for line in path.read_text().splitlines()]


def ids_in_warehouse(wh: Warehouse) -> list[str]:
    return [r[0] for r in wh.con.execute("SELECT event_id FROM decision_events").fetchall()]


def test_aws_unreachable_lines_wait_and_arrive_once(aws, decide, caplog) -> None:
    direct = provision_all(aws)
    outage = Outage(aws.port).restore()
    try:
        stream = LocalAnalyticsStream(
            aws_clients(outage.url, aws.region), direct.names, events=REGISTRY
        )
        shipper = LogShipper(decide.audit, stream, batch_size=25)
        decide(30)
        assert shipper.ship().shipped == 30

        outage.cut()  # Logs/Firehose/S3 unreachable; decisions go on
        decide(30)
        with caplog.at_level(logging.WARNING, logger="mlops.shipper"):
            down = shipper.ship()
        assert down.shipped == 0 and down.error and down.pending_bytes > 0, down
        assert any("log shipping paused" in r.getMessage() for r in caplog.records)
        decide(10)
        assert shipper.ship().shipped == 0  # still down: nothing sent, nothing skipped

        outage.restore()
        assert shipper.ship().shipped == 40
        assert shipper.ship().shipped == 0
        with Warehouse(events=REGISTRY) as wh:
            loaded = stream.refresh(wh)
            written = ids_in_file(decide.audit)
            stored = ids_in_warehouse(wh)
        assert len(written) == len(decide.made) == 70  # count in
        assert sorted(stored) == sorted(written) == sorted(decide.made)  # count out, each once
        assert loaded.rejected == 0 and loaded.duplicates == 0
    finally:
        outage.cut()


def test_moto_restart_mid_run_reprovision_and_resume(aws, decide, caplog) -> None:
    stream = provision_all(aws)
    shipper = LogShipper(decide.audit, stream, batch_size=25)
    with Warehouse(events=REGISTRY) as wh:
        decide(40)
        assert shipper.ship().shipped == 40
        assert stream.refresh(wh).rows_loaded == 40
        shipped_not_loaded = decide(20)
        assert shipper.ship().shipped == 20  # accepted by Logs, in S3, not yet in the warehouse

        aws.restart()  # every bucket, stream and log group is gone
        decide(20)
        with caplog.at_level(logging.WARNING, logger="mlops.shipper"):
            down = shipper.ship()
        assert down.shipped == 0 and down.error, down  # log group missing: lines kept
        assert any("log shipping paused" in r.getMessage() for r in caplog.records)

        stream = provision_all(aws)  # recovery step 1: re-provision
        shipper = LogShipper(decide.audit, stream, batch_size=25)
        assert shipper.ship().shipped == 20
        stream.refresh(wh)
        # What S3 held but the warehouse had not loaded died with moto's state:
        assert set(decide.made) - set(ids_in_warehouse(wh)) == set(shipped_not_loaded)

        # recovery step 2: re-ship the whole file; the warehouse keeps each event id once
        shipper.cursor.unlink()
        assert shipper.ship().shipped == 80
        again = stream.refresh(wh)
        assert again.duplicates == 60 and again.rejected == 0
        stored = ids_in_warehouse(wh)
        written = ids_in_file(decide.audit)
    assert len(written) == 80
    assert sorted(stored) == sorted(written) == sorted(decide.made)  # count in == count out
