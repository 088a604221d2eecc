"""Request limits on a real server (uvicorn on loopback, raw sockets): a client that sends its
body slowly, or a huge body, gets a clear answer and never holds up anyone else."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

BODY = {
    "claim_id": "LIMITS-1",
    "region": "wales",
    "incident_date": "2025-03-01",
    "vehicle": {"make": "Ford", "model": "Fiesta", "segment": "supermini",
                "body_type": "hatchback", "year": 2019, "mileage": 30_000.0,
                "powertrain": "petrol"},
    "accident": {"impact_point": "front", "delta_v_kph": 20.0, "zones_hit": ["front"],
                 "zone_severity": {"front": 0.4}},
}  # fmt: skip
LIMIT, DEADLINE_S = 8_192, 1.0


@pytest.fixture(scope="module")
def server(compiled) -> Iterator[tuple[str, int]]:
    import uvicorn
    from remedy_inference.api import RequestLimits, create_app
    from remedy_inference.audit import MemorySink
    from remedy_inference.market_data import SyntheticMarket
    from remedy_inference.service import BundlePredictor, DecisionService

    service = DecisionService(
        predictor=BundlePredictor(compiled), valuation=SyntheticMarket(), sink=MemorySink()
    )
    app = create_app(service, RequestLimits(max_body_bytes=LIMIT, body_timeout_s=DEADLINE_S))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                            timeout_graceful_shutdown=2)  # fmt: skip
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not uv.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield "127.0.0.1", port
    uv.should_exit = True
    thread.join(10)


def _send(address: tuple[str, int], head: str, body: bytes = b"") -> socket.socket:
    sock = socket.create_connection(address, timeout=10)
    sock.sendall(head.encode() + b"\r\n" + body)
    return sock


def _status(sock: socket.socket) -> tuple[int, bytes]:
    """The status and the whole response (head and the Content-Length bytes of body)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        (int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
         if line.lower().startswith(b"content-length:")),
        0,
    )  # fmt: skip
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return int(head.split(b" ", 2)[1]), head + b"\r\n\r\n" + body


def test_slow_body_is_408_and_others_are_served_meanwhile(server) -> None:
    head = ("POST /v1/decisions HTTP/1.1\r\nHost: api\r\nContent-Type: application/json\r\n"
            "Content-Length: 900\r\n")  # fmt: skip
    started = time.perf_counter()
    slow = _send(server, head, b'{"claim_id": ')  # and then nothing: a stalled client
    try:
        url = f"http://{server[0]}:{server[1]}/v1/decisions"
        for _ in range(3):
            r = httpx.post(url, json=BODY, timeout=5)
            assert r.status_code == 200, r.text
        served_s = time.perf_counter() - started
        status, raw = _status(slow)
        waited_s = time.perf_counter() - started
    finally:
        slow.close()
    assert served_s < DEADLINE_S, served_s  # three decisions while the slow body was pending
    assert status == 408 and b"did not arrive within 1 s" in raw, raw
    assert DEADLINE_S <= waited_s < DEADLINE_S + 3, waited_s


def test_declared_huge_body_is_413_without_sending_it(server) -> None:
    head = ("POST /v1/decisions HTTP/1.1\r\nHost: api\r\nContent-Type: application/json\r\n"
            "Content-Length: 50000000\r\n")  # fmt: skip
    started = time.perf_counter()
    sock = _send(server, head)
    try:
        status, raw = _status(sock)
    finally:
        sock.close()
    assert status == 413 and f"larger than the {LIMIT} bytes".encode() in raw, raw
    assert time.perf_counter() - started < 2


def test_chunked_body_growing_past_the_limit_is_413(server) -> None:
    head = ("POST /v1/decisions HTTP/1.1\r\nHost: api\r\nContent-Type: application/json\r\n"
            "Transfer-Encoding: chunked\r\n")  # fmt: skip
    sock = _send(server, head)
    try:
        chunk = b" " * 1024
        try:
            for _ in range(LIMIT // len(chunk) + 4):
                sock.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed: fine
        status, raw = _status(sock)
    finally:
        sock.close()
    assert status == 413 and f"larger than the {LIMIT} bytes".encode() in raw, raw
