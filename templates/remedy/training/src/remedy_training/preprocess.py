"""Processing step: generate (or read) claims and split them into train/validation/test.

SageMaker Processing convention: input claims (optional) under /opt/ml/processing/input,
outputs under /opt/ml/processing/{train,validation,test}. Runnable as plain Python:

    python -m remedy_training.preprocess --base-dir work/data --claims 20000 --seed 7
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from remedy_core.synthetic import generate_claims
from remedy_training.data import PROCESSING_BASE, SPLITS, read_frame, write_frame


def split_frame(df: pd.DataFrame, seed: int, validation: float = 0.15, test: float = 0.15):
    if not 0 < validation < 1 or not 0 < test < 1 or validation + test >= 1:
        raise ValueError("validation and test fractions must be in (0, 1) and sum below 1")
    order = np.random.default_rng(seed + 1).permutation(len(df))
    n_test, n_val = int(len(df) * test), int(len(df) * validation)
    parts = {
        "test": order[:n_test],
        "validation": order[n_test : n_test + n_val],
        "train": order[n_test + n_val :],
    }
    return {k: df.iloc[np.sort(v)].reset_index(drop=True) for k, v in parts.items()}


def run(
    base_dir: str | Path, claims: int, seed: int, validation: float = 0.15, test: float = 0.15
) -> dict[str, int]:
    base = Path(base_dir)
    source = base / "input"
    # Claims files (parquet/CSV) under input/ are used as they are; without any (e.g. only a
    # SYNTHETIC marker object, since a SageMaker S3 input needs at least one object) the seeded
    # generator makes `claims` synthetic claims.
    has_input = source.is_dir() and any(p.suffix in (".parquet", ".csv") for p in source.iterdir())
    df = read_frame(source) if has_input else generate_claims(claims, seed=seed)
    splits = split_frame(df, seed, validation, test)
    for name in SPLITS:
        write_frame(splits[name], base / name)
    return {name: len(splits[name]) for name in SPLITS}


def main(argv: list[str] | None = None) -> dict[str, int]:
    p = argparse.ArgumentParser(description="Remedy preprocessing")
    p.add_argument("--base-dir", default=PROCESSING_BASE)
    p.add_argument("--claims", type=int, default=50_000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--validation", type=float, default=0.15)
    p.add_argument("--test", type=float, default=0.15)
    a = p.parse_args(argv)
    sizes = run(a.base_dir, a.claims, a.seed, a.validation, a.test)
    print(f"preprocess: {sizes}")
    return sizes


if __name__ == "__main__":
    main()
