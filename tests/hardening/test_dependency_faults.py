"""Dependency faults through the whole decision path: each has a defined outcome and a log line.

The valuation service is the real local HTTP server (``ValuationServer`` with injected faults)
behind the platform's resilient client; the model is the tiny real bundle, broken on purpose.
Outcome rules: a decision is always made (HTTP 200, exactly one audit event); without market
data the PAV comes from a confident model (flagged MARKET_DATA_UNAVAILABLE, reason kept on the
evidence) or the claim goes to investigate (MISSING_PAV); without a usable model it goes to
investigate with MODEL_UNAVAILABLE / MODEL_BAD_OUTPUT. The service logs a warning every time.
"""

from __future__ import annotations

import copy
import io
import json
import logging
import math
import warnings

import numpy as np
import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

KEY = "hardening-pseudonymisation-key"


@pytest.fixture
def valuation_server():
    from remedy_inference.valuation_service import ValuationServer

    with ValuationServer(api_key="k") as server:
        yield server


def http_market(base_url: str, timeout_s: float = 0.3):
    from remedy_inference.market_data import HttpValuationSource

    from mlops.inference.valuation_client import ValuationClient, ValuationClientConfig

    config = ValuationClientConfig(
        base_url=base_url,
        api_key="k",
        timeout_s=timeout_s,
        deadline_s=1.0,
        max_attempts=2,
        backoff_base_s=0.01,
        backoff_max_s=0.02,
        failure_threshold=3,
    )
    return HttpValuationSource(ValuationClient(config))


def api(predictor, valuation):
    from remedy_inference.api import create_app
    from remedy_inference.audit import MemorySink
    from remedy_inference.service import DecisionService

    sink = MemorySink()
    service = DecisionService(
        predictor=predictor, valuation=valuation, sink=sink, pseudonymisation_key=KEY
    )
    return TestClient(create_app(service)), sink


def decide_all(client, claims) -> list[dict]:
    out = []
    for claim in claims:
        response = client.post("/v1/decisions", json=claim.model_dump(mode="json"))
        assert response.status_code == 200, response.text  # never a crash
        out.append(response.json())
    return out


def assert_market_fallback(decisions, sink, caplog, codes: set[str]) -> None:
    """No market data: model PAV (flagged) or investigate MISSING_PAV; the reason is kept."""
    assert len(sink.events) == len(decisions)  # exactly one audit event each, none dropped
    seen = set()
    for d in decisions:
        pav = d["pav"]
        code = (pav["market_error"] or "").split(":")[0]
        seen.add(code)
        assert "MARKET_DATA_UNAVAILABLE" in d["data_quality_flags"], d["data_quality_flags"]
        if pav["source"] == "model":
            assert pav["value"] == pav["model_p50"] and d["recommendation"] in {
                "repair",
                "write_off",
                "investigate",
            }
        else:
            assert pav["source"] == "none" and d["recommendation"] == "investigate"
            assert "MISSING_PAV" in [r["code"] for r in d["reasons"]], d["reasons"]
        logged = [r.getMessage() for r in caplog.records if d["decision_id"] in r.getMessage()]
        assert any("market data unavailable" in m and code in m for m in logged), logged
    assert seen <= codes and seen, seen
    assert all(r.levelno == logging.WARNING for r in caplog.records if r.name == "remedy.service")


def test_valuation_service_down(claims, compiled, caplog) -> None:
    from remedy_inference.service import BundlePredictor

    from mlops.local.embedded_aws import free_port

    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    client, sink = api(BundlePredictor(compiled), http_market(dead))
    with caplog.at_level(logging.WARNING, logger="remedy.service"):
        decisions = decide_all(client, claims[:6])
    codes = {d["pav"]["market_error"].split(":")[0] for d in decisions}
    # connection refused, then the breaker opens after 3 failures and stops calling at all
    assert codes == {"UPSTREAM_ERROR", "CIRCUIT_OPEN"}, codes
    assert_market_fallback(decisions, sink, caplog, {"UPSTREAM_ERROR", "CIRCUIT_OPEN"})


def test_valuation_service_slow_times_out(claims, compiled, valuation_server, caplog) -> None:
    from remedy_inference.service import BundlePredictor

    valuation_server.faults.delay_s = 0.6  # > the client's 0.3 s timeout
    client, sink = api(BundlePredictor(compiled), http_market(valuation_server.base_url))
    with caplog.at_level(logging.WARNING, logger="remedy.service"):
        decisions = decide_all(client, claims[:3])
    assert decisions[0]["pav"]["market_error"].startswith("TIMEOUT")
    assert_market_fallback(decisions, sink, caplog, {"TIMEOUT", "CIRCUIT_OPEN"})


def test_valuation_service_returns_garbage(claims, compiled, valuation_server, caplog) -> None:
    from remedy_inference.service import BundlePredictor

    valuation_server.faults.garbage = True  # 200 with an HTML body
    client, sink = api(BundlePredictor(compiled), http_market(valuation_server.base_url))
    with caplog.at_level(logging.WARNING, logger="remedy.service"):
        decisions = decide_all(client, claims[:3])
    assert decisions[0]["pav"]["market_error"].startswith("BAD_RESPONSE")
    assert_market_fallback(decisions, sink, caplog, {"BAD_RESPONSE", "CIRCUIT_OPEN"})


def test_valuation_recovers_when_the_service_is_healthy_again(
    claims, compiled, valuation_server
) -> None:
    from remedy_inference.service import BundlePredictor

    valuation_server.faults.status, valuation_server.faults.count = 503, 2  # one call, 2 tries
    client, _ = api(BundlePredictor(compiled), http_market(valuation_server.base_url))
    first, second = decide_all(client, claims[:2])
    assert first["pav"]["market_error"].startswith("UPSTREAM_ERROR")
    assert second["pav"]["market_error"] is None
    assert second["pav"]["source"] in {"market_comparables", "market_guide"}


class Raising:
    def predict_one(self, features):
        raise RuntimeError("endpoint connection reset")


def nan_bundle(compiled):
    """The real compiled bundle whose scores turn NaN (a corrupt model), on both code paths."""
    broken = copy.copy(compiled)
    broken.raw = lambda X: np.full_like(compiled.raw(X), np.nan)

    def nan_row(vec):  # the one-claim hot path (native module or ONNX) does not go through raw()
        row, guide = compiled._raw_row(vec)
        return [math.nan] * len(row), guide

    broken._raw_row = nan_row
    return broken


class NaNEndpoint:
    """A SageMaker runtime client whose endpoint answers JSON with a NaN probability."""

    def __init__(self, outputs) -> None:
        self.body = json.dumps({"outputs": [{**outputs.to_dict(), "structural_prob": np.nan}]})

    def invoke_endpoint(self, **kwargs):
        return {"Body": io.BytesIO(self.body.encode())}


@pytest.mark.parametrize("fault", ["raising", "nan-bundle", "nan-endpoint"])
def test_model_failures_investigate_with_the_reason(fault, claims, compiled, caplog) -> None:
    from remedy_core.features import encode_claim
    from remedy_inference.endpoint import EndpointPredictor
    from remedy_inference.market_data import SyntheticMarket
    from remedy_inference.service import BundlePredictor

    predictor, code = {
        "raising": (lambda: Raising(), "MODEL_UNAVAILABLE"),
        "nan-bundle": (lambda: BundlePredictor(nan_bundle(compiled)), "MODEL_BAD_OUTPUT"),
        "nan-endpoint": (
            lambda: EndpointPredictor(
                "remedy", client=NaNEndpoint(compiled.predict_one(encode_claim(claims[0])))
            ),
            "MODEL_BAD_OUTPUT",
        ),
    }[fault]
    client, sink = api(predictor(), SyntheticMarket())
    with caplog.at_level(logging.WARNING, logger="remedy.service"):
        decisions = decide_all(client, claims[:3])
    for d, event in zip(decisions, sink.events, strict=True):
        assert d["recommendation"] == "investigate" and d["decided_by"] == "MISSING_EVIDENCE"
        assert d["reasons"][0]["code"] == code and code in d["data_quality_flags"]
        assert event.reasons[0].code == code and event.event_id == d["decision_id"]
        logged = [r.getMessage() for r in caplog.records if d["decision_id"] in r.getMessage()]
        assert any("model failed" in m for m in logged), logged
    assert len(sink.events) == 3
