"""Hardening tests: the Remedy decision API and the local analytics path under bad input,
failing dependencies and load.

The Remedy code lives in the template tree (``templates/remedy/core``, ``.../inference/src``); it
is put on ``sys.path`` here, as ``bench/`` does, so these tests exercise the very files a rendered
repo contains. The tiny real bundle comes from the inference repo's own test helper.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
INFERENCE = ROOT / "templates" / "remedy" / "inference"
for sub in (ROOT / "templates" / "remedy" / "core", INFERENCE / "src"):
    if str(sub) not in sys.path:
        sys.path.insert(0, str(sub))

os.environ.setdefault("AWS_DEFAULT_REGION", "eu-west-2")


def _tiny_bundle_module():
    spec = importlib.util.spec_from_file_location(
        "_remedy_tiny_bundle", INFERENCE / "tests" / "tiny_bundle.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def bundle_dir(tmp_path_factory) -> Path:
    """A tiny but real bundle (every head, one ONNX graph), built once per session."""
    return _tiny_bundle_module().build_tiny_bundle(tmp_path_factory.mktemp("bundle") / "bundle")


@pytest.fixture(scope="session")
def compiled(bundle_dir):
    from remedy_core.bundle import load_bundle
    from remedy_inference.compiled import CompiledBundle

    return CompiledBundle(load_bundle(bundle_dir))


@pytest.fixture(scope="session")
def claims():
    """200 synthetic claims (seeded), as validated ``Claim`` models."""
    from remedy_core.synthetic import frame_to_claims, generate_claims

    return frame_to_claims(generate_claims(200, seed=11))


@pytest.fixture(scope="session")
def build_tiny_bundle():
    """The inference repo's tiny-bundle builder (another seed gives another real model)."""
    return _tiny_bundle_module().build_tiny_bundle
