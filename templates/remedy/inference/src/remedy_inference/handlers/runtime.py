"""Per-container runtime objects, built once from the environment (a factory, not a global).

Imports happen inside the factories: each Lambda pays only for what it uses (the encode
Lambda never loads the settings, the valuation client or the rules).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from remedy_core.rules import RuleConfig
    from remedy_core.valuation import ValuationSource
    from remedy_inference.audit import StdoutSink


@functools.cache
def rule_config() -> RuleConfig:
    from remedy_inference.settings import load_settings
    from remedy_inference.settings import rule_config as settings_rule_config

    return settings_rule_config(load_settings())


@functools.cache
def valuation_source() -> ValuationSource:
    from remedy_inference.settings import build_valuation, load_settings

    return build_valuation(load_settings())


@functools.cache
def audit_sink() -> StdoutSink:
    """Audit events go to stdout as bare JSON lines (one per decision) for the log subscription."""
    from remedy_inference.audit import StdoutSink

    return StdoutSink()


@functools.cache
def pseudonymisation_key() -> str:
    """From Secrets Manager in the cloud (REMEDY_PSEUDONYMISATION_SECRET_ID), env locally; in
    staging and prod never the local default (a missing secret fails the step, loudly)."""
    secret_id = os.environ.get("REMEDY_PSEUDONYMISATION_SECRET_ID")
    if secret_id:
        from aws_lambda_powertools.utilities import parameters

        return str(parameters.get_secret(secret_id, max_age=3600))
    from remedy_inference.settings import STRICT_STAGES, MissingConfiguration, load_settings

    settings = load_settings()
    if settings.stage in STRICT_STAGES:
        raise MissingConfiguration(
            f"REMEDY_PSEUDONYMISATION_SECRET_ID is not set in {settings.stage}: refusing the "
            "local pseudonymisation key"
        )
    return settings.pseudonymisation_key


#: X-Ray subsegments from the Powertools Tracer (the aws-xray-sdk costs ~1 s of cold start to
#: import). Lambda's active tracing records every invocation without it; set this to 1 (and put
#: aws-lambda-powertools[tracer] in the layer) to add the SDK's subsegments as well.
TRACER_ENV = "REMEDY_XRAY_SDK"


def traced(service: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``Tracer.capture_lambda_handler`` when ``REMEDY_XRAY_SDK=1``, decided at the first call."""

    def wrap(fn: Callable[..., Any]) -> Callable[..., Any]:
        chosen: list[Callable[..., Any]] = []

        @functools.wraps(fn)
        def handler(event: Any, context: Any) -> Any:
            if not chosen:
                chosen.append(fn)
                if os.environ.get(TRACER_ENV, "").lower() in ("1", "true"):
                    from aws_lambda_powertools import Tracer

                    chosen[0] = Tracer(service=service).capture_lambda_handler(fn)
            return chosen[0](event, context)

        return handler

    return wrap
