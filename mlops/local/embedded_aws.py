"""moto server on a loopback port as the embedded AWS for local mode.

`EmbeddedAWS` starts `moto_server` as a child process, waits until it answers, configures it for
local use (Lambda without Docker, Step Functions that execute) and always stops it: on exit, on
error and on Ctrl-C. Clients made through it (or any boto3 client in a child process, via the
environment from `env()`) talk to it with fake credentials; nothing ever reaches a real account.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import Any

from mlops.errors import MlopsError
from mlops.local.processes import child_started, stop_process_group

LOOPBACK = "127.0.0.1"
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}


class EmbeddedAWSError(MlopsError):
    """The embedded AWS could not start or stopped answering."""


def free_port(host: str = LOOPBACK) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def port_in_use(port: int, host: str = LOOPBACK) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0


def _moto_command() -> list[str]:
    exe = Path(sys.executable).with_name("moto_server")
    if exe.exists():
        return [str(exe)]
    found = shutil.which("moto_server")
    if found:
        return [found]
    raise EmbeddedAWSError(
        "moto_server is not installed in this environment",
        "run `make demo` (it installs everything) or `uv sync` in the repo",
    )


class EmbeddedAWS:
    """A moto server on loopback. Use as a context manager."""

    def __init__(
        self,
        port: int | None = None,
        region: str = "eu-west-2",
        log_file: Path | None = None,
        startup_timeout: float = 20.0,
    ) -> None:
        self.requested_port = port
        self.port = port or 0
        self.region = region
        self.log_file = log_file
        self.startup_timeout = startup_timeout
        self._proc: subprocess.Popen[bytes] | None = None
        self._log_handle: Any = None

    # --- lifecycle -----------------------------------------------------------------------
    @property
    def endpoint_url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> EmbeddedAWS:
        if self.running:
            return self
        if self.requested_port and port_in_use(self.requested_port):
            raise EmbeddedAWSError(
                f"port {self.requested_port} on {LOOPBACK} is already in use",
                "stop whatever listens there (`ss -ltnp | grep PORT`) or pick another --aws-port",
            )
        self.port = self.requested_port or free_port()
        command = [*_moto_command(), "-H", LOOPBACK, "-p", str(self.port)]
        if self.log_file:
            self.log_file.parent.mkdir(parents=True, exist_ok=True)
            self._log_handle = self.log_file.open("ab")
        out = self._log_handle or subprocess.DEVNULL
        self._proc = subprocess.Popen(  # noqa: S603 - fixed command, our own venv's moto
            command, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        child_started("embedded AWS (moto)", self._proc, command)
        try:
            self._wait_ready()
            self.configure({"lambda": {"use_docker": False}})
            self.configure({"stepfunctions": {"execute_state_machine": True}})
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self._proc is not None and self._proc.poll() is not None:
                raise EmbeddedAWSError(
                    f"moto server exited at start (code {self._proc.returncode})",
                    f"see {self.log_file}" if self.log_file else "run with --debug",
                )
            try:
                with urllib.request.urlopen(f"{self.endpoint_url}/moto-api/data.json", timeout=1):  # noqa: S310
                    return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.1)
        raise EmbeddedAWSError(
            f"moto server did not answer on {self.endpoint_url} in {self.startup_timeout:.0f} s",
            "check that the machine is not overloaded, then try again",
        )

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        stop_process_group(proc, grace_s=5.0)
        if self._log_handle:
            self._log_handle.close()
            self._log_handle = None

    def restart(self) -> None:
        """Stop and start on the same port (state is lost, as with a real outage + restore)."""
        port = self.port
        self.stop()
        self.requested_port = port
        self.start()

    def __enter__(self) -> EmbeddedAWS:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # --- use -------------------------------------------------------------------------------
    def configure(self, settings: dict[str, Any]) -> None:
        request = urllib.request.Request(  # noqa: S310 - loopback URL we built
            f"{self.endpoint_url}/moto-api/config",
            data=json.dumps(settings).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=5):  # noqa: S310
            pass

    def env(self) -> dict[str, str]:
        """Environment for child processes: every boto3 client goes to the embedded AWS."""
        return {
            **FAKE_CREDENTIALS,
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_REGION": self.region,
        }

    def client(self, service: str, **kwargs: Any) -> Any:
        import boto3

        return boto3.client(
            service,
            endpoint_url=self.endpoint_url,
            region_name=self.region,
            aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            aws_session_token=FAKE_CREDENTIALS["AWS_SESSION_TOKEN"],
            **kwargs,
        )
