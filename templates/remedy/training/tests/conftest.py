import os
import tempfile
import warnings
from pathlib import Path

import pytest

warnings.filterwarnings("ignore", category=UserWarning)
# the compile step's cache (by model id) stays inside this test session
os.environ.setdefault("REMEDY_COMPILE_CACHE", tempfile.mkdtemp(prefix="remedy-compile-cache-"))


@pytest.fixture(scope="session")
def small_bundle(tmp_path_factory) -> Path:
    """A real bundle (all heads, few trees) trained once for the session."""
    from remedy_training.demo_bundle import build_demo_bundle

    return build_demo_bundle(tmp_path_factory.mktemp("bundle"), claims=1500, rounds=15, seed=3)
