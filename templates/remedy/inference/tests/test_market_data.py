"""Market-data adapter over the local valuation service: happy path, timeout, 5xx, garbage."""

from __future__ import annotations

import pytest
from mlops.inference.valuation_client import ValuationClient, ValuationClientConfig

from factories import claim
from remedy_core.valuation import ValuationError, ValuationRequest
from remedy_inference.market_data import HttpValuationSource, SyntheticMarket
from remedy_inference.valuation_service import ValuationServer

REQUEST = ValuationRequest.from_claim(claim())


@pytest.fixture(scope="module")
def server():
    with ValuationServer(api_key="local-key") as s:
        yield s


@pytest.fixture
def source(server):
    server.faults.__init__()  # reset fault injection
    config = ValuationClientConfig(
        base_url=server.base_url,
        api_key="local-key",
        timeout_s=0.2,
        deadline_s=0.6,
        max_attempts=2,
        backoff_base_s=0.01,
    )
    with ValuationClient(config) as client:
        yield HttpValuationSource(client)


def test_request_carries_no_claim_id():
    assert "CLM-0001" not in REQUEST.model_dump_json()
    assert REQUEST.as_of.isoformat() == "2026-10-01"


def test_http_source_returns_the_synthetic_market_evidence(source):
    evidence = source.lookup(REQUEST)
    local = SyntheticMarket().lookup(REQUEST)
    assert evidence == local
    assert 3 <= len(evidence.comparables) <= 10
    assert evidence.guide_value and evidence.comparables_adjusted_value
    assert all(c.make == "Ford" and c.distance_miles >= 1 for c in evidence.comparables)


def test_timeout_becomes_valuation_error(source, server):
    server.faults.delay_s = 0.5
    with pytest.raises(ValuationError) as err:
        source.lookup(REQUEST)
    assert err.value.code == "TIMEOUT"


def test_5xx_retried_then_valuation_error(source, server):
    before = server.requests
    server.faults.status = 503
    with pytest.raises(ValuationError) as err:
        source.lookup(REQUEST)
    assert err.value.code == "UPSTREAM_ERROR"
    assert server.requests - before == 2


def test_one_5xx_then_success(source, server):
    server.faults.status, server.faults.count = 500, 1
    assert source.lookup(REQUEST).guide_value is not None


def test_garbage_becomes_bad_response(source, server):
    server.faults.garbage = True
    with pytest.raises(ValuationError) as err:
        source.lookup(REQUEST)
    assert err.value.code == "BAD_RESPONSE"


def test_wrong_api_key_is_a_client_error(server):
    config = ValuationClientConfig(base_url=server.base_url, api_key="wrong")
    with ValuationClient(config) as client, pytest.raises(ValuationError) as err:
        HttpValuationSource(client).lookup(REQUEST)
    assert err.value.code == "CLIENT_ERROR"


def test_unknown_region_is_not_found():
    odd = REQUEST.model_copy(update={"region": "mars"})
    with pytest.raises(ValuationError) as err:
        SyntheticMarket().lookup(odd)
    assert err.value.code == "NOT_FOUND"
