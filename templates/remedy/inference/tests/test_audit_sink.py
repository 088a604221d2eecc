"""The JSON-lines audit sink: one parseable, PII-free line per event, from many threads."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

from remedy_core import events
from remedy_inference.audit import JsonLinesSink
from remedy_inference.settings import build_service, load_settings
from test_api import BODY


def test_settings_route_events_to_the_file(tmp_path):
    path = tmp_path / "audit.jsonl"
    service = build_service(load_settings({"REMEDY_AUDIT_FILE": str(path)}))
    assert isinstance(service.sink, JsonLinesSink)
    from remedy_core.claims import Claim

    claim = Claim.model_validate(BODY)
    with ThreadPoolExecutor(4) as pool:
        decisions = list(pool.map(lambda _: service.decide(claim), range(20)))
    lines = path.read_text().splitlines()
    assert len(lines) == 20
    parsed = [events.parse_event(json.loads(line)) for line in lines]
    assert {e.event_id for e in parsed} == {d.decision_id for d in decisions}
    assert all(BODY["claim_id"] not in line for line in lines)
