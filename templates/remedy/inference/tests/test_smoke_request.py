"""The deploy pipeline's smoke request (tests/smoke/request.json) is a claim the API decides."""

from __future__ import annotations

import json
from pathlib import Path

from remedy_core.claims import Claim
from test_api import make

REQUEST = Path(__file__).parent / "smoke" / "request.json"


def test_smoke_request_is_a_valid_claim_and_gets_a_decision():
    body = json.loads(REQUEST.read_text())
    Claim.model_validate(body)
    client, sink = make()
    r = client.post("/v1/decisions", json=body)
    assert r.status_code == 200, r.text
    assert r.json()["recommendation"] in {"repair", "write_off", "investigate"}
    assert len(sink.events) == 1
