"""Train a tiny but real model bundle for tests (all heads, few trees, small synthetic sample).

The inference repo does not import the training repo: this trains LightGBM boosters directly on
``remedy_core.synthetic`` with ``remedy_core.bundle``'s head specs and exports the same bundle
format (one merged ONNX graph + manifest + the compiled module of ``remedy_core.forest``) as
training does.
"""

from __future__ import annotations

from pathlib import Path

import lightgbm as lgb

from remedy_core.bundle import HEADS, encode_target, export_bundle
from remedy_core.features import FEATURE_NAMES, encode_frame
from remedy_core.forest import compile_forest
from remedy_core.synthetic import generate_claims


def _objective(head) -> dict:
    if head.kind == "binary":
        return {"objective": "binary"}
    if head.kind == "multiclass":
        return {"objective": "multiclass", "num_class": head.num_class}
    if head.kind == "quantile":
        return {"objective": "quantile", "alpha": head.alpha}
    return {"objective": "regression"}


def build_tiny_bundle(
    path: Path, n: int = 2_000, rounds: int = 10, seed: int = 7, compiled: bool = True
) -> Path:
    frame = generate_claims(n, seed=seed)
    X = encode_frame(frame)
    data = lgb.Dataset(X, feature_name=list(FEATURE_NAMES), free_raw_data=False,
                       params={"verbose": -1})  # fmt: skip
    data.construct()
    boosters = {}
    for head in HEADS:
        data.set_label(encode_target(head, frame[head.target].to_numpy(), X))
        params = {**_objective(head), "num_leaves": 15, "learning_rate": 0.2, "verbose": -1,
                  "num_threads": 1, "seed": seed, "deterministic": True}  # fmt: skip
        boosters[head.name] = lgb.train(params, data, num_boost_round=rounds)
    export_bundle(path, boosters, data={"n": n, "purpose": "inference tests"})
    if compiled:
        compile_forest(path)
    return path
