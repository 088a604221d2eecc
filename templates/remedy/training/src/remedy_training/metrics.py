"""Evaluation metrics of the domain reference: repair cost, PAV, decision economics, calibration.

The decision metrics use a simple, documented economic rule (not the serving rule set, which
lives in the inference repo): compare the expected cost of the repair path with the expected
cost of the write-off path; category A/B salvage is a safety write-off; a gap smaller than
`margin` x PAV goes to investigation. Ground truth is the economic truth of the generator.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from remedy_core.outcomes import decision_metrics
from remedy_core.synthetic import DEFAULT_COSTS, CostAssumptions

#: metric name -> direction of "better" (the gate uses it)
METRIC_DIRECTIONS: dict[str, str] = {
    "repair_cost_mae": "lower",
    "repair_cost_mdape": "lower",
    "repair_cost_bias": "abs_lower",
    "repair_cost_coverage_80": "target_0.8",
    "pav_within_10pct": "higher",
    "decision_cost_per_claim": "lower",
    "wrong_write_off_rate": "lower",
    "investigate_rate": "lower",
    "ece_total_loss": "lower",
    "total_loss_auc": "higher",
}


def mdape(pred, actual) -> float:
    actual = np.asarray(actual, float)
    return float(np.median(np.abs(np.asarray(pred, float) - actual) / np.maximum(actual, 1.0)))


def repair_cost_metrics(p10, p50, p90, actual) -> dict[str, float]:
    actual = np.asarray(actual, float)
    return {
        "repair_cost_mae": float(np.mean(np.abs(p50 - actual))),
        "repair_cost_mdape": mdape(p50, actual),
        "repair_cost_bias": float(np.sum(p50) / np.sum(actual) - 1.0),
        "repair_cost_coverage_80": float(np.mean((actual >= p10) & (actual <= p90))),
    }


def group_bias(pred, actual, groups: pd.Series, min_count: int = 50) -> dict[str, float]:
    df = pd.DataFrame({"p": pred, "a": actual, "g": groups.to_numpy()})
    agg = df.groupby("g", observed=True).agg(p=("p", "sum"), a=("a", "sum"), n=("p", "size"))
    agg = agg[agg["n"] >= min_count]
    return {str(k): float(v) for k, v in (agg["p"] / agg["a"] - 1.0).items()}


def pav_metrics(p10, p50, p90, actual) -> dict[str, float]:
    actual = np.asarray(actual, float)
    ratio = np.asarray(p50, float) / actual
    return {
        "pav_within_10pct": float(np.mean(np.abs(ratio - 1.0) <= 0.10)),
        "pav_median_ratio": float(np.median(ratio)),
        "pav_shortfall_share": float(np.mean(ratio < 0.9)),
        "pav_mdape": mdape(p50, actual),
        "pav_coverage_80": float(np.mean((actual >= p10) & (actual <= p90))),
    }


def ece(prob, outcome, bins: int = 10) -> float:
    """Expected calibration error with equal-width bins."""
    prob = np.asarray(prob, float)
    outcome = np.asarray(outcome, float)
    idx = np.minimum((prob * bins).astype(int), bins - 1)
    total = 0.0
    for b in range(bins):
        m = idx == b
        if m.any():
            total += m.mean() * abs(prob[m].mean() - outcome[m].mean())
    return float(total)


def auc(prob, outcome) -> float:
    """ROC AUC of a probability against a binary outcome (0.5 when only one class occurs)."""
    from sklearn.metrics import roc_auc_score

    outcome = np.asarray(outcome, bool)
    if outcome.all() or not outcome.any():
        return 0.5
    return float(roc_auc_score(outcome, np.asarray(prob, float)))


@dataclass(frozen=True)
class EconomicRule:
    """Evaluation rule: expected path costs with an investigation band."""

    margin: float = 0.08  # investigate when |repair path - write-off path| < margin * PAV
    safety_prob: float = 0.5  # P(category A or B) above this is a safety write-off
    costs: CostAssumptions = DEFAULT_COSTS

    def path_costs(self, v: dict[str, np.ndarray], frame: pd.DataFrame):
        c = self.costs
        hire = frame["region"].map(c.hire_rate).to_numpy(float)
        not_drivable = 1.0 - v["drivable"]
        repair = (
            v["repair_cost_p50"] * (1.0 + v["supplement_rate"])
            + v["hire_days"] * hire
            + not_drivable * (c.towing_damaged + 5 * c.storage_per_day)
        )
        towing = not_drivable * c.towing_damaged + (1 - not_drivable) * c.towing_drivable
        write_off = (
            v["pav_p50"]
            - v["salvage_value"]
            + c.settlement_days * (hire + c.storage_per_day)
            + towing
            + c.admin_fee
        )
        return repair, write_off

    def decide(self, v: dict[str, np.ndarray], frame: pd.DataFrame) -> np.ndarray:
        repair, write_off = self.path_costs(v, frame)
        cat = v["salvage_category"]  # columns A, B, S, N
        safety = cat[:, 0] + cat[:, 1] > self.safety_prob
        gap = repair - write_off
        band = self.margin * v["pav_p50"]
        out = np.where(gap > band, "write_off", np.where(gap < -band, "repair", "investigate"))
        return np.where(safety, "write_off", out)


def evaluate_predictions(
    values: dict[str, np.ndarray], frame: pd.DataFrame, rule: EconomicRule | None = None
) -> dict:
    """All metrics for post-processed head outputs on a frame with ground truth."""
    rule = rule or EconomicRule()
    rc = repair_cost_metrics(
        values["repair_cost_p10"],
        values["repair_cost_p50"],
        values["repair_cost_p90"],
        frame["t_estimate"],
    )
    pav = pav_metrics(values["pav_p10"], values["pav_p50"], values["pav_p90"], frame["t_pav"])
    decision = rule.decide(values, frame)
    dm = decision_metrics(decision, frame, rule.costs)
    sweep = {}
    for margin in (0.0, 0.04, 0.08, 0.12, 0.16):
        swept = decision_metrics(
            EconomicRule(margin=margin, safety_prob=rule.safety_prob, costs=rule.costs).decide(
                values, frame
            ),
            frame,
            rule.costs,
        )
        sweep[f"{margin:.2f}"] = {
            k: swept[k]
            for k in (
                "decision_cost_per_claim",
                "wrong_write_off_rate",
                "wrong_repair_rate",
                "investigate_rate",
            )
        }
    challenger = np.where(values["total_loss"] > 0.5, "write_off", "repair")
    cm = decision_metrics(challenger, frame, rule.costs)
    age_band = pd.cut(
        frame["t_age_years"], [-1, 3, 7, 12, 100], labels=["0-3", "3-7", "7-12", "12+"]
    )
    p50, actual = values["repair_cost_p50"], frame["t_estimate"].to_numpy(float)
    biases = {
        "make": group_bias(p50, actual, frame["make"]),
        "region": group_bias(p50, actual, frame["region"]),
        "age_band": group_bias(p50, actual, age_band),
    }
    headline = {
        **rc,
        "pav_within_10pct": pav["pav_within_10pct"],
        "decision_cost_per_claim": dm["decision_cost_per_claim"],
        "wrong_write_off_rate": dm["wrong_write_off_rate"],
        "investigate_rate": dm["investigate_rate"],
        "ece_total_loss": ece(values["total_loss"], frame["t_total_loss"]),
        "total_loss_auc": auc(values["total_loss"], frame["t_total_loss"]),
    }
    return {
        "metrics": {k: {"value": v} for k, v in headline.items()},
        "repair_cost": {
            **rc,
            "max_abs_group_bias": {
                k: max((abs(x) for x in g.values()), default=0.0) for k, g in biases.items()
            },
            "group_bias": biases,
        },
        "pav": pav,
        "decision": {"rule": {"margin": rule.margin, "safety_prob": rule.safety_prob}, **dm},
        "challenger": {"threshold": 0.5, **cm},
        "decision_margin_sweep": sweep,
        "calibration": {
            "ece_total_loss": headline["ece_total_loss"],
            "ece_structural": ece(values["structural"], frame["t_structural"]),
            "ece_airbag": ece(values["airbag"], frame["t_airbag"]),
        },
        "components": {
            "parts_cost_mdape": mdape(values["parts_cost"], frame["t_parts_cost"]),
            "labour_hours_mdape": mdape(values["labour_hours"], frame["t_labour_hours"]),
            "paint_cost_mdape": mdape(values["paint_cost"], frame["t_paint_cost"]),
            "salvage_mdape": mdape(values["salvage_value"], frame["t_salvage"]),
            "hire_days_mae": float(np.mean(np.abs(values["hire_days"] - frame["t_hire_days"]))),
        },
        "n_claims": len(frame),
    }


def gate(evaluation: dict, metric: str, threshold: float) -> tuple[bool, float]:
    """(passed, value) for the use case's evaluation gate."""
    if metric not in METRIC_DIRECTIONS:
        raise ValueError(f"unknown eval metric {metric!r}; use one of {list(METRIC_DIRECTIONS)}")
    value = float(evaluation["metrics"][metric]["value"])
    direction = METRIC_DIRECTIONS[metric]
    if direction == "higher":
        return value >= threshold, value
    if direction == "abs_lower":
        return abs(value) <= threshold, value
    if direction.startswith("target_"):
        return abs(value - float(direction.split("_")[1])) <= threshold, value
    return value <= threshold, value
