"""The Firehose transformation Lambda: valid events flattened and partitioned, others routed."""

from __future__ import annotations

import base64
import json

from mlops.analytics.firehose_transform import handler
from mlops.events import to_log_line

from .factories import REGISTRY, action, decision

TABLES = {t.event_type: (t.table, t.columns) for t in REGISTRY.tables}


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


def test_handler_flattens_valid_events_drops_noise_and_fails_bad_records(monkeypatch):
    monkeypatch.setenv("MLOPS_EVENT_REGISTRY", "remedy_core.events")
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


def test_lambda_archive_holds_everything_the_handler_imports(tmp_path):
    """Unpack the component's code archive alone and run the handler from it."""
    import os
    import subprocess
    import sys

    from mlops.components.analytics import lambda_code

    for rel, asset in lambda_code(REGISTRY).assets.items():
        target = tmp_path / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        text = asset.text if hasattr(asset, "text") else open(asset.path).read()  # noqa: SIM115
        target.write_text(text)
    line = to_log_line(decision())
    script = (
        "import sys, json, base64; sys.path.insert(0, sys.argv[1]);"
        "import mlops.analytics.firehose_transform as t;"
        "assert t.__file__.startswith(sys.argv[1]), t.__file__;"
        "import remedy_core.events as r; assert r.__file__.startswith(sys.argv[1]), r.__file__;"
        "ev = {'invocationId': 'i', 'deliveryStreamArn': 'a', 'region': 'eu-west-2', 'records':"
        " [{'recordId': 'r', 'approximateArrivalTimestamp': 1,"
        " 'data': base64.b64encode(sys.argv[2].encode()).decode()}]};"
        "print(t.handler(ev, None)['records'][0]['result'])"
    )
    out = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path), line],
        env={**os.environ, "MLOPS_EVENT_REGISTRY": "remedy_core.events"},
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "Ok"
