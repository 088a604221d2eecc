"""Run the whole training flow on this machine: preprocess, tune, evaluate, gate.

    python -m tabular_training.run_local --workdir work --rows 2000 --trials 5

The same scripts run as steps of the SageMaker pipeline (pipeline.py); locally the tuning job is a
small random search over the same search space.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np

from tabular_core import usecase
from tabular_core.schema import default_schema
from tabular_training import estimator, evaluate, preprocess, train


def sample_params(rng: np.random.Generator) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for name, (kind, low, high) in estimator.SEARCH_SPACE.items():
        params[name] = (
            float(rng.uniform(low, high))
            if kind == "continuous"
            else int(rng.integers(int(low), int(high) + 1))
        )
    return params


def run(workdir: Path, rows: int = 2000, trials: int = 3, seed: int = 0) -> dict[str, Any]:
    schema = default_schema()
    splits = preprocess.run(None, workdir / "data", synthetic_rows=rows)
    train_frame = train._read(splits["train"])
    validation_frame = train._read(splits["validation"])
    rng = np.random.default_rng(seed)
    best: tuple[float, dict[str, Any], Any] | None = None
    for params in [dict(estimator.DEFAULT_PARAMS)] + [
        sample_params(rng) for _ in range(trials - 1)
    ]:
        model = train.fit(train_frame, schema, params)
        score = evaluate.compute_metrics(model, validation_frame, schema)[usecase.EVAL_METRIC]
        if best is None or score > best[0]:
            best = (score, params, model)
    assert best is not None
    _, params, model = best
    train.save(model, schema, params, workdir / "model")
    result = evaluate.run(workdir / "model", splits["test"], workdir / "evaluation")
    result["params"] = params
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workdir", type=Path, default=Path("work"))
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--trials", type=int, default=3)
    args = parser.parse_args(argv)
    result = run(args.workdir, args.rows, args.trials)
    print(json.dumps(result, indent=2))
    return 0 if result["gate"]["passed"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
