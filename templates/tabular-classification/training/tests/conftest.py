from __future__ import annotations

import os

# One OpenMP thread: CI runners are shared, and scikit-learn/LightGBM threads spinning on a busy
# machine made these small fits ~100x slower. Set before numpy/scikit-learn load.
os.environ.setdefault("OMP_NUM_THREADS", "1")

import pandas as pd
import pytest

from tabular_core.schema import FeatureSchema, default_schema, synthetic_frame


@pytest.fixture(scope="session")
def schema() -> FeatureSchema:
    return default_schema()


@pytest.fixture(scope="session")
def frame(schema: FeatureSchema) -> pd.DataFrame:
    return synthetic_frame(schema, rows=800, seed=1)
