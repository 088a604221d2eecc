"""Settings for the local decision API and the Lambdas (a factory, never an import-time global).

Environment variables (all optional in local mode):
  REMEDY_BUNDLE_DIR          model bundle directory, served in-process
  REMEDY_ENDPOINT_NAME       else: the SageMaker endpoint (neither: MODEL_NOT_DEPLOYED)
  REMEDY_VALUATION_URL       valuation API base URL (unset: in-process synthetic market)
  REMEDY_VALUATION_KEY       API key, or REMEDY_VALUATION_SECRET_ID (Secrets Manager id)
  REMEDY_JURISDICTION        uk (default) | us
  REMEDY_STAGE               local (default) | dev | staging | prod (set by the stack): in
                             staging and prod there is no synthetic market and no local key
  REMEDY_RULES_FILE          JSON overrides of RuleConfig (e.g. {"borderline_band": 0.03})
  REMEDY_PSEUDONYMISATION_KEY  key for claim-id hashing in audit events (>= 16 bytes)
  REMEDY_HOST / REMEDY_PORT  local API bind address
  REMEDY_AUDIT_FILE          append audit events as JSON lines to this file (default: log them)
  REMEDY_MAX_BODY_BYTES      largest request body accepted (default 65536; larger: 413)
  REMEDY_BODY_TIMEOUT_S      time a client has to send the whole body (default 10; slower: 408)
  REMEDY_MAX_IN_FLIGHT       concurrent requests before 503 + Retry-After (default 64)
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from mlops.inference.valuation_client import ValuationClient, ValuationClientConfig
from pydantic import BaseModel, ConfigDict, Field

from remedy_core.rules import RuleConfig
from remedy_core.valuation import ValuationSource
from remedy_inference.audit import EventSink, JsonLinesSink, StdoutSink
from remedy_inference.market_data import HttpValuationSource, SyntheticMarket
from remedy_inference.service import BundlePredictor, DecisionService, NoModel, Predictor

if TYPE_CHECKING:
    from remedy_inference.api import RequestLimits


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    bundle_dir: str | None = None
    endpoint_name: str | None = None
    valuation_url: str | None = None
    valuation_key: str | None = None
    valuation_secret_id: str | None = None
    valuation_timeout_s: float = Field(default=2.0, gt=0)
    jurisdiction: str = "uk"
    stage: str = Field(default="local", pattern=r"^(local|dev|staging|prod)$")
    pseudonymisation_key: str = Field(default="local-only-pseudonymisation-key", min_length=16)
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)
    audit_file: str | None = None
    rules_file: str | None = None
    max_body_bytes: int = Field(default=64 * 1024, ge=1024, le=16 * 1024 * 1024)
    body_timeout_s: float = Field(default=10.0, gt=0, le=300)
    max_in_flight: int = Field(default=64, ge=1, le=10_000)


def rule_config(settings: Settings) -> RuleConfig:
    """The jurisdiction's default rule set, with overrides from ``REMEDY_RULES_FILE`` (JSON)."""
    base = RuleConfig.for_jurisdiction(settings.jurisdiction)
    if not settings.rules_file:
        return base
    overrides = json.loads(Path(settings.rules_file).read_text())
    merged = base.model_dump()
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    return RuleConfig.model_validate(merged)


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if env is None else env
    fields = {
        "bundle_dir": "REMEDY_BUNDLE_DIR",
        "endpoint_name": "REMEDY_ENDPOINT_NAME",
        "valuation_url": "REMEDY_VALUATION_URL",
        "valuation_key": "REMEDY_VALUATION_KEY",
        "valuation_secret_id": "REMEDY_VALUATION_SECRET_ID",
        "valuation_timeout_s": "REMEDY_VALUATION_TIMEOUT_S",
        "jurisdiction": "REMEDY_JURISDICTION",
        "stage": "REMEDY_STAGE",
        "pseudonymisation_key": "REMEDY_PSEUDONYMISATION_KEY",
        "host": "REMEDY_HOST",
        "port": "REMEDY_PORT",
        "audit_file": "REMEDY_AUDIT_FILE",
        "rules_file": "REMEDY_RULES_FILE",
        "max_body_bytes": "REMEDY_MAX_BODY_BYTES",
        "body_timeout_s": "REMEDY_BODY_TIMEOUT_S",
        "max_in_flight": "REMEDY_MAX_IN_FLIGHT",
    }
    return Settings.model_validate({k: env[v] for k, v in fields.items() if env.get(v)})


def request_limits(settings: Settings) -> RequestLimits:
    from remedy_inference.api import RequestLimits

    return RequestLimits(
        max_body_bytes=settings.max_body_bytes,
        body_timeout_s=settings.body_timeout_s,
        max_in_flight=settings.max_in_flight,
    )


def build_predictor(settings: Settings) -> Predictor:
    """A local bundle (in-process, compiled) if given, else the SageMaker endpoint, else none."""
    if not settings.bundle_dir:
        if settings.endpoint_name:
            from remedy_inference.endpoint import EndpointPredictor

            return EndpointPredictor(settings.endpoint_name)
        return NoModel()
    from remedy_core.bundle import load_bundle
    from remedy_inference.compiled import CompiledBundle

    return BundlePredictor(CompiledBundle(load_bundle(settings.bundle_dir)))


#: stages that never fall back to the synthetic market or the local pseudonymisation key
STRICT_STAGES = frozenset({"staging", "prod"})


class MissingConfiguration(RuntimeError):
    """A staging/prod function lacks what it must never fake (valuation API, real key)."""


def build_valuation(settings: Settings) -> ValuationSource:
    if not settings.valuation_url:
        if settings.stage in STRICT_STAGES:
            raise MissingConfiguration(
                f"REMEDY_VALUATION_URL is not set in {settings.stage}: refusing to serve "
                "synthetic market values (set valuationUrl in the stack config)"
            )
        return SyntheticMarket()
    config = ValuationClientConfig(
        base_url=settings.valuation_url,
        api_key=settings.valuation_key,
        api_key_secret_id=settings.valuation_secret_id,
        timeout_s=settings.valuation_timeout_s,
        deadline_s=max(4.0, settings.valuation_timeout_s),
    )
    return HttpValuationSource(ValuationClient(config))


def build_service(settings: Settings, sink: EventSink | None = None) -> DecisionService:
    return DecisionService(
        predictor=build_predictor(settings),
        valuation=build_valuation(settings),
        sink=sink or (JsonLinesSink(settings.audit_file) if settings.audit_file else StdoutSink()),
        config=rule_config(settings),
        pseudonymisation_key=settings.pseudonymisation_key,
    )
