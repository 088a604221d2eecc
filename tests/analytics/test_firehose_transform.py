"""The Firehose transformation Lambda: valid events flattened and partitioned, others routed."""

from __future__ import annotations

import base64
import json

from mlops.analytics.firehose_transform import handler
from mlops.events import TABLES, to_log_line

from .factories import action, decision


def _event(*payloads: str) -> dict:
    return {
        "invocationId": "inv-1",
        "deliveryStreamArn": "arn:aws:firehose:eu-west-2:111111111111:deliverystream/x",
        "region": "eu-west-2",
        "records": [
            {"recordId": f"r{i}", "approximateArrivalTimestamp": 1, "data":
             base64.b64encode(p.encode()).decode()}
            for i, p in enumerate(payloads)
        ],
    }  # fmt: skip


def test_handler_flattens_valid_events_drops_noise_and_fails_bad_records():
    dec = decision()
    bad = json.loads(to_log_line(dec)) | {"region": "SW1A 1AA"}  # a postcode: personal data
    out = handler(
        _event(to_log_line(dec), to_log_line(action(dec)), "START RequestId: 1", json.dumps(bad)),
        None,
    )
    records = {r["recordId"]: r for r in out["records"]}
    assert [records[k]["result"] for k in ("r0", "r1", "r2", "r3")] == [
        "Ok", "Ok", "Dropped", "ProcessingFailed"
    ]  # fmt: skip
    row = json.loads(base64.b64decode(records["r0"]["data"]))
    assert row["event_type"] == "decision"
    assert set(row) - {"event_type"} == set(TABLES["decision"][1])
    assert records["r0"]["metadata"]["partitionKeys"] == {"event_type": "decision",
                                                          "dt": "2026-03-14"}  # fmt: skip
    assert records["r1"]["metadata"]["partitionKeys"]["event_type"] == "handler_action"
    assert "SW1A" not in json.dumps({k: v for k, v in records.items() if k != "r3"})
