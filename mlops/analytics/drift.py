"""Input drift: population stability index (PSI) per feature against the training data.

The features are the use case's (it names them when it builds the profile; the platform has no
default list). The reference profile is built once from the training inputs (decile bin edges and
the share of training rows in each bin) and stored as JSON next to the model bundle; decisions in
the warehouse are then binned on the same edges per month.
PSI = Σ (p_cur − p_ref) · ln(p_cur / p_ref); the usual reading is < 0.1 stable, 0.1–0.2 moderate
shift, > 0.2 significant (the default alarm threshold, configurable).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mlops.errors import MlopsError

DEFAULT_PSI_THRESHOLD = 0.2
_EPS = 1e-4


class DriftError(MlopsError):
    """A drift reference profile is missing or unusable."""


@dataclass(frozen=True)
class FeatureProfile:
    name: str
    edges: list[float]  # inner bin edges (bins: (-inf, e0], (e0, e1], ..., (e_last, inf))
    proportions: list[float]  # len(edges) + 1, sums to 1

    @classmethod
    def from_values(cls, name: str, values: Sequence[float], bins: int = 10) -> FeatureProfile:
        arr = np.asarray([v for v in values if v is not None], dtype=float)
        if arr.size < bins:
            raise DriftError(
                f"feature {name!r} has {arr.size} reference values; need at least {bins}",
                fix="build the reference profile from the full training set",
            )
        qs = np.quantile(arr, np.linspace(0, 1, bins + 1)[1:-1])
        edges = sorted({float(q) for q in qs})
        return cls(name, edges, _shares(arr, edges))

    def psi(self, values: Iterable[float | None]) -> float:
        arr = np.asarray([v for v in values if v is not None], dtype=float)
        if arr.size == 0:
            return float("nan")
        cur = np.clip(np.asarray(_shares(arr, self.edges)), _EPS, None)
        ref = np.clip(np.asarray(self.proportions), _EPS, None)
        return float(np.sum((cur - ref) * np.log(cur / ref)))


@dataclass(frozen=True)
class CategoryProfile:
    """A categorical feature: the share of training rows per level."""

    name: str
    levels: dict[str, float]

    @classmethod
    def from_values(cls, name: str, values: Sequence[str | None]) -> CategoryProfile:
        seen = [str(v) for v in values if v is not None]
        if not seen:
            raise DriftError(
                f"categorical feature {name!r} has no reference values",
                fix="build the reference profile from the full training set",
            )
        levels = sorted(set(seen))
        return cls(name, {v: seen.count(v) / len(seen) for v in levels})

    def psi(self, values: Iterable[str | None]) -> float:
        seen = [str(v) for v in values if v is not None]
        if not seen:
            return float("nan")
        levels = sorted(set(self.levels) | set(seen))
        cur = np.clip(np.asarray([seen.count(v) / len(seen) for v in levels]), _EPS, None)
        ref = np.clip(np.asarray([self.levels.get(v, 0.0) for v in levels]), _EPS, None)
        return float(np.sum((cur - ref) * np.log(cur / ref)))


def _shares(arr: np.ndarray, edges: list[float]) -> list[float]:
    idx = np.searchsorted(np.asarray(edges), arr, side="left")
    counts = np.bincount(idx, minlength=len(edges) + 1)
    return [float(c) / arr.size for c in counts]


@dataclass(frozen=True)
class ReferenceProfile:
    source: str
    rows: int
    features: dict[str, FeatureProfile]
    categories: dict[str, CategoryProfile] = field(default_factory=dict)

    @classmethod
    def from_rows(
        cls,
        rows: Sequence[Mapping[str, Any]],
        source: str,
        features: Sequence[str],
        categorical: Sequence[str] = (),
    ) -> ReferenceProfile:
        """The profile of ``features`` (numeric, binned on deciles) and ``categorical`` (shares
        per level) over the training ``rows``; the use case names both."""
        if not features and not categorical:
            raise DriftError(
                f"no features to profile for {source!r}",
                fix="name the use case's drift features (numeric and/or categorical)",
            )
        return cls(
            source=source,
            rows=len(rows),
            features={f: FeatureProfile.from_values(f, [r.get(f) for r in rows]) for f in features},
            categories={c: CategoryProfile.from_values(c, [r.get(c) for r in rows])
                        for c in categorical},
        )  # fmt: skip

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        data = {
            "source": self.source,
            "rows": self.rows,
            "features": {k: asdict(v) for k, v in self.features.items()},
            "categories": {k: asdict(v) for k, v in self.categories.items()},
        }
        path.write_text(json.dumps(data, indent=2) + "\n")
        return path

    @classmethod
    def load(cls, path: str | Path) -> ReferenceProfile:
        path = Path(path)
        try:
            data = json.loads(path.read_text())
            return cls(
                source=data["source"],
                rows=int(data["rows"]),
                features={k: FeatureProfile(**v) for k, v in data["features"].items()},
                categories={k: CategoryProfile(**v) for k, v in data.get("categories", {}).items()},
            )
        except (OSError, KeyError, TypeError, json.JSONDecodeError) as exc:
            raise DriftError(
                f"cannot read the drift reference profile {path}: {exc}",
                fix="rebuild it from the training data (mlops.analytics.drift.ReferenceProfile)",
            ) from exc


MIN_ROWS_FOR_PSI = 100


def feature_frame(
    wh: Any,
    columns: Sequence[str],
    *,
    table: str = "decision_events",
    time_column: str = "decided_at",
) -> Any:
    """A DataFrame of ``month_start`` and ``columns`` (feature names) from the warehouse's decision
    table: the input of :func:`psi_by_month`."""
    for name in (table, time_column, *columns):
        if not name.isidentifier():
            raise DriftError(f"{name!r} is not a column or table name", fix="use SQL identifiers")
    return wh.frame(
        f"SELECT CAST(DATE_TRUNC('month', {time_column}) AS DATE) AS month_start"  # noqa: S608
        + "".join(f", {c}" for c in columns)
        + f" FROM {table}"
    )


def psi_by_month(
    frame: Any, reference: ReferenceProfile, min_rows: int = MIN_ROWS_FOR_PSI
) -> list[dict[str, Any]]:
    """PSI per month and feature for a DataFrame with ``month_start`` and the feature columns.

    Months with fewer than ``min_rows`` decisions are skipped: PSI over ten bins is noise there.
    """
    out = []
    for month, group in frame.groupby("month_start", sort=True):
        if len(group) < min_rows:
            continue
        for name, profile in reference.features.items():
            if name in group:
                values = [None if math.isnan(v) else v for v in group[name].astype(float)]
                out.append(
                    {
                        "month_start": month,
                        "feature": name,
                        "psi": profile.psi(values),
                        "n": int(group[name].notna().sum()),
                    }
                )
        for name, category in reference.categories.items():
            if name in group:
                levels = [None if v is None or v != v else str(v) for v in group[name]]
                out.append(
                    {
                        "month_start": month,
                        "feature": name,
                        "psi": category.psi(levels),
                        "n": int(group[name].notna().sum()),
                    }
                )
    return out
