"""Train the Remedy bundle: one LightGBM booster per head (see remedy_core.bundle.HEADS).

All heads share one binned LightGBM Dataset (binning once is most of the cost on small data)
and one set of tuned hyperparameters; each head brings its own objective (binary, L2,
quantile at alpha, multiclass) and target scale (log1p for costs and days, log relative to
the guide value for PAV and salvage).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import lightgbm as lgb
import numpy as np
import pandas as pd

from remedy_core.bundle import HEADS, HeadSpec, encode_target
from remedy_core.features import FEATURE_NAMES, encode_frame

DEFAULT_HYPERPARAMETERS: dict[str, float | int] = {
    "learning_rate": 0.08,
    "num_leaves": 31,
    "min_data_in_leaf": 20,
    "feature_fraction": 0.9,
    "bagging_fraction": 0.9,
    "lambda_l2": 1.0,
    "num_boost_round": 200,
}


@dataclass
class TrainedBundle:
    boosters: dict[str, lgb.Booster]
    hyperparameters: dict
    seconds: float
    n_train: int
    heads_trained: list[str] = field(default_factory=list)
    calibration: dict[str, float] = field(default_factory=dict)


def _objective(head: HeadSpec) -> dict:
    if head.kind == "binary":
        return {"objective": "binary"}
    if head.kind == "multiclass":
        return {"objective": "multiclass", "num_class": head.num_class}
    if head.kind == "quantile":
        return {"objective": "quantile", "alpha": head.alpha}
    return {"objective": "regression"}


def lgb_params(hp: dict, head: HeadSpec, seed: int, threads: int) -> dict:
    return {
        **_objective(head),
        "learning_rate": float(hp["learning_rate"]),
        "num_leaves": int(hp["num_leaves"]),
        "min_data_in_leaf": int(hp["min_data_in_leaf"]),
        "feature_fraction": float(hp["feature_fraction"]),
        "bagging_fraction": float(hp["bagging_fraction"]),
        "bagging_freq": 1,
        "lambda_l2": float(hp["lambda_l2"]),
        "seed": seed,
        "deterministic": True,
        "num_threads": threads,
        "verbose": -1,
    }


def train_bundle(
    train: pd.DataFrame,
    hyperparameters: dict | None = None,
    *,
    seed: int = 0,
    threads: int = 1,
    heads: list[str] | None = None,
) -> TrainedBundle:
    """Fit the selected heads (default: all) on a generated claims frame with ground truth."""
    hp = {**DEFAULT_HYPERPARAMETERS, **(hyperparameters or {})}
    unknown = sorted(set(hp) - set(DEFAULT_HYPERPARAMETERS))
    if unknown:
        raise ValueError(
            f"unknown hyperparameter(s) {unknown}; use {list(DEFAULT_HYPERPARAMETERS)}"
        )
    selected = [h for h in HEADS if heads is None or h.name in heads]
    if heads is not None and len(selected) != len(set(heads)):
        raise ValueError(f"unknown head(s) in {heads}")
    t0 = time.perf_counter()
    X = encode_frame(train)
    data = lgb.Dataset(
        X,
        feature_name=list(FEATURE_NAMES),
        free_raw_data=False,
        params={"max_bin": 255, "verbose": -1, "min_data_in_leaf": int(hp["min_data_in_leaf"])},
    )
    data.construct()
    boosters = {}
    for head in selected:
        y = encode_target(head, train[head.target].to_numpy(), X)
        data.set_label(y)
        boosters[head.name] = lgb.train(
            lgb_params(hp, head, seed, threads), data, num_boost_round=int(hp["num_boost_round"])
        )
    return TrainedBundle(
        boosters=boosters,
        hyperparameters=hp,
        seconds=time.perf_counter() - t0,
        n_train=len(train),
        heads_trained=[h.name for h in selected],
    )


#: quantile heads recalibrated on validation data (multiplicative factor per head)
CALIBRATED_HEADS = (
    "repair_cost_p10", "repair_cost_p50", "repair_cost_p90", "pav_p10", "pav_p50", "pav_p90",
)  # fmt: skip
#: the repair-cost interval is calibrated to what the claim finally costs (supplements included)
FINAL_COST = "t_final_repair_cost"
INTERVAL_COVERAGE = 0.8


def quantile_calibration(values: dict[str, np.ndarray], frame: pd.DataFrame) -> dict[str, float]:
    """Factor f per quantile head, fitted on validation claims.

    PAV heads and the repair-cost median: a share alpha of actuals falls below f x prediction
    (quantile boosters on small or shifted data miss their nominal level). The repair-cost
    interval (p10, p90): split-conformal factors against the *final* repair cost
    (``remedy_core.monitoring.conformal_interval_factors``), so the 80% interval covers what the
    claim finally costs 80% of the time; fitted to the first estimate it covered the final cost
    only ~70%. The median stays the first estimate: the repair ratio is quoted on it, and the
    supplement is a separate item of the repair path.
    """
    from remedy_core.bundle import HEAD_BY_NAME
    from remedy_core.monitoring import conformal_interval_factors

    out = {}
    for name in CALIBRATED_HEADS:
        if name not in values:
            continue
        head = HEAD_BY_NAME[name]
        actual = frame[head.target].to_numpy(float)
        ratio = actual / np.maximum(values[name], 1e-9)
        out[name] = float(np.quantile(ratio, head.alpha))
    if {"repair_cost_p10", "repair_cost_p90"} <= set(values) and FINAL_COST in frame:
        low, high = conformal_interval_factors(
            values["repair_cost_p10"],
            values["repair_cost_p90"],
            frame[FINAL_COST].to_numpy(float),
            coverage=INTERVAL_COVERAGE,
        )
        out["repair_cost_p10"], out["repair_cost_p90"] = low, high
    return out


def apply_calibration(values: dict[str, np.ndarray], calibration: dict[str, float]) -> dict:
    return {k: v * calibration[k] if k in calibration else v for k, v in values.items()}


def predict_heads(trained: TrainedBundle, frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """Native LightGBM predictions, post-processed like the bundle's."""
    from remedy_core.bundle import HEAD_BY_NAME, postprocess

    X = encode_frame(frame)
    return {
        name: postprocess(HEAD_BY_NAME[name], b.predict(X), X)
        for name, b in trained.boosters.items()
    }
