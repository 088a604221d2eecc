"""`ModelOutputs`: everything the model bundle says about one claim (GBP, days, probabilities).

Shared contract between the training repo (which produces the bundle) and the inference repo
(whose rules and decision code consume it). Field names follow REMEDY_CONTRACT.md exactly.

Model numbering (the documented variant of the domain decomposition into 14 models):
  1 zones_damaged_probs (multi-label: one binary head per zone, true damage incl. hidden)
  2 zone_severity (one regression head per zone, true severity in [0, 1])
  3 replace_share  4 parts_cost  5 labour_hours  6 paint_cost (paint + materials, GBP)
  7 structural_prob  8 airbag_prob (airbag/pretensioner replacement needed)
  9 adas_recal_prob  10 drivable_prob (mechanically sound)  11 supplement_rate (+ p90)
  12 repair_days, hire_days  13 pav_p10/p50/p90  14 salvage_value + salvage_category_probs
Beyond the 14: the aggregate first-estimate repair-cost interval (repair_cost_p10/p50/p90,
quantile heads trained on the bottom-up estimate) and the challenger total_loss_prob.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

SALVAGE_CATEGORIES: tuple[str, ...] = ("A", "B", "S", "N")


@dataclass(frozen=True, kw_only=True)
class ModelOutputs:
    repair_cost_p10: float
    repair_cost_p50: float
    repair_cost_p90: float
    parts_cost: float
    labour_hours: float
    paint_cost: float
    supplement_rate: float
    supplement_rate_p90: float
    repair_days: float
    hire_days: float
    pav_p10: float
    pav_p50: float
    pav_p90: float
    salvage_value: float
    salvage_category_probs: dict[str, float]
    structural_prob: float
    airbag_prob: float
    adas_recal_prob: float
    drivable_prob: float
    replace_share: float
    zones_damaged_probs: dict[str, float]
    zone_severity: dict[str, float]
    total_loss_prob: float
    model_versions: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # A NaN/inf from a broken model or endpoint must not reach the rules: comparisons with
        # NaN are silently False (a NaN cost would vanish in max(0, x)), and it cannot be
        # serialised in the decision or the audit event.
        for name, value in vars(self).items():
            if isinstance(value, float) and not math.isfinite(value):
                raise ValueError(f"{name} must be a finite number, got {value}")
            if isinstance(value, dict):
                for key, item in value.items():
                    if isinstance(item, float) and not math.isfinite(item):
                        raise ValueError(f"{name}[{key!r}] must be a finite number, got {item}")
        probs = self.salvage_category_probs
        if set(probs) != set(SALVAGE_CATEGORIES):
            raise ValueError(f"salvage_category_probs keys must be {SALVAGE_CATEGORIES}")
        if abs(sum(probs.values()) - 1.0) > 1e-3:
            raise ValueError(f"salvage_category_probs must sum to 1, got {sum(probs.values())}")
        if not self.repair_cost_p10 <= self.repair_cost_p50 <= self.repair_cost_p90:
            raise ValueError("repair_cost quantiles must be ordered p10 <= p50 <= p90")
        if not self.pav_p10 <= self.pav_p50 <= self.pav_p90:
            raise ValueError("pav quantiles must be ordered p10 <= p50 <= p90")

    @property
    def salvage_category(self) -> str:
        """Most likely ABI salvage category."""
        return max(self.salvage_category_probs, key=self.salvage_category_probs.__getitem__)

    def to_dict(self) -> dict:
        return asdict(self)
