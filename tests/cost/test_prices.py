"""The dated price table and the usage assumptions."""

from __future__ import annotations

import datetime as dt

import pytest
from pydantic import ValidationError

from mlops.config import ENVIRONMENTS
from mlops.cost.prices import load_prices, parse_prices, price_file
from mlops.cost.usage import Usage, default_usage
from mlops.errors import ConfigError
from mlops.usecases import load_manifests

from .factories import PRICE_DOC


def test_price_table_is_dated_sourced_and_positive() -> None:
    table = load_prices("eu-west-2")
    assert table.region == "eu-west-2" and table.currency == "USD"
    assert dt.date(2025, 1, 1) <= table.as_of <= dt.date.today()
    assert table.hours_per_month == 730
    assert all(value > 0 for _, value in table.leaves())
    text = price_file("eu-west-2").read_text()
    for service in ("sagemaker", "lambda", "firehose", "kms", "guardduty", "config"):
        assert f"#   {service}" in text, f"the header names no source for {service}"


def test_every_instance_type_in_the_use_case_manifests_is_priced() -> None:
    table = load_prices("eu-west-2")
    hosting = table.table("sagemaker.hosting_instance_hour")
    training = table.table("sagemaker.training_instance_hour")
    processing = table.table("sagemaker.processing_instance_hour")
    serverless = table.table("sagemaker.serverless_second_by_memory_mb")
    missing = []
    for m in load_manifests():
        for env in ENVIRONMENTS:
            s = m.stacks.for_env(env)
            if s.training_instance_type not in training:
                missing.append(f"{m.name}.{env} training {s.training_instance_type}")
            if s.processing_instance_type not in processing:
                missing.append(f"{m.name}.{env} processing {s.processing_instance_type}")
            ep = s.endpoint
            if ep.mode == "realtime" and ep.instance_type not in hosting:
                missing.append(f"{m.name}.{env} endpoint {ep.instance_type}")
            if ep.mode == "serverless" and str(ep.memory_mb) not in serverless:
                missing.append(f"{m.name}.{env} serverless {ep.memory_mb} MB")
    assert not missing, f"add these to mlops/cost/prices_eu-west-2.yaml: {missing}"


def test_bad_price_names_the_path() -> None:
    doc = {**PRICE_DOC, "kms": {"key_month": -1, "requests_per_10k": "cheap"}}
    with pytest.raises(ConfigError, match=r"kms\.key_month, kms\.requests_per_10k"):
        parse_prices(doc, "bad.yaml")


def test_undated_price_table_is_rejected() -> None:
    with pytest.raises(ConfigError, match="as_of 'last week' is not a date"):
        parse_prices({**PRICE_DOC, "as_of": "last week"}, "bad.yaml")
    doc = {k: v for k, v in PRICE_DOC.items() if k != "as_of"}
    with pytest.raises(ConfigError, match="missing as_of"):
        parse_prices(doc, "bad.yaml")


def test_region_without_a_table_says_which_exist() -> None:
    with pytest.raises(ConfigError) as info:
        load_prices("us-east-1")
    assert "no price table for region 'us-east-1'" in info.value.message
    assert "eu-west-2" in info.value.fix


def test_missing_price_is_a_clear_error() -> None:
    table = parse_prices(PRICE_DOC, "t.yaml")
    with pytest.raises(ConfigError, match=r"price 's3\.glacier_gb_month' is missing from t\.yaml"):
        table.get("s3.glacier_gb_month")


def test_usage_defaults_differ_per_stack_and_overrides_validate() -> None:
    dev, prod = default_usage("dev"), default_usage("prod")
    assert dev.requests_per_day < prod.requests_per_day
    assert dev.training_runs > 0 and prod.training_runs == 0  # models train in dev only
    changed = prod.with_overrides(requests_per_day=10, payload_kb=None, endpoint_mode="serverless")
    assert changed.requests_per_day == 10 and changed.payload_kb == prod.payload_kb
    assert changed.requests_per_month == pytest.approx(10 * 30.42)
    with pytest.raises(ValidationError, match="requests_per_day"):
        prod.with_overrides(requests_per_day=-1)
    with pytest.raises(ValidationError, match="endpoint_mode"):
        Usage(endpoint_mode="batch")


def test_every_assumption_is_described() -> None:
    rows = default_usage("dev").describe()
    assert len(rows) == len(Usage.model_fields)
    assert all(meaning for _, _, meaning in rows), "every assumption needs a description"
    shown = {name: value for name, value, _ in rows}
    assert shown["endpoint_mode"] == "as configured"
    assert shown["requests_per_day"] == "50"
