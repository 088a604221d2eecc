"""Baseline step: the data-quality baseline of the model's inputs, in SageMaker Model Monitor's
format (``statistics.json`` + ``constraints.json``), from the training split.

The inputs are what the endpoint receives and captures: the encoded feature vector
(``remedy_core.features.FEATURE_NAMES``). The pipeline attaches both files to the registered
model package (``DriftCheckBaselines`` and ``ModelMetrics`` model-data statistics/constraints);
the prod endpoint's data-quality monitoring schedule compares captured requests with them.

    python -m remedy_training.baseline --train work/data/train --output work/baseline
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np

from remedy_core.features import FEATURE_NAMES, encode_frame
from remedy_training.data import PROCESSING_BASE, read_frame

BUCKETS = 10
DRIFT_THRESHOLD = 0.1
"""Model Monitor's distribution-distance threshold (Robust comparison) for a drift violation."""


def _kind(column: np.ndarray) -> str:
    return "Integral" if np.all(np.equal(np.mod(column, 1), 0)) else "Fractional"


def feature_statistics(name: str, column: np.ndarray) -> dict[str, Any]:
    present = column[~np.isnan(column)]
    lo, hi = (float(present.min()), float(present.max())) if present.size else (0.0, 0.0)
    edges = np.linspace(lo, hi, BUCKETS + 1) if hi > lo else np.array([lo, hi])
    counts = np.histogram(present, bins=edges)[0] if hi > lo else np.array([present.size])
    buckets = [
        {"lower_bound": float(a), "upper_bound": float(b), "count": float(c)}
        for a, b, c in zip(edges[:-1], edges[1:], counts, strict=True)
    ]
    sample = np.quantile(present, np.linspace(0, 1, 101)).tolist() if present.size else []
    return {
        "name": name,
        "inferred_type": _kind(present) if present.size else "Fractional",
        "numerical_statistics": {
            "common": {
                "num_present": int(present.size),
                "num_missing": int(column.size - present.size),
            },
            "mean": float(present.mean()) if present.size else 0.0,
            "sum": float(present.sum()),
            "std_dev": float(present.std()) if present.size else 0.0,
            "min": lo,
            "max": hi,
            "distribution": {
                "kll": {
                    "buckets": buckets,
                    "sketch": {"parameters": {"c": 0.64, "k": 2048.0}, "data": [sample]},
                }
            },
        },
    }


def baseline(X: np.ndarray, names: tuple[str, ...] = FEATURE_NAMES) -> tuple[dict, dict]:
    """(statistics, constraints) of the feature matrix ``X`` in Model Monitor's format."""
    X = np.asarray(X, dtype=float)
    if X.ndim != 2 or X.shape[1] != len(names) or X.shape[0] == 0:
        raise ValueError(f"features must have shape (n > 0, {len(names)}), got {X.shape}")
    features = [feature_statistics(n, X[:, i]) for i, n in enumerate(names)]
    statistics = {"version": 0.0, "dataset": {"item_count": int(X.shape[0])}, "features": features}
    constraints = {
        "version": 0.0,
        "features": [
            {
                "name": f["name"],
                "inferred_type": f["inferred_type"],
                "completeness": f["numerical_statistics"]["common"]["num_present"] / X.shape[0],
                "num_constraints": {"is_non_negative": f["numerical_statistics"]["min"] >= 0},
            }
            for f in features
        ],
        "monitoring_config": {
            "evaluate_constraints": "Enabled",
            "emit_metrics": "Enabled",
            "datatype_check_threshold": 1.0,
            "domain_content_threshold": 1.0,
            "distribution_constraints": {
                "perform_comparison": "Enabled",
                "comparison_threshold": DRIFT_THRESHOLD,
                "comparison_method": "Robust",
            },
        },
    }
    return statistics, constraints


def main(argv: list[str] | None = None) -> dict[str, int]:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--train", default=f"{PROCESSING_BASE}/train")
    p.add_argument("--output", default=f"{PROCESSING_BASE}/baseline")
    a = p.parse_args(argv)
    statistics, constraints = baseline(encode_frame(read_frame(a.train)))
    out = Path(a.output)
    out.mkdir(parents=True, exist_ok=True)
    (out / "statistics.json").write_text(json.dumps(statistics, indent=1))
    (out / "constraints.json").write_text(json.dumps(constraints, indent=1))
    return {"rows": statistics["dataset"]["item_count"], "features": len(statistics["features"])}


if __name__ == "__main__":
    print(main())
