"""What this template gives the platform's governed training pipeline
(`mlops.sagemaker_pipelines.governed_pipeline`): its scripts, search space and objective. The
network, encryption, isolation, tuning budget, gate and registration come from the platform and
the use case's manifest (usecases/<name>.yaml), not from here.

    Preprocess (preprocess.py) -> Tune (train.py, Bayesian) -> Evaluate (evaluate.py)
      -> Gate -> Register | GateFailed
"""

from __future__ import annotations

from mlops.sagemaker_pipelines import Range, TrainingRecipe

from tabular_core import usecase
from tabular_training import estimator
from tabular_training.evaluate import METRICS

OBJECTIVE_METRIC = f"validation:{usecase.EVAL_METRIC}"

RECIPE = TrainingRecipe(
    package="tabular_training",
    search_space=tuple(
        Range(name, kind, low, high) for name, (kind, low, high) in estimator.SEARCH_SPACE.items()
    ),
    objective_metric=OBJECTIVE_METRIC,
    objective_type="Maximize",
    metric_definitions=[{"Name": OBJECTIVE_METRIC, "Regex": f"{OBJECTIVE_METRIC}=([0-9\\.]+)"}],
    serving_program="tabular_inference/serve.py",
    gate_metrics=dict.fromkeys(METRICS, "maximize"),
    preprocess_arguments=("--output-dir", "{processing}"),
    evaluate_arguments=("--output-dir", "{processing}/evaluation"),
    description=usecase.DESCRIPTION,
)
