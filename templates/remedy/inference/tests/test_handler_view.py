"""Claims-handler view: the page shows the evidence; actions become coded, PII-free events."""

from __future__ import annotations

import re

import pytest

from remedy_core import events
from test_api import BODY, make


def _decide(client) -> dict:
    r = client.post("/v1/decisions", json=BODY)
    assert r.status_code == 200, r.text
    return r.json()


def test_page_shows_recommendation_and_evidence():
    client, _ = make()
    d = _decide(client)
    page = client.get(f"/handler/decisions/{d['decision_id']}")
    assert page.status_code == 200
    html = page.text
    assert 'id="recommendation">Repair<' in html
    assert f"{round(d['confidence'] * 100)}%" in html
    assert f"£{d['repair_path']['total']:,.0f}" in html
    assert f"£{d['write_off_path']['total']:,.0f}" in html
    assert f"{d['ratio']['value']:.2f}" in html and f"{d['ratio']['threshold']:.2f}" in html
    assert html.count("<tr><td>") >= 3 and 'id="comparables"' in html
    for c in d["pav"]["comparables"]:
        assert f"£{c['price']:,.0f}" in html
    for reason in d["reasons"]:
        assert reason["code"] in html
    assert f"category <strong>{d['salvage']['category']}</strong>" in html
    assert d["versions"]["rule_set"] in html
    assert "<script src=" not in html and "https://" not in html  # offline: no CDN


def test_gauge_places_value_interval_and_threshold():
    client, _ = make()
    d = _decide(client)
    html = client.get(f"/handler/decisions/{d['decision_id']}").text
    svg = re.search(r'<svg id="gauge".*?</svg>', html, re.S).group(0)
    xs = [float(x) for x in re.findall(r'<line x1="([\d.]+)"', svg)]
    assert len(xs) == 1, svg  # the threshold line
    marker = float(re.search(r'<rect x="([\d.]+)" y="10"', svg).group(1)) + 2
    assert (marker < xs[0]) == (d["ratio"]["value"] < d["ratio"]["threshold"])


def test_override_with_reason_is_recorded_as_one_event():
    client, sink = make()
    d = _decide(client)
    r = client.post(
        f"/handler/decisions/{d['decision_id']}/actions",
        data={
            "handler_id": "h.smith@insurer.example",
            "action": "override",
            "override_reason": "VALUATION_DISPUTE",
            "final_recommendation": "write_off",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    actions = [e for e in sink.events if isinstance(e, events.HandlerActionEvent)]
    assert len(actions) == 1
    a = actions[0]
    assert (a.action, a.override_reason, a.final_recommendation) == (
        "override",
        "VALUATION_DISPUTE",
        "write_off",
    )
    assert a.decision_event_id == d["decision_id"]
    assert "h.smith" not in a.model_dump_json()  # handler id pseudonymised
    page = client.get(r.headers["location"]).text
    assert "Recorded: override" in page and "VALUATION_DISPUTE" in page
    listed = client.get(f"/v1/decisions/{d['decision_id']}/actions").json()
    assert [x["action"] for x in listed] == ["override"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"handler_id": "h1", "action": "override"}, "override_reason"),
        ({"handler_id": "h1", "action": "accept", "override_reason": "POLICY_TERMS"}, "only"),
        ({"handler_id": "h1", "action": "approve"}, "action"),
        ({"handler_id": "", "action": "accept"}, "handler_id"),
    ],
)
def test_bad_actions_are_rejected_and_record_nothing(body, field):
    client, sink = make()
    d = _decide(client)
    r = client.post(f"/v1/decisions/{d['decision_id']}/actions", json=body)
    assert r.status_code == 422
    assert field in r.text
    assert not [e for e in sink.events if isinstance(e, events.HandlerActionEvent)]


def test_action_on_unknown_decision_is_404():
    client, _ = make()
    r = client.post("/v1/decisions/nope/actions", json={"handler_id": "h1", "action": "accept"})
    assert r.status_code == 404


def test_index_lists_decisions_newest_first():
    client, _ = make()
    first, second = _decide(client), _decide(client)
    html = client.get("/handler").text
    assert html.index(second["decision_id"]) < html.index(first["decision_id"])
