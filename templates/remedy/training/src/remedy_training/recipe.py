"""What this template gives the platform's governed training pipeline
(`mlops.sagemaker_pipelines.governed_pipeline`): its scripts, search space and objective. The
network, encryption, isolation, tuning budget, gate and registration come from the platform and
the use case's manifest (usecases/<name>.yaml), not from here.

    Preprocess (preprocess.py: claims, or synthetic ones) -> Tune (train.py, Bayesian)
      -> Evaluate (evaluate.py through ONNX, as served) -> Baseline (baseline.py: the inputs'
      Model Monitor statistics and constraints) -> Backtest (backtest.py: the candidate against
      the current approved model, if CurrentModelUri names one) -> Gate -> Register | GateFailed
"""

from __future__ import annotations

from mlops.sagemaker_pipelines import Param, Range, TrainingRecipe

from remedy_training import usecase
from remedy_training.metrics import METRIC_DIRECTIONS
from remedy_training.search_space import SEARCH_SPACE
from remedy_training.train import METRIC_DEFINITIONS, OBJECTIVE_METRIC

SYNTHETIC_CLAIMS = 200_000
"""Claims the Preprocess step generates when the input holds only the SYNTHETIC marker."""

RECIPE = TrainingRecipe(
    package="remedy_training",
    search_space=tuple(
        Range(p.name, "continuous" if p.kind == "float" else "integer", p.low, p.high, p.log)
        for p in SEARCH_SPACE
    ),
    objective_metric=OBJECTIVE_METRIC,
    objective_type="Minimize",
    metric_definitions=METRIC_DEFINITIONS,
    serving_program="remedy_inference/inference.py",
    gate_metrics={
        name: {"higher": "maximize", "lower": "minimize"}[direction]
        for name, direction in METRIC_DIRECTIONS.items()
        if direction in ("higher", "lower")
    },
    preprocess_arguments=("--base-dir", "{processing}", "--claims", Param("SyntheticClaims")),
    evaluate_arguments=(
        "--model",
        "{processing}/model",
        "--test",
        "{processing}/test",
        "--output",
        "{processing}/evaluation",
        "--eval-metric",
        "{eval_metric}",
        "--eval-threshold",
        "{eval_threshold}",
    ),
    baseline_script="baseline.py",
    baseline_arguments=("--train", "{processing}/train", "--output", "{processing}/baseline"),
    backtest_script="backtest.py",
    backtest_arguments=(
        "--model",
        "{processing}/model",
        "--current",
        "{processing}/current",
        "--test",
        "{processing}/test",
        "--output",
        "{processing}/backtest",
    ),
    parameters={"SyntheticClaims": SYNTHETIC_CLAIMS},
    synthetic_input=True,
    description=usecase.DESCRIPTION,
    customer_metadata={"owner": usecase.OWNER_EMAIL, "jurisdiction": usecase.JURISDICTION},
)
