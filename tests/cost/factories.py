"""Hand-built resources and a round-number price table, so expectations can be computed by hand."""

from __future__ import annotations

from typing import Any

from mlops.cost.prices import PriceTable, parse_prices
from mlops.cost.usage import Usage
from mlops.testing.mocks import RecordedResource

# 100 hours a month and 1,000 requests a month keep the arithmetic in the tests readable.
PRICE_DOC: dict[str, Any] = {
    "as_of": "2026-01-01",
    "region": "eu-west-2",
    "currency": "USD",
    "hours_per_month": 100,
    "sagemaker": {
        "hosting_instance_hour": {"ml.c6i.large": 0.5, "ml.m5.large": 1.0},
        "training_instance_hour": {"ml.m5.xlarge": 2.0, "ml.m5.2xlarge": 4.0},
        "processing_instance_hour": {"ml.t3.medium": 0.1, "ml.m5.large": 1.0},
        "studio_instance_hour": {"ml.t3.medium": 0.1},
        "serverless_second_by_memory_mb": {2048: 0.001, 3072: 0.002},
        "data_processed_gb": 1.0,
    },
    "lambda": {"requests_per_million": 1.0, "gb_second_x86_64": 0.01, "gb_second_arm64": 0.005},
    "stepfunctions": {
        "express_requests_per_million": 2.0,
        "express_gb_second": 0.01,
        "express_memory_increment_mb": 64,
        "standard_transitions_per_thousand": 0.5,
    },
    "apigateway": {"rest_requests_per_million": 4.0, "http_requests_per_million": 1.0},
    "firehose": {
        "ingest_gb": 10.0,
        "record_increment_kb": 5,
        "format_conversion_gb": 1.0,
        "dynamic_partitioning_gb": 2.0,
        "dynamic_partitioning_per_1000_objects": 0.5,
    },
    "s3": {"standard_gb_month": 0.1, "put_per_thousand": 0.01, "get_per_thousand": 0.001},
    "kms": {"key_month": 1.0, "requests_per_10k": 0.03},
    "vpc": {
        "interface_endpoint_az_hour": 0.01,
        "interface_endpoint_gb": 0.01,
        "nat_gateway_hour": 0.05,
        "nat_gateway_gb": 0.05,
        "public_ipv4_hour": 0.005,
    },
    "cloudtrail": {"data_events_per_100k": 0.1, "additional_management_events_per_100k": 2.0},
    "guardduty": {
        "cloudtrail_events_per_million": 4.0,
        "flow_dns_logs_gb": 1.0,
        "s3_data_events_per_million": 1.0,
    },
    "config": {
        "configuration_item": 0.003,
        "rule_evaluation": 0.001,
        "conformance_pack_evaluation": 0.001,
    },
    "cloudwatch": {
        "logs_ingest_gb": 0.5,
        "logs_storage_gb_month": 0.03,
        "vended_logs_to_s3_gb": 0.25,
        "alarm_month": 0.1,
        "composite_alarm_month": 0.5,
        "dashboard_month": 3.0,
    },
    "codepipeline": {"v2_action_minute": 0.002, "v1_pipeline_month": 1.0},
    "codebuild": {"build_minute": {"BUILD_GENERAL1_SMALL": 0.005}},
    "ecr": {"storage_gb_month": 0.1},
    "codeartifact": {"storage_gb_month": 0.05, "requests_per_10k": 0.05},
    "secretsmanager": {"secret_month": 0.4, "requests_per_10k": 0.05},
    "efs": {"standard_gb_month": 0.3},
}


def price_table() -> PriceTable:
    return parse_prices(PRICE_DOC, "test prices")


def usage(**changes: Any) -> Usage:
    """1,000 requests a month (100/day x 10 days); override anything else per test."""
    base = {"requests_per_day": 100, "days_per_month": 10, "training_runs": 0, "tuning_runs": 0}
    return Usage.model_validate({**base, **changes})


def res(typ: str, logical: str, /, custom: bool = True, **inputs: Any) -> RecordedResource:
    """A recorded resource; keyword arguments are its camelCase inputs (`name=` included)."""
    return RecordedResource(
        type=typ, name=logical, inputs=inputs, custom=custom, urn=f"urn:{typ}::{logical}"
    )
