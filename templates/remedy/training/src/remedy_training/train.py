"""Training job: SageMaker script-mode conventions, runnable as plain Python.

Reads channels from SM_CHANNEL_TRAIN / SM_CHANNEL_VALIDATION, hyperparameters from the command
line (`--learning_rate 0.05`, as SageMaker passes them) or SM_HPS, writes the bundle to
SM_MODEL_DIR and prints the objective metric line the tuner scrapes:

    validation:repair_mdape=0.123456;

    python -m remedy_training.train --train work/data/train --validation work/data/validation \
        --model-dir work/model --num_boost_round 200
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd

from remedy_core.bundle import export_bundle
from remedy_training.compile import compile_model
from remedy_training.data import env_path, read_frame
from remedy_training.metrics import evaluate_predictions, mdape
from remedy_training.models import (
    DEFAULT_HYPERPARAMETERS,
    apply_calibration,
    predict_heads,
    quantile_calibration,
    train_bundle,
)

OBJECTIVE_METRIC = "validation:repair_mdape"
OBJECTIVE_HEADS = ["repair_cost_p10", "repair_cost_p50", "repair_cost_p90"]
#: metric definitions for the SageMaker tuner / training job (name -> regex)
METRIC_DEFINITIONS = [
    {"Name": f"validation:{m}", "Regex": rf"validation:{m}=([0-9\.eE+-]+);"}
    for m in ("repair_mdape", "pav_within_10pct", "decision_cost")
]
_INT_HP = {"num_leaves", "min_data_in_leaf", "num_boost_round"}


def coerce_hyperparameters(raw: dict) -> dict:
    hp = {}
    for key, value in raw.items():
        if key not in DEFAULT_HYPERPARAMETERS:
            continue
        hp[key] = int(float(value)) if key in _INT_HP else float(value)
    return hp


def fit_and_score(
    train: pd.DataFrame,
    validation: pd.DataFrame,
    hp: dict,
    *,
    seed: int = 0,
    threads: int = 1,
    heads: list[str] | None = None,
):
    """Train (all heads, or `heads`) and score on validation. Returns (trained, metrics)."""
    trained = train_bundle(train, hp, seed=seed, threads=threads, heads=heads)
    values = predict_heads(trained, validation)
    metrics = {"repair_mdape": mdape(values["repair_cost_p50"], validation["t_estimate"])}
    if heads is None:
        trained.calibration = quantile_calibration(values, validation)
        ev = evaluate_predictions(apply_calibration(values, trained.calibration), validation)
        metrics["pav_within_10pct"] = ev["metrics"]["pav_within_10pct"]["value"]
        metrics["decision_cost"] = ev["metrics"]["decision_cost_per_claim"]["value"]
    return trained, metrics


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description="Remedy training job")
    p.add_argument("--train", default=env_path("SM_CHANNEL_TRAIN", "/opt/ml/input/data/train"))
    p.add_argument(
        "--validation", default=env_path("SM_CHANNEL_VALIDATION", "/opt/ml/input/data/validation")
    )
    p.add_argument("--model-dir", default=env_path("SM_MODEL_DIR", "/opt/ml/model"))
    p.add_argument(
        "--output-data-dir", default=env_path("SM_OUTPUT_DATA_DIR", "/opt/ml/output/data")
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=int(os.environ.get("SM_NUM_CPUS", "1")))
    for name, default in DEFAULT_HYPERPARAMETERS.items():
        p.add_argument(f"--{name}", default=default)
    a, _unknown = p.parse_known_args(argv)  # SageMaker may pass extra framework args
    raw = {k: getattr(a, k) for k in DEFAULT_HYPERPARAMETERS}
    raw.update(json.loads(os.environ.get("SM_HPS", "{}")) if argv is None else {})
    hp = coerce_hyperparameters(raw)

    train, validation = read_frame(a.train), read_frame(a.validation)
    trained, metrics = fit_and_score(train, validation, hp, seed=a.seed, threads=a.threads)
    for name, value in metrics.items():
        print(f"validation:{name}={value:.6f};", flush=True)
    export_bundle(
        a.model_dir,
        trained.boosters,
        calibration=trained.calibration,
        metrics={f"validation:{k}": v for k, v in metrics.items()},
        hyperparameters=trained.hyperparameters,
        data={"n_train": len(train), "n_validation": len(validation), "seed": a.seed},
    )
    # every head in one native module, inside the model artifact (seconds; ONNX stays the
    # fallback, also when this image has no C compiler)
    compiled = compile_model(a.model_dir).summary()
    print(f"compiled module: {json.dumps(compiled)}", flush=True)
    out = Path(a.output_data_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2))
    return {
        "metrics": metrics,
        "hyperparameters": trained.hyperparameters,
        "seconds": float(np.round(trained.seconds, 2)),
        "compiled": compiled,
    }


if __name__ == "__main__":
    main()
