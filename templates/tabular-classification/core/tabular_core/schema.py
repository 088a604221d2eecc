"""The feature schema of this use case: column checks and a synthetic data generator.

Pure Python + numpy/pandas; the same module runs in training and in serving.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np
import pandas as pd

from tabular_core import usecase

CATEGORY_LEVELS = ("a", "b", "c", "d")


class SchemaError(ValueError):
    """Data does not match the use case's feature schema."""


@dataclass(frozen=True)
class FeatureSchema:
    target: str
    numeric: tuple[str, ...]
    categorical: tuple[str, ...]

    @property
    def features(self) -> tuple[str, ...]:
        return (*self.numeric, *self.categorical)

    def check_frame(self, frame: pd.DataFrame, *, with_target: bool = True) -> pd.DataFrame:
        """Return the frame's schema columns in order, numeric as float, categorical as str."""
        wanted = [*self.features, self.target] if with_target else list(self.features)
        missing = [c for c in wanted if c not in frame.columns]
        if missing:
            raise SchemaError(f"missing column(s): {', '.join(missing)}")
        out = frame[wanted].copy()
        for column in self.numeric:
            values = pd.to_numeric(out[column], errors="coerce")
            bad = values.isna() & out[column].notna()
            if bad.any():
                raise SchemaError(
                    f"column {column} has non-numeric values, e.g. {out[column][bad].iloc[0]!r}"
                )
            out[column] = values.astype(float)
        for column in self.categorical:
            out[column] = out[column].astype(str)
        if with_target:
            labels = set(pd.unique(out[self.target]))
            if not labels <= {0, 1}:
                raise SchemaError(
                    f"target {self.target} must be 0/1, found {sorted(map(str, labels))}"
                )
            out[self.target] = out[self.target].astype(int)
        return out


def default_schema() -> FeatureSchema:
    return FeatureSchema(usecase.TARGET, usecase.NUMERIC_FEATURES, usecase.CATEGORICAL_FEATURES)


def _weight(column: str) -> float:
    """A fixed per-column effect (stable across runs and machines)."""
    return (zlib.crc32(column.encode()) % 200 - 100) / 50.0 or 1.0


def synthetic_frame(schema: FeatureSchema, rows: int, seed: int = 0) -> pd.DataFrame:
    """Rows with a learnable signal: logit = sum of per-column effects + noise."""
    rng = np.random.default_rng(seed)
    data: dict[str, object] = {}
    logit = np.zeros(rows)
    for column in schema.numeric:
        values = rng.normal(0.0, 1.0, rows)
        data[column] = values.round(4)
        logit += _weight(column) * values
    for column in schema.categorical:
        levels = rng.integers(0, len(CATEGORY_LEVELS), rows)
        data[column] = np.array(CATEGORY_LEVELS)[levels]
        logit += _weight(column) * (levels - 1.5) / 1.5
    probability = 1.0 / (1.0 + np.exp(-(logit + rng.normal(0.0, 0.5, rows))))
    data[schema.target] = (rng.random(rows) < probability).astype(int)
    return pd.DataFrame(data)
