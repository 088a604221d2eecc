"""Per-container runtime objects, built once from the environment (a factory, not a global)."""

from __future__ import annotations

import functools
import os

from remedy_core.rules import RuleConfig
from remedy_core.valuation import ValuationSource
from remedy_inference.audit import StdoutSink
from remedy_inference.settings import build_valuation, load_settings
from remedy_inference.settings import rule_config as settings_rule_config


@functools.cache
def rule_config() -> RuleConfig:
    return settings_rule_config(load_settings())


@functools.cache
def valuation_source() -> ValuationSource:
    return build_valuation(load_settings())


@functools.cache
def audit_sink() -> StdoutSink:
    """Audit events go to stdout as bare JSON lines (one per decision) for the log subscription."""
    return StdoutSink()


@functools.cache
def pseudonymisation_key() -> str:
    """From Secrets Manager in the cloud (REMEDY_PSEUDONYMISATION_SECRET_ID), env locally."""
    secret_id = os.environ.get("REMEDY_PSEUDONYMISATION_SECRET_ID")
    if secret_id:
        from aws_lambda_powertools.utilities import parameters

        return str(parameters.get_secret(secret_id, max_age=3600))
    return load_settings().pseudonymisation_key
