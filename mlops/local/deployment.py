"""Deploy a use case's inference locally: the valuation service and the decision API on loopback.

The rendered inference repo runs as it would in its container: `python -m remedy_inference.api`
with settings from the environment, the model bundle from the approved package's artifact, and
audit events written as JSON lines that a shipper forwards to CloudWatch Logs on the embedded AWS.
"""

from __future__ import annotations

import sys
import tarfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlops.errors import MlopsError
from mlops.local.embedded_aws import EmbeddedAWS, free_port, port_in_use
from mlops.local.processes import LocalService
from mlops.local.shipper import LogShipper

VALUATION_KEY = "local-valuation-key"  # the local fake valuation service's key


class DeploymentError(MlopsError):
    """The local deployment could not be set up."""


def fetch_bundle(aws: EmbeddedAWS, model_data_url: str, dest: Path) -> Path:
    """Download the approved package's model artifact (s3://…/model.tar.gz) and unpack it."""
    if not model_data_url.startswith("s3://"):
        raise DeploymentError(
            f"model artifact {model_data_url!r} is not an s3:// URL",
            "register packages with ModelDataUrl pointing at the artifacts bucket",
        )
    bucket, _, key = model_data_url.removeprefix("s3://").partition("/")
    dest.mkdir(parents=True, exist_ok=True)
    archive = dest / "model.tar.gz"
    aws.client("s3").download_file(bucket, key, str(archive))
    with tarfile.open(archive) as tar:
        tar.extractall(dest, filter="data")
    archive.unlink()
    manifests = sorted(dest.rglob("manifest.json"))
    if not manifests:
        raise DeploymentError(
            f"no manifest.json in the model artifact {model_data_url}",
            "the training run must package the bundle directory (manifest.json + ONNX)",
        )
    return manifests[0].parent


def _port(requested: int | None, what: str) -> int:
    if requested is None:
        return free_port()
    if port_in_use(requested):
        raise DeploymentError(
            f"port {requested} for the {what} is already in use on 127.0.0.1",
            f"stop what listens there or choose another port (--{what.replace(' ', '-')}-port)",
        )
    return requested


@dataclass
class LocalDeployment:
    """Valuation service + decision API (+ claims-handler view) for one inference repo."""

    repo: Path
    work: Path
    aws: EmbeddedAWS
    bundle_dir: Path | None
    stream: Any = None  # LocalAnalyticsStream: where the shipper sends audit lines
    api_port: int | None = None
    valuation_port: int | None = None
    services: dict[str, LocalService] = field(default_factory=dict)
    _stop_shipping: threading.Event = field(default_factory=threading.Event)
    _shipping: threading.Thread | None = None

    @property
    def audit_file(self) -> Path:
        return self.work / "logs" / "decision-audit.jsonl"

    @property
    def api_url(self) -> str:
        return self.services["decision API"].url

    @property
    def valuation(self) -> LocalService:
        return self.services["valuation service"]

    def _env(self) -> dict[str, str]:
        return {**self.aws.env(), "PYTHONPATH": str(self.repo / "src")}

    def start(self) -> LocalDeployment:
        logs = self.work / "logs"
        valuation_port = _port(self.valuation_port, "valuation")
        api_port = _port(self.api_port, "api")
        self.services["valuation service"] = LocalService(
            "valuation service",
            [
                *(sys.executable, "-m", "remedy_inference.valuation_service"),
                *("--port", str(valuation_port), "--api-key", VALUATION_KEY),
            ],
            port=valuation_port,
            cwd=self.repo,
            env=self._env(),
            log_file=logs / "valuation-service.log",
        ).start()
        api_env = {
            **self._env(),
            "REMEDY_VALUATION_URL": self.services["valuation service"].url,
            "REMEDY_VALUATION_KEY": VALUATION_KEY,
            "REMEDY_VALUATION_TIMEOUT_S": "1.0",
            "REMEDY_AUDIT_FILE": str(self.audit_file),
            "REMEDY_PORT": str(api_port),
            "REMEDY_PSEUDONYMISATION_KEY": "local-demo-pseudonymisation-key",
        }
        if self.bundle_dir:
            api_env["REMEDY_BUNDLE_DIR"] = str(self.bundle_dir)
        self.services["decision API"] = LocalService(
            "decision API",
            [sys.executable, "-m", "remedy_inference.api"],
            port=api_port,
            cwd=self.repo,
            env=api_env,
            log_file=logs / "decision-api.log",
        ).start()
        return self

    def restart_valuation(self) -> None:
        self.valuation.stop()
        self.valuation.start()

    def ship(self) -> int:
        """Forward new audit lines to CloudWatch Logs (→ Firehose → S3); returns lines sent."""
        if self.stream is None:
            return 0
        return LogShipper(self.audit_file, self.stream).ship().shipped

    def ship_in_background(self, every_s: float = 2.0) -> None:
        def loop() -> None:
            while not self._stop_shipping.wait(every_s):
                self.ship()

        self._shipping = threading.Thread(target=loop, name="log-shipper", daemon=True)
        self._shipping.start()

    def stop(self) -> None:
        self._stop_shipping.set()
        if self._shipping:
            self._shipping.join(timeout=10)
        for service in reversed(list(self.services.values())):
            service.stop()
        if self.stream is not None:
            self.ship()

    def __enter__(self) -> LocalDeployment:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
