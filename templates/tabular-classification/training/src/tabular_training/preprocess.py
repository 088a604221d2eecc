"""Preprocess: check the raw data against the schema and split it into train/validation/test.

Runs locally and as a SageMaker processing job (default paths are the processing container's).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd
from sklearn.model_selection import train_test_split

from tabular_core.schema import FeatureSchema, default_schema, synthetic_frame

SPLITS = ("train", "validation", "test")


def split(frame: pd.DataFrame, schema: FeatureSchema, seed: int = 0) -> dict[str, pd.DataFrame]:
    """70/15/15 split, stratified on the target."""
    clean = schema.check_frame(frame)
    train, rest = train_test_split(
        clean, test_size=0.3, random_state=seed, stratify=clean[schema.target]
    )
    validation, test = train_test_split(
        rest, test_size=0.5, random_state=seed, stratify=rest[schema.target]
    )
    return {"train": train, "validation": validation, "test": test}


def run(input_path: Path | None, output_dir: Path, synthetic_rows: int = 0) -> dict[str, Path]:
    schema = default_schema()
    if input_path is None:
        frame = synthetic_frame(schema, synthetic_rows or 2000)
    else:
        files = sorted(input_path.glob("*.csv")) if input_path.is_dir() else [input_path]
        frame = pd.concat([pd.read_csv(f) for f in files], ignore_index=True)
    written = {}
    for name, part in split(frame, schema).items():
        target = output_dir / name / f"{name}.csv"
        target.parent.mkdir(parents=True, exist_ok=True)
        part.to_csv(target, index=False)
        written[name] = target
    return written


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--input", type=Path, default=Path("/opt/ml/processing/input"))
    parser.add_argument("--output-dir", type=Path, default=Path("/opt/ml/processing/output"))
    parser.add_argument(
        "--synthetic-rows", type=int, default=0, help="generate synthetic data instead of --input"
    )
    args = parser.parse_args(argv)
    source = None if args.synthetic_rows else args.input
    for name, path in run(source, args.output_dir, args.synthetic_rows).items():
        print(f"{name}: {path}")


if __name__ == "__main__":
    main()
