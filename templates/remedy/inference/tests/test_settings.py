"""Settings factory: environment -> the service's adapters (no import-time globals)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from remedy_inference.audit import StdoutSink
from remedy_inference.compiled import CompiledBundle
from remedy_inference.market_data import HttpValuationSource, SyntheticMarket
from remedy_inference.service import BundlePredictor, NoModel
from remedy_inference.settings import build_service, load_settings


def test_defaults_are_local_mode_without_a_model():
    service = build_service(load_settings({}))
    assert isinstance(service.predictor, NoModel)
    assert isinstance(service.valuation, SyntheticMarket)
    assert isinstance(service.sink, StdoutSink)
    assert service.config.jurisdiction.kind == "uk"


def test_bundle_url_and_jurisdiction_from_the_environment(bundle_dir):
    env = {
        "REMEDY_BUNDLE_DIR": str(bundle_dir),
        "REMEDY_VALUATION_URL": "http://127.0.0.1:9",
        "REMEDY_VALUATION_KEY": "k",
        "REMEDY_JURISDICTION": "us",
    }
    service = build_service(load_settings(env))
    assert isinstance(service.predictor, BundlePredictor)
    assert isinstance(service.predictor.bundle, CompiledBundle)
    assert isinstance(service.valuation, HttpValuationSource)
    assert service.config.currency == "USD"


def test_bad_setting_names_the_field():
    with pytest.raises(ValidationError, match="port"):
        load_settings({"REMEDY_PORT": "99999"})


def test_rule_overrides_from_a_json_file(tmp_path):
    from remedy_inference.settings import rule_config

    rules = tmp_path / "rules.json"
    rules.write_text('{"borderline_band": 0.03, "jurisdiction": {"max_repair_ratio": 0.6}}')
    config = rule_config(load_settings({"REMEDY_RULES_FILE": str(rules)}))
    assert config.borderline_band == 0.03
    assert config.jurisdiction.max_repair_ratio == 0.6
    assert config.high_value_limit == 75_000  # untouched defaults stay
    rules.write_text('{"high_value_limit": -1}')
    with pytest.raises(ValidationError, match="high_value_limit"):
        rule_config(load_settings({"REMEDY_RULES_FILE": str(rules)}))


def test_endpoint_name_selects_the_sagemaker_predictor(monkeypatch):
    from remedy_inference.endpoint import EndpointPredictor

    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-2")
    service = build_service(load_settings({"REMEDY_ENDPOINT_NAME": "mlops-dev-remedy-endpoint"}))
    assert isinstance(service.predictor, EndpointPredictor)
    assert service.predictor.endpoint_name == "mlops-dev-remedy-endpoint"


@pytest.mark.parametrize("stage", ["staging", "prod"])
def test_outside_dev_no_synthetic_market_and_no_local_key(stage, monkeypatch):
    from remedy_inference.handlers import runtime
    from remedy_inference.settings import MissingConfiguration, build_valuation, load_settings

    with pytest.raises(MissingConfiguration, match="refusing to serve synthetic market"):
        build_valuation(load_settings({"REMEDY_STAGE": stage}))
    monkeypatch.delenv("REMEDY_PSEUDONYMISATION_SECRET_ID", raising=False)
    monkeypatch.setenv("REMEDY_STAGE", stage)
    runtime.pseudonymisation_key.cache_clear()
    try:
        with pytest.raises(MissingConfiguration, match="refusing the local pseudonymisation key"):
            runtime.pseudonymisation_key()
    finally:
        runtime.pseudonymisation_key.cache_clear()


def test_dev_and_local_may_use_the_synthetic_market():
    from remedy_inference.settings import build_valuation, load_settings

    for stage in ("local", "dev"):
        assert isinstance(build_valuation(load_settings({"REMEDY_STAGE": stage})), SyntheticMarket)
