"""Valuation API client: timeout, retries with backoff, 5xx, garbage, circuit breaker."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from pydantic import ValidationError

from mlops.inference.valuation_client import (
    CircuitBreaker,
    DependencyError,
    ValuationClient,
    ValuationClientConfig,
)

BASE = "http://valuations.test"


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t

    def sleep(self, s: float) -> None:
        self.t += s


def make_client(handler, clock=None, **cfg) -> tuple[ValuationClient, list[httpx.Request], Clock]:
    seen: list[httpx.Request] = []
    clock = clock or Clock()

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return handler(request)

    config = ValuationClientConfig(base_url=BASE, api_key="k-123", **cfg)
    client = ValuationClient(
        config, transport=httpx.MockTransport(record), sleep=clock.sleep, clock=clock
    )
    return client, seen, clock


def test_success_sends_key_and_returns_json():
    client, seen, _ = make_client(lambda r: httpx.Response(200, json={"guide_value": 1.0}))
    assert client.post({"make": "Ford"}) == {"guide_value": 1.0}
    assert seen[0].headers["x-api-key"] == "k-123"
    assert json.loads(seen[0].content) == {"make": "Ford"}
    assert seen[0].url.path == "/v1/valuations"


def test_5xx_is_retried_with_backoff_then_fails_as_upstream_error():
    client, seen, clock = make_client(lambda r: httpx.Response(503), max_attempts=3)
    with pytest.raises(DependencyError) as err:
        client.post({})
    assert err.value.code == "UPSTREAM_ERROR" and "503" in err.value.detail
    assert len(seen) == 3
    assert 0.0 < clock.t <= 0.1 + 0.2  # two jittered backoffs, each capped by base * 2^n


def test_5xx_then_success_recovers():
    answers = iter([httpx.Response(500), httpx.Response(200, json={"ok": True})])
    client, seen, _ = make_client(lambda r: next(answers))
    assert client.post({}) == {"ok": True}
    assert len(seen) == 2


@pytest.mark.parametrize(
    ("response", "code"),
    [
        (httpx.Response(200, text="<html>oops"), "BAD_RESPONSE"),
        (httpx.Response(200, json=[1, 2]), "BAD_RESPONSE"),
        (httpx.Response(404, json={}), "NOT_FOUND"),
        (httpx.Response(401, json={}), "CLIENT_ERROR"),
    ],
    ids=["not-json", "not-object", "404", "401"],
)
def test_non_retryable_failures_are_not_retried(response, code):
    client, seen, _ = make_client(lambda r: response)
    with pytest.raises(DependencyError) as err:
        client.post({})
    assert err.value.code == code
    assert len(seen) == 1


def test_429_is_retried():
    client, seen, _ = make_client(lambda r: httpx.Response(429), max_attempts=2)
    with pytest.raises(DependencyError):
        client.post({})
    assert len(seen) == 2


def test_deadline_stops_retries():
    client, seen, _ = make_client(
        lambda r: httpx.Response(502),
        max_attempts=10,
        timeout_s=1.0,
        deadline_s=1.05,
        backoff_base_s=0.5,
        backoff_max_s=0.5,
    )
    with pytest.raises(DependencyError):
        client.post({})
    assert len(seen) < 10


def test_circuit_opens_after_threshold_and_half_opens_after_reset():
    calls = {"n": 0}

    def flaky(r):
        calls["n"] += 1
        return httpx.Response(500)

    client, seen, clock = make_client(flaky, max_attempts=1, failure_threshold=2, reset_after_s=30)
    for _ in range(2):
        with pytest.raises(DependencyError):
            client.post({})
    assert client.breaker.state == "open"
    with pytest.raises(DependencyError) as err:
        client.post({})
    assert err.value.code == "CIRCUIT_OPEN"
    assert len(seen) == 2  # failed fast, no request
    clock.t += 31
    assert client.breaker.state == "half_open"
    with pytest.raises(DependencyError) as err:
        client.post({})
    assert err.value.code == "UPSTREAM_ERROR" and len(seen) == 3
    assert client.breaker.state == "open"


def test_breaker_closes_on_success():
    b = CircuitBreaker(1, 10, clock=lambda: 100.0)
    b.record_failure()
    assert b.state == "open" and not b.allow()
    b.record_success()
    assert b.state == "closed" and b.allow()


def test_config_rejects_bad_values_naming_the_field():
    with pytest.raises(ValidationError, match="base_url"):
        ValuationClientConfig(base_url="ftp://x")
    with pytest.raises(ValidationError, match="deadline_s"):
        ValuationClientConfig(base_url=BASE, timeout_s=5, deadline_s=1)


class _Slow(BaseHTTPRequestHandler):
    def log_message(self, *args):
        return

    def do_POST(self):
        time.sleep(1.0)
        self.send_response(200)
        self.end_headers()


def test_real_socket_timeout_is_reported_as_timeout():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Slow)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        host, port = httpd.server_address[:2]
        config = ValuationClientConfig(
            base_url=f"http://{host}:{port}", timeout_s=0.1, deadline_s=0.3, max_attempts=2,
            backoff_base_s=0.01,
        )  # fmt: skip
        with ValuationClient(config) as client:
            started = time.monotonic()
            with pytest.raises(DependencyError) as err:
                client.post({})
            assert err.value.code == "TIMEOUT"
            assert time.monotonic() - started < 0.9  # two 0.1 s attempts, not a 1 s answer
    finally:
        httpd.shutdown()
        httpd.server_close()  # (its handler threads are daemons; they finish sleeping alone)


def test_api_key_from_secrets_manager(monkeypatch):
    from aws_lambda_powertools.utilities import parameters

    monkeypatch.setattr(parameters, "get_secret", lambda name, max_age: f"secret-of-{name}")
    seen = []
    config = ValuationClientConfig(base_url=BASE, api_key_secret_id="remedy/valuation-key")
    client = ValuationClient(
        config,
        transport=httpx.MockTransport(lambda r: seen.append(r) or httpx.Response(200, json={})),
    )
    client.post({})
    assert seen[0].headers["x-api-key"] == "secret-of-remedy/valuation-key"
