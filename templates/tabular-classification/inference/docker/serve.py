"""The inference image's server: SageMaker's hosting contract (port 8080, ``GET /ping``,
``POST /invocations``) over the script-mode handler the model package names in SAGEMAKER_PROGRAM
(a path under /opt/ml/code with ``model_fn``, ``input_fn``, ``predict_fn``, ``output_fn``).

Standard library only: the image installs nothing at run time and serves one model per container.
SageMaker starts the container as ``<image> serve``.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

CODE_DIR = Path(os.environ.get("SAGEMAKER_CODE_DIR", "/opt/ml/code"))
MODEL_DIR = os.environ.get("SAGEMAKER_MODEL_DIR", "/opt/ml/model")


def load_program(code_dir: Path, program: str) -> Any:
    """The handler module at `code_dir/program` (its package imports resolve from `code_dir`)."""
    path = code_dir / program
    if not program or not path.is_file():
        raise SystemExit(f"SAGEMAKER_PROGRAM={program!r} is not a file under {code_dir}")
    sys.path.insert(0, str(code_dir))
    name = program.removesuffix(".py").replace("/", ".")
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def make_handler(program: Any, model: Any) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _send(self, status: int, body: bytes, content_type: str = "application/json") -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            self._send(200 if self.path == "/ping" else 404, b"")

        def do_POST(self) -> None:
            if self.path != "/invocations":
                self._send(404, b"")
                return
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            try:
                data = program.input_fn(body, self.headers.get("Content-Type", "application/json"))
                result = program.output_fn(
                    program.predict_fn(data, model), self.headers.get("Accept", "application/json")
                )
            except ValueError as exc:  # the handlers' bad-request errors
                self._send(400, str(exc).encode())
                return
            payload, content_type = result if isinstance(result, tuple) else (result, None)
            if isinstance(payload, str):
                payload = payload.encode()
            self._send(200, payload, content_type or "application/json")

        def log_message(self, format: str, *args: Any) -> None:
            sys.stderr.write(f"{self.command} {self.path} {args[1] if len(args) > 1 else ''}\n")

    return Handler


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] != "serve":
        raise SystemExit(f"usage: serve (SageMaker hosting), got {argv[0]!r}")
    program = load_program(CODE_DIR, os.environ.get("SAGEMAKER_PROGRAM", ""))
    model = program.model_fn(MODEL_DIR)
    port = int(os.environ.get("SAGEMAKER_BIND_TO_PORT", "8080"))
    # "" binds every interface of the container (SageMaker reaches it on port 8080)
    ThreadingHTTPServer(("", port), make_handler(program, model)).serve_forever()


if __name__ == "__main__":
    main()
