"""What a decision cost against the known outcome (the generator's economic truth, or real
settled claims with the same columns): shared by the training evaluation and the backtest.

A wrong write-off costs the write-off path over the repair path; a wrong repair the extra over
the write-off path (for a category A/B car: half the estimate sunk plus a week of hire and
storage); an investigation the inspection fee plus the days of delay (domain reference).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from remedy_core.synthetic import DEFAULT_COSTS, CostAssumptions

TRUTH = ("repair", "write_off")
DECISIONS = ("repair", "write_off", "investigate")
OUTCOME_COLUMNS = (
    "t_decision", "t_repair_path_cost", "t_writeoff_path_cost", "t_salvage_category",
    "t_estimate", "region",
)  # fmt: skip


def decision_cost(
    decision: np.ndarray, frame: pd.DataFrame, costs: CostAssumptions = DEFAULT_COSTS
) -> np.ndarray:
    """Regret of each claim's decision against its outcome, in GBP (0 for a right decision)."""
    truth = frame["t_decision"].to_numpy()
    repair_path = frame["t_repair_path_cost"].to_numpy(float)
    wo_path = frame["t_writeoff_path_cost"].to_numpy(float)
    safety = frame["t_salvage_category"].isin(["A", "B"]).to_numpy()
    hire = frame["region"].map(costs.hire_rate).to_numpy(float)
    wrong_write_off = np.maximum(wo_path - repair_path, 0.0)
    wrong_repair = np.where(
        safety,
        0.5 * frame["t_estimate"].to_numpy(float) + 7 * (hire + costs.storage_per_day),
        np.maximum(repair_path - wo_path, 0.0),
    )
    investigate = costs.inspection_fee + costs.investigation_delay_days * (
        hire + costs.storage_per_day
    )
    cost = np.zeros(len(frame))
    cost = np.where((truth == "repair") & (decision == "write_off"), wrong_write_off, cost)
    cost = np.where((truth == "write_off") & (decision == "repair"), wrong_repair, cost)
    return np.where(decision == "investigate", investigate, cost)


def decision_metrics(
    decision: np.ndarray, frame: pd.DataFrame, costs: CostAssumptions = DEFAULT_COSTS
) -> dict:
    """Confusion matrix (truth x recommendation) in counts and GBP, and headline rates."""
    truth = frame["t_decision"].to_numpy()
    cost = decision_cost(decision, frame, costs)
    counts = {t: {d: int(np.sum((truth == t) & (decision == d))) for d in DECISIONS} for t in TRUTH}
    gbp = {
        t: {d: float(cost[(truth == t) & (decision == d)].sum()) for d in DECISIONS} for t in TRUTH
    }
    n = len(frame)
    return {
        "confusion_counts": counts,
        "confusion_cost_gbp": gbp,
        "decision_cost_per_claim": float(cost.mean()),
        "wrong_write_off_rate": counts["repair"]["write_off"] / n,
        "wrong_repair_rate": counts["write_off"]["repair"] / n,
        "investigate_rate": float(np.mean(decision == "investigate")),
        "write_off_rate": float(np.mean(decision == "write_off")),
        "true_write_off_rate": float(np.mean(truth == "write_off")),
        "accuracy_decided": float(
            np.mean(truth[decision != "investigate"] == decision[decision != "investigate"])
        )
        if np.any(decision != "investigate")
        else 0.0,
    }
