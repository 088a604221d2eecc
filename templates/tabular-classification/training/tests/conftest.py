from __future__ import annotations

import pandas as pd
import pytest

from tabular_core.schema import FeatureSchema, default_schema, synthetic_frame


@pytest.fixture(scope="session")
def schema() -> FeatureSchema:
    return default_schema()


@pytest.fixture(scope="session")
def frame(schema: FeatureSchema) -> pd.DataFrame:
    return synthetic_frame(schema, rows=1200, seed=1)
