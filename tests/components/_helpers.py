"""Small helpers shared by the component tests (not fixtures: plain functions)."""

from __future__ import annotations

import json
from typing import Any

from mlops.config import StackConfig
from mlops.naming import NameContext
from mlops.tags import base_tags
from mlops.testing.mocks import RecordedResource, RecordingMocks


def ctx_of(cfg: StackConfig) -> NameContext:
    return NameContext(environment=cfg.environment, account_id=cfg.account_id, region=cfg.region)


def tags_of(cfg: StackConfig) -> dict[str, str]:
    return base_tags(cfg)


def of_type(mocks: RecordingMocks, typ: str) -> list[RecordedResource]:
    found = mocks.of_type(typ)
    assert found, f"no {typ} registered"
    return found


def by_bucket(mocks: RecordingMocks, typ: str) -> dict[str, RecordedResource]:
    """Bucket sub-resources (encryption, PAB, ...) keyed by the bucket they configure."""
    return {r.inputs["bucket"]: r for r in mocks.of_type(typ)}


def policy(resource: RecordedResource, key: str = "policy") -> dict[str, Any]:
    value = resource.inputs[key]
    assert isinstance(value, str), f"{resource.name}.{key} is not resolved JSON: {value!r}"
    return json.loads(value)


def statements(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["Sid"]: s for s in doc["Statement"]}
