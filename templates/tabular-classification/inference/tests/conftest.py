"""A small model trained here, saved the way the training repo saves it (model.joblib + model.json).

Serving is model-agnostic (anything with predict_proba), so a logistic regression stands in for the
tuned model of the training repo.
"""

from __future__ import annotations

import os

# One OpenMP thread: CI runners are shared, and scikit-learn/LightGBM threads spinning on a busy
# machine made these small fits ~100x slower. Set before numpy/scikit-learn load.
os.environ.setdefault("OMP_NUM_THREADS", "1")

import json
from pathlib import Path

import joblib
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder

from tabular_core.schema import FeatureSchema, default_schema, synthetic_frame
from tabular_inference.model import Predictor


@pytest.fixture(scope="session")
def schema() -> FeatureSchema:
    return default_schema()


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory, schema: FeatureSchema) -> Path:
    frame = synthetic_frame(schema, rows=600, seed=3)
    model = Pipeline(
        [
            (
                "encode",
                ColumnTransformer(
                    [("cat", OneHotEncoder(handle_unknown="ignore"), list(schema.categorical))],
                    remainder="passthrough",
                ),
            ),
            ("model", LogisticRegression(max_iter=500)),
        ]
    )
    model.fit(frame[list(schema.features)], frame[schema.target])
    path = tmp_path_factory.mktemp("model")
    joblib.dump(model, path / "model.joblib")
    (path / "model.json").write_text(
        json.dumps({"features": list(schema.features), "version": "7"})
    )
    return path


@pytest.fixture(scope="session")
def predictor(model_dir: Path) -> Predictor:
    return Predictor.load(model_dir)


@pytest.fixture
def record(schema: FeatureSchema) -> dict:
    row = synthetic_frame(schema, rows=1, seed=11).iloc[0]
    return {
        name: (row[name].item() if hasattr(row[name], "item") else row[name])
        for name in schema.features
    }
