"""Evaluation step: score the bundle (through ONNX, as served) on the held-out test split.

Writes evaluation.json with repair-cost MAE / median APE / bias / 80% coverage, PAV within
+-10%, the cost-weighted 3-class decision confusion matrix, wrong write-off and investigate
rates, ECE, and the gate outcome for the use case's metric and threshold.

    python -m remedy_training.evaluate --model work/model --test work/data/test \
        --output work/evaluation --eval-metric repair_cost_mdape --eval-threshold 0.25
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from remedy_core.bundle import load_bundle
from remedy_core.features import encode_frame
from remedy_training.data import PROCESSING_BASE, read_frame, resolve_model_dir
from remedy_training.metrics import EconomicRule, evaluate_predictions, gate


def evaluate(
    model: str | Path,
    test: str | Path,
    *,
    eval_metric: str | None = None,
    eval_threshold: float | None = None,
    margin: float = 0.08,
) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        bundle = load_bundle(resolve_model_dir(model, tmp))
        frame = read_frame(test)
        values = bundle.predict_raw(encode_frame(frame))
    result = evaluate_predictions(values, frame, EconomicRule(margin=margin))
    result["bundle_id"] = bundle.bundle_id
    result["model_versions"] = bundle.versions
    if eval_metric is not None and eval_threshold is not None:
        passed, value = gate(result, eval_metric, eval_threshold)
        result["gate"] = {
            "metric": eval_metric,
            "threshold": eval_threshold,
            "value": value,
            "passed": passed,
        }
    return result


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description="Remedy evaluation")
    p.add_argument("--model", default=f"{PROCESSING_BASE}/model")
    p.add_argument("--test", default=f"{PROCESSING_BASE}/test")
    p.add_argument("--output", default=f"{PROCESSING_BASE}/evaluation")
    p.add_argument("--eval-metric", default=None)
    p.add_argument("--eval-threshold", type=float, default=None)
    p.add_argument("--margin", type=float, default=0.08)
    a = p.parse_args(argv)
    result = evaluate(
        a.model, a.test, eval_metric=a.eval_metric, eval_threshold=a.eval_threshold, margin=a.margin
    )
    out = Path(a.output)
    out.mkdir(parents=True, exist_ok=True)
    (out / "evaluation.json").write_text(json.dumps(result, indent=2, default=float))
    headline = {k: round(v["value"], 4) for k, v in result["metrics"].items()}
    print(f"evaluation: {headline}")
    return result


if __name__ == "__main__":
    main()
