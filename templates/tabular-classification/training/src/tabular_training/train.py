"""Train one model. Runs locally and as a SageMaker training job (one tuning trial).

SageMaker passes hyperparameters as `--name value` arguments and the data/model folders as
SM_CHANNEL_* / SM_MODEL_DIR; the tuner reads the `validation:<metric>=<value>` line this prints.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

import joblib
import pandas as pd
from sklearn.pipeline import Pipeline

from tabular_core import usecase
from tabular_core.schema import FeatureSchema, default_schema
from tabular_training import estimator
from tabular_training.evaluate import compute_metrics

MODEL_FILE = "model.joblib"
METADATA_FILE = "model.json"


def fit(frame: pd.DataFrame, schema: FeatureSchema, params: dict[str, Any]) -> Pipeline:
    clean = schema.check_frame(frame)
    model = estimator.build(schema, params)
    model.fit(clean[list(schema.features)], clean[schema.target])
    return model


def save(model: Pipeline, schema: FeatureSchema, params: dict[str, Any], model_dir: Path) -> Path:
    model_dir.mkdir(parents=True, exist_ok=True)
    joblib.dump(model, model_dir / MODEL_FILE)
    metadata = {
        "usecase": usecase.USECASE_NAME,
        "family": estimator.FAMILY,
        "params": params,
        "features": list(schema.features),
        "numeric": list(schema.numeric),
        "categorical": list(schema.categorical),
        "target": schema.target,
    }
    (model_dir / METADATA_FILE).write_text(json.dumps(metadata, indent=2))
    return model_dir / MODEL_FILE


def _read(channel: Path) -> pd.DataFrame:
    files = sorted(channel.glob("*.csv")) if channel.is_dir() else [channel]
    return pd.concat([pd.read_csv(f) for f in files], ignore_index=True)


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__)
    env = os.environ.get
    parser.add_argument("--train", type=Path, default=Path(env("SM_CHANNEL_TRAIN", "data/train")))
    parser.add_argument(
        "--validation", type=Path, default=Path(env("SM_CHANNEL_VALIDATION", "data/validation"))
    )
    parser.add_argument("--model-dir", type=Path, default=Path(env("SM_MODEL_DIR", "model")))
    for name, (kind, _, _) in estimator.SEARCH_SPACE.items():
        parser.add_argument(f"--{name}", type=float if kind == "continuous" else int)
    args = parser.parse_args(argv)
    params = {k: getattr(args, k) for k in estimator.SEARCH_SPACE if getattr(args, k) is not None}
    schema = default_schema()
    model = fit(_read(args.train), schema, params)
    save(model, schema, params, args.model_dir)
    metrics = compute_metrics(model, _read(args.validation), schema)
    for name, value in metrics.items():
        print(f"validation:{name}={value:.6f}")
    return metrics


if __name__ == "__main__":
    main()
