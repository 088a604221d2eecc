"""Local valuation service: a small HTTP server over the synthetic market.

``POST /v1/valuations`` with a ``ValuationRequest`` JSON body and the ``x-api-key`` header returns
``MarketEvidence``. Used in local mode and in tests (``Faults`` injects slowness, 5xx and garbage).

Run: ``python -m remedy_inference.valuation_service --port 8081 --api-key local-key``
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from pydantic import ValidationError

from remedy_core.valuation import ValuationError, ValuationRequest
from remedy_inference.market_data import SyntheticMarket


@dataclass
class Faults:
    """Fault injection for tests: applies to the next ``count`` requests (None: all)."""

    delay_s: float = 0.0
    status: int | None = None
    garbage: bool = False
    count: int | None = None

    def take(self) -> bool:
        if self.count is None:
            return True
        if self.count > 0:
            self.count -= 1
            return True
        return False


class ValuationServer:
    """Threaded HTTP server; ``with ValuationServer() as s: s.base_url``."""

    def __init__(self, port: int = 0, api_key: str | None = "local-key") -> None:
        self.api_key = api_key
        self.faults = Faults()
        self.requests = 0
        self.market = SyntheticMarket()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                return

            def _send(self, status: int, body: bytes, ctype: str = "application/json") -> None:
                try:
                    self.send_response(status)
                    self.send_header("content-type", ctype)
                    self.send_header("content-length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    return  # the client gave up (timeout tests)

            def _json(self, status: int, obj: object) -> None:
                self._send(status, json.dumps(obj).encode())

            def do_GET(self) -> None:
                if self.path == "/health":
                    self._json(200, {"status": "ok"})
                else:
                    self._json(404, {"error": "not found"})

            def do_POST(self) -> None:
                server.requests += 1
                if self.path != "/v1/valuations":
                    self._json(404, {"error": "not found"})
                    return
                if server.api_key and self.headers.get("x-api-key") != server.api_key:
                    self._json(401, {"error": "missing or wrong x-api-key"})
                    return
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length)
                f = server.faults
                if f.take():
                    if f.delay_s:
                        time.sleep(f.delay_s)
                    if f.status is not None:
                        self._json(f.status, {"error": "injected"})
                        return
                    if f.garbage:
                        self._send(200, b"<html>not json", "text/html")
                        return
                try:
                    request = ValuationRequest.model_validate_json(raw)
                except ValidationError as exc:
                    self._json(422, {"error": exc.errors(include_url=False, include_context=False)})
                    return
                try:
                    evidence = server.market.lookup(request)
                except ValuationError as exc:
                    self._json(404, {"error": exc.code, "detail": exc.detail})
                    return
                self._send(200, evidence.model_dump_json().encode())

        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> ValuationServer:
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> ValuationServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--api-key", default="local-key")
    args = parser.parse_args(argv)
    server = ValuationServer(args.port, args.api_key)
    print(f"valuation service on {server.base_url}", flush=True)
    server.httpd.serve_forever()


if __name__ == "__main__":
    main()
