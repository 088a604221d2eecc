"""Backtest step: the candidate, and the current approved model when there is one, on the held-out
test split; ``backtest.json`` and ``backtest.html`` for the lead to read before approving.

The scoring and the report are ``remedy_core.backtest``, the very code ``mlops backtest`` runs
locally: both sides go through the batch path (vectorised features, every head, the rules) with
the same synthetic market answers, so every difference comes from the model. The test split
carries the generator's outcomes, so the report has each side's decision cost as well.

Inputs as the governed pipeline passes them (``mlops.sagemaker_pipelines``, Backtest step):
``/opt/ml/processing/model`` (the best tuning job's ``model.tar.gz``),
``/opt/ml/processing/current`` (the ``CurrentModelUri`` parameter: a bundle directory or a
``model.tar.gz``; by default the build's marker prefix, which holds only the ``SYNTHETIC``
object: no current model, the candidate is reported alone) and ``/opt/ml/processing/test``;
output ``/opt/ml/processing/backtest``.

    python -m remedy_training.backtest --model work/model --current work/current \
        --test work/data/test --output work/backtest
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from remedy_core.backtest import Side, run_backtest, write_report
from remedy_core.bundle import load_bundle
from remedy_core.rules import RuleConfig
from remedy_core.synthetic_market import SyntheticMarket
from remedy_training.data import PROCESSING_BASE, read_frame, resolve_model_dir

MARKER = "SYNTHETIC"  # mlops.sagemaker_pipelines.SYNTHETIC_MARKER: the build's "no data" object


def _current_model(path: Path | None) -> Path | None:
    """The current model's bundle directory or model.tar.gz; None for "no current model" (no
    input, or the build's marker prefix); anything else is refused, not silently skipped."""
    if path is None or not path.exists():
        return None
    if path.is_file() and path.name.endswith(".tar.gz"):
        return path
    if path.is_dir() and any((path / f).is_file() for f in ("model.tar.gz", "manifest.json")):
        return path
    files = sorted(str(f.relative_to(path)) for f in path.rglob("*") if f.is_file())
    if files in ([], [MARKER]):
        return None
    raise SystemExit(
        f"--current {path}: neither a model.tar.gz nor a bundle (holds {', '.join(files[:5])}); "
        "set CurrentModelUri to the approved package's model data, or leave it at its default "
        "for no current model"
    )


def _side(path: Path, workdir: Path) -> Side:
    bundle = load_bundle(resolve_model_dir(path, workdir))
    return Side(bundle, bundle.bundle_id, RuleConfig())


def backtest(model: str | Path, current: str | Path | None, test: str | Path, output: str | Path):
    """Score the test split; returns (result, {"json": path, "html": path})."""
    frame = read_frame(test)
    current = _current_model(Path(current) if current is not None else None)
    with tempfile.TemporaryDirectory() as tmp:
        cand = _side(Path(model), Path(tmp) / "candidate")
        cur = _side(current, Path(tmp) / "current") if current is not None else None
        result = run_backtest(frame, cur, cand, market=SyntheticMarket())
    return result, write_report(result, Path(output))


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description="Remedy backtest: candidate vs current model")
    p.add_argument("--model", default=f"{PROCESSING_BASE}/model")
    p.add_argument("--current", default=f"{PROCESSING_BASE}/current")
    p.add_argument("--test", default=f"{PROCESSING_BASE}/test")
    p.add_argument("--output", default=f"{PROCESSING_BASE}/backtest")
    a = p.parse_args(argv)
    result, paths = backtest(a.model, a.current, a.test, a.output)
    headline = {
        "claims": result["claims"],
        "current_model": result["current_model"],
        "changed": result["changed"],
        "cost_impact": result.get("cost_impact"),
    }
    print(f"backtest: {json.dumps(headline)} -> {paths['json']}")
    return result


if __name__ == "__main__":
    main()
