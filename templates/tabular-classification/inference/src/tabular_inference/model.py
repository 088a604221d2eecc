"""Load a trained model (model.joblib + model.json, as the training repo saves it) and predict."""

from __future__ import annotations

import json
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import joblib
import pandas as pd

from tabular_core import usecase
from tabular_core.schema import FeatureSchema, default_schema

DECISION_THRESHOLD = 0.5


class ModelNotFoundError(FileNotFoundError):
    """The model folder lacks model.joblib."""


@dataclass(frozen=True)
class Prediction:
    probability: float
    label: int

    def to_dict(self) -> dict[str, Any]:
        return {"probability": self.probability, "label": self.label}


@dataclass(frozen=True)
class Predictor:
    model: Any
    schema: FeatureSchema
    version: str

    @classmethod
    def load(cls, model_dir: Path) -> Predictor:
        archive = model_dir / "model.tar.gz"
        if archive.exists() and not (model_dir / "model.joblib").exists():
            with tarfile.open(archive) as tar:
                tar.extractall(model_dir, filter="data")
        path = model_dir / "model.joblib"
        if not path.exists():
            raise ModelNotFoundError(f"no model.joblib in {model_dir}")
        meta_path = model_dir / "model.json"
        meta = json.loads(meta_path.read_text()) if meta_path.exists() else {}
        schema = default_schema()
        trained_on = meta.get("features")
        if trained_on is not None and list(trained_on) != list(schema.features):
            raise ValueError(
                f"model was trained on {trained_on}, this service expects {list(schema.features)}"
            )
        version = str(meta.get("version", meta.get("family", usecase.MODEL_FAMILY)))
        return cls(joblib.load(path), schema, version)

    def predict(self, records: list[dict[str, Any]]) -> list[Prediction]:
        frame = self.schema.check_frame(pd.DataFrame.from_records(records), with_target=False)
        proba = self.model.predict_proba(frame[list(self.schema.features)])[:, 1]
        return [Prediction(float(p), int(p >= DECISION_THRESHOLD)) for p in proba]
