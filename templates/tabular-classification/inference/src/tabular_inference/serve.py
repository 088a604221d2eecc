"""SageMaker inference handler (script mode of the scikit-learn serving container).

The training pipeline registers models with SAGEMAKER_PROGRAM=tabular_inference/serve.py; the
container calls these four functions.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tabular_inference.model import Prediction, Predictor

CONTENT_TYPE = "application/json"


def model_fn(model_dir: str) -> Predictor:
    return Predictor.load(Path(model_dir))


def input_fn(body: str | bytes, content_type: str = CONTENT_TYPE) -> list[dict[str, Any]]:
    if content_type != CONTENT_TYPE:
        raise ValueError(f"unsupported content type {content_type!r}; send {CONTENT_TYPE}")
    data = json.loads(body)
    records = data.get("instances", data) if isinstance(data, dict) else data
    if isinstance(records, dict):
        records = [records]
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise ValueError('send {"instances": [{feature: value, ...}, ...]} or one object')
    return records


def predict_fn(records: list[dict[str, Any]], predictor: Predictor) -> list[Prediction]:
    return predictor.predict(records)


def output_fn(predictions: list[Prediction], accept: str = CONTENT_TYPE) -> tuple[str, str]:
    if accept not in (CONTENT_TYPE, "*/*"):
        raise ValueError(f"unsupported accept type {accept!r}; accept {CONTENT_TYPE}")
    return json.dumps({"predictions": [p.to_dict() for p in predictions]}), CONTENT_TYPE
