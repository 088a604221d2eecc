"""Shared fixtures for the inference repo's tests."""

from __future__ import annotations

import os
from dataclasses import dataclass

import pytest

os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "1")
os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "remedy-tests")
os.environ.setdefault("AWS_DEFAULT_REGION", "eu-west-2")


@pytest.fixture(scope="session")
def bundle_dir(tmp_path_factory):
    """A tiny but real bundle (all heads, one ONNX graph), built once per session."""
    from tiny_bundle import build_tiny_bundle

    return build_tiny_bundle(tmp_path_factory.mktemp("bundle") / "bundle")


@pytest.fixture(scope="session")
def bundle(bundle_dir):
    from remedy_core.bundle import load_bundle

    return load_bundle(bundle_dir)


@dataclass
class FakeLambdaContext:
    function_name: str = "remedy-test"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:eu-west-2:123456789012:function:remedy-test"
    aws_request_id: str = "00000000-0000-0000-0000-000000000000"


@pytest.fixture
def lambda_context():
    return FakeLambdaContext()
