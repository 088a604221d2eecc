"""Local path on in-process moto: Logs → subscription → Firehose → S3 → DuckDB, idempotent."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime, timedelta

import pytest
from analytics.factories import REGISTRY, action, decision
from moto import mock_aws

from mlops.analytics.warehouse import Warehouse
from mlops.events import to_log_line
from mlops.local.analytics_stream import (
    LocalAnalyticsStream,
    StreamError,
    clients,
    local_context,
    stream_names,
)


@pytest.fixture
def aws(monkeypatch):
    for var, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "eu-west-2",
    }.items():
        monkeypatch.setenv(var, value)
    with mock_aws():
        yield clients(endpoint_url=None)


@pytest.fixture
def stream(aws):
    s = LocalAnalyticsStream(aws, events=REGISTRY)
    s.provision()
    return s


def _decisions(n, start=0):
    base = datetime(2026, 5, 1, tzinfo=UTC)
    return [
        decision(f"C{i}", decided_at=base + timedelta(hours=i)) for i in range(start, start + n)
    ]


def test_provision_is_idempotent_and_secure(aws):
    s = LocalAnalyticsStream(aws, events=REGISTRY)
    first = s.provision()
    assert s.provision() == first
    n = s.names
    enc = aws["s3"].get_bucket_encryption(Bucket=n.bucket)["ServerSideEncryptionConfiguration"]
    rule = enc["Rules"][0]["ApplyServerSideEncryptionByDefault"]
    assert rule["SSEAlgorithm"] == "aws:kms" and rule["KMSMasterKeyID"] == first["kms_key_arn"]
    pab = aws["s3"].get_public_access_block(Bucket=n.bucket)["PublicAccessBlockConfiguration"]
    assert all(pab.values())
    (flt,) = aws["logs"].describe_subscription_filters(logGroupName=n.log_group)[
        "subscriptionFilters"
    ]
    assert flt["filterPattern"] == REGISTRY.subscription_filter_pattern
    assert flt["destinationArn"] == first["delivery_stream_arn"]
    dest = aws["firehose"].describe_delivery_stream(DeliveryStreamName=n.delivery_stream)[
        "DeliveryStreamDescription"
    ]["Destinations"][0]["ExtendedS3DestinationDescription"]
    assert dest["Prefix"] == "decision-events/remedy/"
    assert dest["ErrorOutputPrefix"] == "decision-events-errors/remedy/"
    assert (
        dest["EncryptionConfiguration"]["KMSEncryptionConfig"]["AWSKMSKeyARN"]
        == first["kms_key_arn"]
    )


def test_names_come_from_the_naming_module():
    names = stream_names(local_context())
    assert names.bucket == "mlops-local-analytics-landing-123456789012-eu-west-2"
    assert names.log_group == "/mlops/local/remedy/decisions"


def test_events_flow_to_s3_and_refresh_loads_each_object_once(stream):
    decs = _decisions(7)
    lines = [to_log_line(d) for d in decs] + [to_log_line(action(decs[0], "accept"))]
    lines += ["START RequestId: 1234", json.dumps({"level": "INFO", "message": "healthy"})]
    assert stream.emit(lines, batch_size=3) == 10  # 4 PutLogEvents calls → 4 objects

    objects = list(stream.store().list_objects(stream.names.prefix))
    assert len(objects) == 4
    payload = json.loads(gzip.decompress(stream.store().read(objects[0].key)))
    assert payload["messageType"] == "DATA_MESSAGE"  # the CloudWatch Logs envelope, as on AWS

    with Warehouse(events=REGISTRY) as wh:
        first = stream.refresh(wh)
        assert (first.objects_loaded, first.objects_skipped) == (4, 0)
        assert first.rows == {"decision_events": 7, "handler_actions": 1}
        assert first.rejected == 0  # non-event log lines are filtered out, not rejected
        again = stream.refresh(wh)
        assert (again.objects_loaded, again.objects_skipped, again.rows_loaded) == (0, 4, 0)
        assert wh.count("decision_events") == 7

        stream.emit([to_log_line(d) for d in _decisions(2, start=7)])
        third = stream.refresh(wh)
        assert (third.objects_loaded, third.objects_skipped, third.rows_loaded) == (1, 4, 2)
        assert wh.count("decision_events") == 9
        assert wh.count("load_ledger") == 5


def test_refresh_is_idempotent_across_processes_with_a_file_warehouse(stream, tmp_path):
    stream.emit([to_log_line(d) for d in _decisions(5)])
    path = tmp_path / "wh" / "analytics.duckdb"
    with Warehouse(path, events=REGISTRY) as wh:
        assert stream.refresh(wh).rows_loaded == 5
    with Warehouse(path, events=REGISTRY) as wh:
        result = stream.refresh(wh)
        assert result.rows_loaded == 0 and result.objects_skipped == 1
        assert wh.count("decision_events") == 5


def test_redelivered_events_count_once_and_bad_records_are_rejected_without_pii(stream):
    decs = _decisions(3)
    stream.emit([to_log_line(d) for d in decs])
    bad = json.loads(to_log_line(decs[0])) | {"event_id": "0" * 8 + "-0000-0000-0000-" + "0" * 12}
    bad["region"] = "AB12 CDE"  # a registration plate where a region belongs
    broken = {"event_type": "decision", "schema_version": "1.0"}
    # Firehose delivers at least once: the same three events arrive again with two bad ones.
    stream.emit([to_log_line(d) for d in decs] + [json.dumps(bad), json.dumps(broken)])
    with Warehouse(events=REGISTRY) as wh:
        result = stream.refresh(wh)
        assert result.rows == {"decision_events": 3}
        assert result.duplicates == 3 and result.rejected == 2
        reasons = [r[0] for r in wh.con.execute("SELECT reason FROM rejected_records").fetchall()]
        assert any("personal data" in r and "region" in r for r in reasons)
        assert any(r.startswith("invalid event:") for r in reasons)
        assert not any("AB12" in r for r in reasons)


def test_refresh_without_a_provisioned_stream_says_how_to_fix(aws):
    with (
        Warehouse(events=REGISTRY) as wh,
        pytest.raises(StreamError, match=r"landing bucket .* not found") as err,
    ):
        LocalAnalyticsStream(aws, events=REGISTRY).refresh(wh)
    assert "--endpoint-url" in err.value.fix
