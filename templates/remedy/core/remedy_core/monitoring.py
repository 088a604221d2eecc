"""Model health of Remedy: quality against claim outcomes, breaches, interval recalibration.
Pure functions (numbers in, numbers out): no AWS, no files, no environment.

* Drift (PSI per feature) is the platform's maths (``mlops.analytics.drift``) over Remedy's
  features (``remedy_core.drift_features``); its rows are checked here against the threshold
  (:func:`drift_breaches`).
* Quality per month (rows of the analytics view ``model_quality_monthly``, one per month of
  decision where the claim has closed): repair-cost error (MAE, bias, 80% interval coverage of
  the *final* cost), PAV error against the settlement, wrong write-offs (recommended write-off,
  repaired in the end) and the calibration of the total-loss probability (ECE).
* Breaches: each month's values against :class:`HealthThresholds` (the domain reference's
  targets, with room for the noise of one month of outcomes).
* Interval recalibration: split-conformal factors that make the repair-cost interval cover the
  final, supplemented cost at its nominal level (:func:`conformal_interval_factors`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np


# --------------------------------------------------------------------------------- quality
def expected_calibration_error(prob: Sequence[float], outcome: Sequence[bool], bins: int = 10):
    """ECE with equal-width bins: sum over bins of n_b / n * |mean(p) - mean(y)|."""
    p = np.asarray(prob, dtype=float)
    y = np.asarray(outcome, dtype=float)
    if p.size == 0 or p.size != y.size:
        raise ValueError("give one outcome per probability (and at least one)")
    idx = np.minimum((p * bins).astype(int), bins - 1)
    total = 0.0
    for b in np.unique(idx):
        sel = idx == b
        total += sel.sum() / p.size * abs(p[sel].mean() - y[sel].mean())
    return float(total)


def interval_coverage(low: Sequence[float], high: Sequence[float], actual: Sequence[float]):
    lo, hi, y = (np.asarray(v, dtype=float) for v in (low, high, actual))
    return float(np.mean((y >= lo) & (y <= hi)))


def conformal_interval_factors(
    low: Sequence[float], high: Sequence[float], actual: Sequence[float], coverage: float = 0.8
) -> tuple[float, float]:
    """Multiplicative factors (f_low, f_high) for a [low, high] interval so that
    [f_low * low, f_high * high] covers ``actual`` at ``coverage`` on new claims.

    Split-conformal, one tail at a time on the log scale: the score of a calibration claim is
    log(actual / high) for the upper tail and log(low / actual) for the lower one; each tail
    takes the ceil((n + 1)(1 - a/2)) / n empirical quantile of its score (a = 1 - coverage), which
    guarantees each tail's miss rate is at most a/2 for exchangeable claims. Fit on held-out
    claims with their *final* repair cost: quantile heads trained on the first estimate cover the
    supplemented cost too rarely (about 68% for a nominal 80%).
    """
    if not 0 < coverage < 1:
        raise ValueError(f"coverage must be in (0, 1), got {coverage}")
    lo, hi, y = (np.maximum(np.asarray(v, dtype=float), 1e-9) for v in (low, high, actual))
    if not lo.size == hi.size == y.size or lo.size < 20:
        raise ValueError("give low, high and actual for at least 20 calibration claims")
    n, tail = y.size, (1 - coverage) / 2
    level = min(1.0, math.ceil((n + 1) * (1 - tail)) / n)
    up = float(np.quantile(np.log(y / hi), level, method="higher"))
    down = float(np.quantile(np.log(lo / y), level, method="higher"))
    return math.exp(-down), math.exp(up)


# -------------------------------------------------------------------------------- breaches
@dataclass(frozen=True, kw_only=True)
class HealthThresholds:
    """When a month's model health raises an alarm (defaults after the domain reference).

    The reference's targets are 78-82% coverage, bias within +-3% (+-5% per segment), >= 90% of
    PAVs within 10% of the market and ECE <= 0.05; the alarm levels leave room for one month's
    sampling noise (+-2.3 points of coverage at 300 closed repairs).
    """

    psi: float = 0.2
    coverage_min: float = 0.72
    coverage_max: float = 0.88
    bias_max: float = 0.07
    """|predicted / final - 1| of the repair cost."""
    pav_within_10pct_min: float = 0.85
    wrong_write_off_rate_max: float = 0.03
    ece_max: float = 0.08
    min_outcomes: int = 50
    """Months with fewer closed claims are reported but never alarm."""

    def __post_init__(self) -> None:
        if not 0 < self.psi < 10:
            raise ValueError("HealthThresholds.psi must be in (0, 10)")
        if not 0 <= self.coverage_min < self.coverage_max <= 1:
            raise ValueError("HealthThresholds: keep 0 <= coverage_min < coverage_max <= 1")
        for name in ("bias_max", "pav_within_10pct_min", "wrong_write_off_rate_max", "ece_max"):
            if not 0 < getattr(self, name) <= 1:
                raise ValueError(f"HealthThresholds.{name} must be in (0, 1]")
        if self.min_outcomes < 1:
            raise ValueError("HealthThresholds.min_outcomes must be >= 1")


@dataclass(frozen=True)
class Breach:
    month: str
    metric: str
    value: float
    threshold: str
    message: str


#: CloudWatch metric name of each quality/drift check (namespace mlops/model-health)
METRICS = {
    "interval_coverage_80": "RepairCostIntervalCoverage",
    "repair_bias": "RepairCostBias",
    "repair_mae": "RepairCostMAE",
    "pav_within_10pct": "PavWithin10Pct",
    "wrong_write_off_rate": "WrongWriteOffRate",
    "total_loss_ece": "TotalLossECE",
    "psi": "FeaturePSI",
}


def quality_breaches(
    rows: Iterable[Mapping[str, object]], thresholds: HealthThresholds = HealthThresholds()
) -> list[Breach]:
    """Breaches in rows of ``model_quality_monthly`` (month_start, outcomes, ...)."""
    out: list[Breach] = []
    for row in rows:
        month = str(row["month_start"])[:7]
        if int(row.get("outcomes") or 0) < thresholds.min_outcomes:
            continue
        for metric, value, bad, limit, what in _checks(row, thresholds):
            if bad:
                out.append(Breach(month, metric, value, limit, f"{month}: {what}"))
    return out


def _checks(row: Mapping[str, object], t: HealthThresholds) -> list[tuple]:
    """(metric, value, breached, limit, sentence) for each value the row has."""
    checks = []
    cov = _num(row.get("interval_coverage_80"))
    if cov is not None:
        checks.append(
            (
                "interval_coverage_80",
                cov,
                not t.coverage_min <= cov <= t.coverage_max,
                f"{t.coverage_min:.0%}-{t.coverage_max:.0%}",
                f"80% repair-cost interval covered {cov:.0%} of final costs",
            )
        )
    bias = _num(row.get("repair_bias_ratio"))
    if bias is not None:
        checks.append(
            (
                "repair_bias",
                bias - 1,
                abs(bias - 1) > t.bias_max,
                f"+-{t.bias_max:.0%}",
                f"repair cost predicted {bias - 1:+.0%} against the final cost",
            )
        )
    pav = _num(row.get("pav_within_10pct"))
    if pav is not None:
        checks.append(
            (
                "pav_within_10pct",
                pav,
                pav < t.pav_within_10pct_min,
                f">= {t.pav_within_10pct_min:.0%}",
                f"{pav:.0%} of PAVs within 10% of the settlement",
            )
        )
    wrong = _num(row.get("wrong_write_off_rate"))
    if wrong is not None:
        checks.append(
            (
                "wrong_write_off_rate",
                wrong,
                wrong > t.wrong_write_off_rate_max,
                f"<= {t.wrong_write_off_rate_max:.1%}",
                f"{wrong:.1%} of closed claims were wrong write-offs",
            )
        )
    ece = _num(row.get("total_loss_ece"))
    if ece is not None:
        checks.append(
            (
                "total_loss_ece",
                ece,
                ece > t.ece_max,
                f"<= {t.ece_max:g}",
                f"total-loss probability miscalibrated (ECE {ece:.3f})",
            )
        )
    return checks  # fmt: skip


def drift_breaches(
    rows: Iterable[Mapping[str, object]], thresholds: HealthThresholds = HealthThresholds()
) -> list[Breach]:
    """Breaches in PSI rows (month_start, feature, psi)."""
    out = []
    for row in rows:
        value = _num(row.get("psi"))
        if value is not None and value > thresholds.psi:
            month = str(row["month_start"])[:7]
            what = f"{month}: input {row['feature']} drifted (PSI {value:.2f})"
            limit = f"<= {thresholds.psi:g}"
            out.append(Breach(month, f"psi:{row['feature']}", value, limit, what))
    return out


def _num(value: object) -> float | None:
    if value is None:
        return None
    number = float(value)  # type: ignore[arg-type]
    return None if math.isnan(number) else number
