"""Evaluate a trained model on the test split and write evaluation.json (the gate's input).

The report follows SageMaker's model-quality format ({"metrics": {name: {"value": x}}}), so the
pipeline's ConditionStep reads it with JsonGet and the model registry shows it.
"""

from __future__ import annotations

import argparse
import json
import tarfile
from pathlib import Path
from typing import Any

import joblib
import pandas as pd
from sklearn import metrics as skm

from tabular_core import usecase
from tabular_core.schema import FeatureSchema, default_schema

REPORT_FILE = "evaluation.json"
METRICS = ("roc_auc", "average_precision", "f1", "accuracy")


def compute_metrics(model: Any, frame: pd.DataFrame, schema: FeatureSchema) -> dict[str, float]:
    clean = schema.check_frame(frame)
    y_true = clean[schema.target]
    proba = model.predict_proba(clean[list(schema.features)])[:, 1]
    y_pred = (proba >= 0.5).astype(int)
    return {
        "roc_auc": float(skm.roc_auc_score(y_true, proba)),
        "average_precision": float(skm.average_precision_score(y_true, proba)),
        "f1": float(skm.f1_score(y_true, y_pred, zero_division=0)),
        "accuracy": float(skm.accuracy_score(y_true, y_pred)),
    }


def passes_gate(metrics: dict[str, float], threshold: float = usecase.EVAL_THRESHOLD) -> bool:
    """The registration gate: the use case's metric must reach its threshold."""
    return metrics[usecase.EVAL_METRIC] >= threshold


def report(metrics: dict[str, float], threshold: float = usecase.EVAL_THRESHOLD) -> dict[str, Any]:
    return {
        "metrics": {name: {"value": value} for name, value in metrics.items()},
        "gate": {
            "metric": usecase.EVAL_METRIC,
            "threshold": threshold,
            "passed": passes_gate(metrics, threshold),
        },
    }


def load_model(model_dir: Path) -> Any:
    """Load model.joblib from a folder, extracting SageMaker's model.tar.gz first if present."""
    archive = model_dir / "model.tar.gz"
    if archive.exists():
        with tarfile.open(archive) as tar:
            tar.extractall(model_dir, filter="data")
    return joblib.load(model_dir / "model.joblib")


def run(model_dir: Path, test_path: Path, output_dir: Path) -> dict[str, Any]:
    files = sorted(test_path.glob("*.csv")) if test_path.is_dir() else [test_path]
    frame = pd.concat([pd.read_csv(f) for f in files], ignore_index=True)
    result = report(compute_metrics(load_model(model_dir), frame, default_schema()))
    output_dir.mkdir(parents=True, exist_ok=True)
    (output_dir / REPORT_FILE).write_text(json.dumps(result, indent=2))
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model-dir", type=Path, default=Path("/opt/ml/processing/model"))
    parser.add_argument("--test", type=Path, default=Path("/opt/ml/processing/test"))
    parser.add_argument("--output-dir", type=Path, default=Path("/opt/ml/processing/evaluation"))
    args = parser.parse_args(argv)
    result = run(args.model_dir, args.test, args.output_dir)
    print(json.dumps(result["gate"]))


if __name__ == "__main__":
    main()
