"""Remedy decision rules: pure, versioned, every number in ``RuleConfig``.

Rule order (first three are terminal; ECONOMIC proposes, BORDERLINE may turn it into investigate):

1. SAFETY            predicted salvage category A or B (P(A)+P(B) >= ``safety_min_prob``), or
                     fire / flood -> write_off
2. MISSING_EVIDENCE  no usable PAV, or required claim fields missing -> investigate
3. SPECIAL_VEHICLE   PAV above ``high_value_limit``, classic or modified -> investigate
4. ECONOMIC          jurisdiction plug-in decides (UK: write off if write-off path < repair path
                     or repair estimate / PAV >= ``max_repair_ratio``; else repair)
5. BORDERLINE        investigate if the economic outcome changes anywhere across the repair
                     estimate's 80% interval, or |repair path - write-off path| <= band x PAV

Costs
- repair path    = estimate x (1 + expected supplement) + hire days x daily rate + towing + storage
- write-off path = PAV - salvage + hire days until settlement x daily rate + towing + storage
                   + admin fee

Deliberate choices (documented deviations / interpretations of the issue):
- SAFETY uses P(A) + P(B) >= 0.5 (the probability that the car is a category A *or* B write-off),
  not max(P(A), P(B)): a car with P(A)=0.3, P(B)=0.3 is more likely than not unsafe to repair.
- The repair estimate in the ratio is the model's first estimate (p50) without supplement, as
  trade practice quotes it; the supplement is part of the repair *path*.
- Salvage scales with PAV when we compute the flip PAV (salvage share held constant), because
  salvage is quoted as a share of PAV (15-25%).
- US jurisdictions: the state percentage threshold (ratio >= threshold) or the total-loss formula
  (repair estimate + salvage >= PAV), chosen per state; the UK path comparison is not applied.
- Towing is the statutory UK charge for a substantially damaged car when the car is not drivable,
  else the undamaged-car charge; it is on both paths, so it never changes the outcome.
- Confidence: for economic outcomes, the probability that the outcome holds when the repair
  estimate is uncertain (split-normal through p10/p50/p90); for SAFETY by salvage category,
  P(A)+P(B); for deterministic rules (fire/flood, missing evidence, special vehicle) 1.0; for
  BORDERLINE, 1 - |2p - 1| floored at 0.5 (how balanced the evidence is).

Also provides ``economic_batch``: the same ECONOMIC + BORDERLINE arithmetic vectorised with numpy
for batch scoring; a property test proves it equals the scalar rules.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:  # numpy only for the batch rules: the decide Lambda never loads it
    import numpy as np

RULE_SET_VERSION = "remedy-rules-1.0.0"

Recommendation = Literal["repair", "write_off", "investigate"]
RuleName = Literal["SAFETY", "MISSING_EVIDENCE", "SPECIAL_VEHICLE", "ECONOMIC", "BORDERLINE"]
RECOMMENDATIONS: tuple[str, ...] = ("repair", "write_off", "investigate")
_Z90 = 1.2815515655446004  # standard normal 90th percentile


class CostConfig(BaseModel):
    """Per-claim cost rates (UK defaults, GBP; public sources in shared/remedy-domain.md)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    hire_daily_rate: float = Field(default=99.0, ge=0, description="Basic UK hire car per day")
    towing_drivable: float = Field(default=192.0, ge=0, description="Statutory charge, 2023")
    towing_not_drivable: float = Field(default=320.0, ge=0, description="Substantially damaged")
    storage_daily_rate: float = Field(default=20.0, ge=0)
    storage_days_repair: float = Field(default=5.0, ge=0, description="Until the repairer starts")
    storage_days_write_off: float = Field(default=14.0, ge=0, description="Until salvage collected")
    hire_days_write_off: float = Field(default=14.0, ge=0, description="Hire until settlement")
    admin_fee_write_off: float = Field(default=150.0, ge=0)


def pct(value: float, threshold: float) -> str:
    """A ratio as a percentage with enough digits not to look equal to the threshold."""
    for digits in (0, 1, 2):
        text = f"{value:.{digits}%}"
        if text != f"{threshold:.{digits}%}" or value == threshold:
            return text
    return f"{value:.3%}"


class UkJurisdiction(BaseModel):
    """UK: no statutory threshold; compare paths and cap the repair ratio."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["uk"] = "uk"
    max_repair_ratio: float = Field(default=0.70, gt=0, le=2)
    compare_paths: bool = True

    def threshold(self, region: str) -> float:
        return self.max_repair_ratio

    def method(self, region: str) -> str:
        return "ratio+paths" if self.compare_paths else "ratio"

    def is_write_off(
        self,
        estimate: float,
        pav: float,
        salvage: float,
        repair_path: float,
        wo_path: float,
        region: str,
    ) -> bool:
        if self.compare_paths and wo_path < repair_path:
            return True
        return estimate / pav >= self.max_repair_ratio

    def economic_reason(
        self,
        estimate: float,
        pav: float,
        salvage: float,
        repair_path: float,
        wo_path: float,
        region: str,
    ) -> tuple[str, str]:
        ratio = estimate / pav
        if ratio >= self.max_repair_ratio:
            return (
                "ECONOMIC_RATIO",
                f"Repair estimate is {pct(ratio, self.max_repair_ratio)} of the pre-accident "
                f"value, at or above the {self.max_repair_ratio:.0%} maximum repair ratio.",
            )
        if self.compare_paths and wo_path < repair_path:
            return (
                "ECONOMIC_PATHS",
                f"Writing off costs {wo_path:,.0f}, less than repairing at {repair_path:,.0f}.",
            )
        return (
            "ECONOMIC_REPAIR",
            f"Repairing costs {repair_path:,.0f} against {wo_path:,.0f} to write off, and the "
            f"repair ratio {pct(ratio, self.max_repair_ratio)} is below the "
            f"{self.max_repair_ratio:.0%} maximum.",
        )

    def flip_estimate(
        self,
        pav: float,
        salvage: float,
        wo_path: float,
        repair_fixed: float,
        uplift: float,
        region: str,
    ) -> float:
        """Repair estimate above which the outcome becomes write-off (PAV held)."""
        by_ratio = self.max_repair_ratio * pav
        if not self.compare_paths:
            return by_ratio
        return min(by_ratio, (wo_path - repair_fixed) / uplift)

    def flip_pav(
        self,
        estimate: float,
        salvage_share: float,
        repair_path: float,
        wo_fixed: float,
        region: str,
    ) -> float:
        """PAV below which the outcome becomes write-off (estimate held, salvage share held)."""
        by_ratio = estimate / self.max_repair_ratio
        if not self.compare_paths:
            return by_ratio
        return max(by_ratio, (repair_path - wo_fixed) / max(1e-9, 1.0 - salvage_share))


class UsJurisdiction(BaseModel):
    """US: per-state percentage threshold, or the total-loss formula (repair + salvage >= ACV)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["us"] = "us"
    state_thresholds: dict[str, float] = Field(
        default_factory=lambda: {"NV": 0.65, "AL": 0.75, "FL": 0.80, "CO": 1.00},
        description="States with a percentage threshold (examples from public sources)",
    )
    default_method: Literal["percentage", "formula"] = "formula"
    default_threshold: float = Field(default=0.75, gt=0, le=2)

    def _state_threshold(self, region: str) -> float | None:
        state = region.upper()
        if state in self.state_thresholds:
            return self.state_thresholds[state]
        return self.default_threshold if self.default_method == "percentage" else None

    def threshold(self, region: str) -> float | None:
        return self._state_threshold(region)

    def method(self, region: str) -> str:
        return "percentage" if self._state_threshold(region) is not None else "formula"

    def is_write_off(
        self,
        estimate: float,
        pav: float,
        salvage: float,
        repair_path: float,
        wo_path: float,
        region: str,
    ) -> bool:
        t = self._state_threshold(region)
        if t is not None:
            return estimate / pav >= t
        return estimate + salvage >= pav

    def economic_reason(
        self,
        estimate: float,
        pav: float,
        salvage: float,
        repair_path: float,
        wo_path: float,
        region: str,
    ) -> tuple[str, str]:
        t = self._state_threshold(region)
        wo = self.is_write_off(estimate, pav, salvage, repair_path, wo_path, region)
        if t is not None:
            verb = "at or above" if wo else "below"
            return (
                "ECONOMIC_RATIO" if wo else "ECONOMIC_REPAIR",
                f"Repair estimate is {pct(estimate / pav, t)} of actual cash value, {verb} the "
                f"{region.upper()} total-loss threshold of {t:.0%}.",
            )
        verb = "at or above" if wo else "below"
        return (
            "ECONOMIC_FORMULA" if wo else "ECONOMIC_REPAIR",
            f"Repair {estimate:,.0f} + salvage {salvage:,.0f} is {verb} the actual cash value "
            f"{pav:,.0f} (total-loss formula).",
        )

    def flip_estimate(
        self,
        pav: float,
        salvage: float,
        wo_path: float,
        repair_fixed: float,
        uplift: float,
        region: str,
    ) -> float:
        t = self._state_threshold(region)
        return t * pav if t is not None else pav - salvage

    def flip_pav(
        self,
        estimate: float,
        salvage_share: float,
        repair_path: float,
        wo_fixed: float,
        region: str,
    ) -> float:
        t = self._state_threshold(region)
        if t is not None:
            return estimate / t
        return estimate / max(1e-9, 1.0 - salvage_share)


Jurisdiction = Annotated[UkJurisdiction | UsJurisdiction, Field(discriminator="kind")]
JURISDICTIONS: dict[str, type[UkJurisdiction] | type[UsJurisdiction]] = {
    "uk": UkJurisdiction,
    "us": UsJurisdiction,
}


class RuleConfig(BaseModel):
    """Every number the rules use. Defaults are the UK rule set."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    rule_set_version: str = RULE_SET_VERSION
    currency: str = "GBP"
    jurisdiction: Jurisdiction = Field(default_factory=UkJurisdiction)
    costs: CostConfig = Field(default_factory=CostConfig)
    safety_min_prob: float = Field(default=0.5, gt=0, le=1, description="P(A)+P(B) for SAFETY")
    high_value_limit: float = Field(default=75_000.0, gt=0)
    borderline_band: float = Field(default=0.05, ge=0, le=1, description="x PAV")
    model_pav_max_spread: float = Field(default=0.30, gt=0, description="(p90-p10)/p50")
    min_comparables: int = Field(default=3, ge=1)
    pav_disagreement_flag: float = Field(default=0.15, gt=0)
    required_fields: tuple[str, ...] = (
        "vehicle.make",
        "vehicle.model",
        "vehicle.year",
        "vehicle.mileage",
        "accident.impact_point",
        "accident.zones_hit",
    )

    @classmethod
    def for_jurisdiction(cls, kind: str, **overrides: object) -> RuleConfig:
        """Default config for a jurisdiction plug-in (``uk`` or ``us``)."""
        if kind not in JURISDICTIONS:
            raise ValueError(
                f"jurisdiction {kind!r} unknown; choose one of {sorted(JURISDICTIONS)}"
            )
        base: dict[str, object] = {"jurisdiction": JURISDICTIONS[kind]()}
        if kind == "us":
            base["currency"] = "USD"
        return cls.model_validate({**base, **overrides})


@dataclass(frozen=True, slots=True)
class RuleInputs:
    """Everything the rules look at, as plain numbers (built by ``decision.py``)."""

    estimate_p10: float
    estimate_p50: float
    estimate_p90: float
    supplement_rate: float
    hire_days: float
    salvage_value: float
    salvage_probs: dict[str, float]
    pav: float | None
    drivable: bool = True
    fire: bool = False
    flood: bool = False
    classic: bool = False
    modified: bool = False
    region: str = ""
    missing_fields: tuple[str, ...] = ()
    pav_problem: str = "no market data and no confident model PAV"


@dataclass(frozen=True, slots=True)
class Reason:
    rule: str
    code: str
    message: str


@dataclass(frozen=True, slots=True)
class CostPath:
    items: tuple[tuple[str, float], ...]
    total: float


@dataclass(frozen=True, slots=True)
class Economics:
    repair_path: CostPath
    write_off_path: CostPath
    ratio: float
    ratio_p10: float
    ratio_p90: float
    threshold: float | None
    method: str
    write_off_at_p10: bool
    write_off_at_p50: bool
    write_off_at_p90: bool
    flip_pav: float
    flip_estimate: float
    p_write_off: float


@dataclass(frozen=True, slots=True)
class RuleResult:
    recommendation: str
    decided_by: str
    reasons: tuple[Reason, ...]
    confidence: float
    salvage_category: str
    economics: Economics | None = None
    flags: tuple[str, ...] = field(default=())


def _towing(inp: RuleInputs, c: CostConfig) -> float:
    return c.towing_drivable if inp.drivable else c.towing_not_drivable


def repair_path(inp: RuleInputs, estimate: float, c: CostConfig) -> CostPath:
    supplement = estimate * max(0.0, inp.supplement_rate)
    hire = max(0.0, inp.hire_days) * c.hire_daily_rate
    towing = _towing(inp, c)
    storage = c.storage_days_repair * c.storage_daily_rate
    items = (
        ("repair_estimate", estimate),
        ("expected_supplement", supplement),
        ("hire", hire),
        ("towing", towing),
        ("storage", storage),
    )
    return CostPath(items, estimate + supplement + hire + towing + storage)


def write_off_path(inp: RuleInputs, pav: float, c: CostConfig) -> CostPath:
    salvage = min(max(0.0, inp.salvage_value), pav)
    hire = c.hire_days_write_off * c.hire_daily_rate
    towing = _towing(inp, c)
    storage = c.storage_days_write_off * c.storage_daily_rate
    items = (
        ("pre_accident_value", pav),
        ("salvage_recovery", -salvage),
        ("hire_until_settlement", hire),
        ("towing", towing),
        ("storage", storage),
        ("admin_fee", c.admin_fee_write_off),
    )
    return CostPath(items, pav - salvage + hire + towing + storage + c.admin_fee_write_off)


def salvage_category(probs: dict[str, float]) -> str:
    return max(probs, key=lambda k: probs[k]) if probs else "N"


def prob_above(x: float, p10: float, p50: float, p90: float) -> float:
    """P(estimate >= x) for a split normal through the 10th, 50th and 90th percentiles."""
    sigma = (p50 - p10) / _Z90 if x < p50 else (p90 - p50) / _Z90
    if sigma <= 0:
        return 1.0 if x <= p50 else 0.0
    return 0.5 * math.erfc((x - p50) / (sigma * math.sqrt(2.0)))


def economics(inp: RuleInputs, cfg: RuleConfig) -> Economics:
    """Both cost paths, the ratio and where the outcome flips. Requires ``inp.pav``."""
    pav = inp.pav
    assert pav is not None and pav > 0, "economics() needs a positive PAV"
    j, c, region = cfg.jurisdiction, cfg.costs, inp.region
    salvage = min(max(0.0, inp.salvage_value), pav)
    wo = write_off_path(inp, pav, c)

    def wo_at(estimate: float) -> tuple[bool, CostPath]:
        rp = repair_path(inp, estimate, c)
        return j.is_write_off(estimate, pav, salvage, rp.total, wo.total, region), rp

    w10, _ = wo_at(inp.estimate_p10)
    w50, rp = wo_at(inp.estimate_p50)
    w90, _ = wo_at(inp.estimate_p90)
    uplift = 1.0 + max(0.0, inp.supplement_rate)
    repair_fixed = rp.total - inp.estimate_p50 * uplift
    wo_fixed = wo.total - (pav - salvage)
    flip_e = j.flip_estimate(pav, salvage, wo.total, repair_fixed, uplift, region)
    flip_p = j.flip_pav(inp.estimate_p50, salvage / pav, rp.total, wo_fixed, region)
    return Economics(
        repair_path=rp,
        write_off_path=wo,
        ratio=inp.estimate_p50 / pav,
        ratio_p10=inp.estimate_p10 / pav,
        ratio_p90=inp.estimate_p90 / pav,
        threshold=j.threshold(region),
        method=j.method(region),
        write_off_at_p10=w10,
        write_off_at_p50=w50,
        write_off_at_p90=w90,
        flip_pav=flip_p,
        flip_estimate=flip_e,
        p_write_off=prob_above(flip_e, inp.estimate_p10, inp.estimate_p50, inp.estimate_p90),
    )


def evaluate(inp: RuleInputs, cfg: RuleConfig) -> RuleResult:
    """Run the rule set in order and return the recommendation with every reason that fired."""
    category = salvage_category(inp.salvage_probs)
    econ = economics(inp, cfg) if inp.pav is not None and inp.pav > 0 else None

    # 1. SAFETY
    safety: list[Reason] = []
    p_ab = inp.salvage_probs.get("A", 0.0) + inp.salvage_probs.get("B", 0.0)
    if inp.fire:
        safety.append(Reason("SAFETY", "SAFETY_FIRE", "The vehicle was damaged by fire."))
    if inp.flood:
        safety.append(Reason("SAFETY", "SAFETY_FLOOD", "The vehicle was damaged by flood."))
    if p_ab >= cfg.safety_min_prob:
        safety.append(
            Reason(
                "SAFETY",
                "SAFETY_SALVAGE_CATEGORY",
                f"Predicted salvage category A or B with probability {p_ab:.0%} "
                f"(limit {cfg.safety_min_prob:.0%}): not safe to repair.",
            )
        )
    if safety:
        conf = 1.0 if (inp.fire or inp.flood) else p_ab
        return RuleResult("write_off", "SAFETY", tuple(safety), conf, category, econ)

    # 2. MISSING_EVIDENCE
    missing: list[Reason] = []
    if econ is None:
        missing.append(
            Reason(
                "MISSING_EVIDENCE",
                "MISSING_PAV",
                f"No usable pre-accident value: {inp.pav_problem}.",
            )
        )
    if inp.missing_fields:
        missing.append(
            Reason(
                "MISSING_EVIDENCE",
                "MISSING_FIELDS",
                "Required claim fields are missing: " + ", ".join(inp.missing_fields) + ".",
            )
        )
    if missing:
        return RuleResult("investigate", "MISSING_EVIDENCE", tuple(missing), 1.0, category, econ)
    assert econ is not None and inp.pav is not None

    # 3. SPECIAL_VEHICLE
    special: list[Reason] = []
    if inp.pav > cfg.high_value_limit:
        special.append(
            Reason(
                "SPECIAL_VEHICLE",
                "SPECIAL_HIGH_VALUE",
                f"Pre-accident value {inp.pav:,.0f} is above the high-value limit "
                f"{cfg.high_value_limit:,.0f}.",
            )
        )
    if inp.classic:
        special.append(Reason("SPECIAL_VEHICLE", "SPECIAL_CLASSIC", "The vehicle is a classic."))
    if inp.modified:
        special.append(Reason("SPECIAL_VEHICLE", "SPECIAL_MODIFIED", "The vehicle is modified."))
    if special:
        return RuleResult("investigate", "SPECIAL_VEHICLE", tuple(special), 1.0, category, econ)

    # 4. ECONOMIC
    j = cfg.jurisdiction
    salvage = min(max(0.0, inp.salvage_value), inp.pav)
    code, message = j.economic_reason(
        inp.estimate_p50,
        inp.pav,
        salvage,
        econ.repair_path.total,
        econ.write_off_path.total,
        inp.region,
    )
    economic = Reason("ECONOMIC", code, message)
    outcome = "write_off" if econ.write_off_at_p50 else "repair"
    p = econ.p_write_off
    confidence = p if outcome == "write_off" else 1.0 - p

    # 5. BORDERLINE
    border: list[Reason] = []
    if econ.write_off_at_p10 != econ.write_off_at_p90:
        border.append(
            Reason(
                "BORDERLINE",
                "BORDERLINE_INTERVAL",
                f"The economic outcome changes within the repair estimate's 80% interval "
                f"({inp.estimate_p10:,.0f} to {inp.estimate_p90:,.0f}); it flips at "
                f"{econ.flip_estimate:,.0f}.",
            )
        )
    gap = abs(econ.repair_path.total - econ.write_off_path.total)
    if gap <= cfg.borderline_band * inp.pav:
        border.append(
            Reason(
                "BORDERLINE",
                "BORDERLINE_BAND",
                f"Repair and write-off paths differ by {gap:,.0f}, within "
                f"{cfg.borderline_band:.0%} of the pre-accident value.",
            )
        )
    if border:
        conf = max(0.5, 1.0 - abs(2.0 * p - 1.0))
        return RuleResult("investigate", "BORDERLINE", (economic, *border), conf, category, econ)
    return RuleResult(outcome, "ECONOMIC", (economic,), confidence, category, econ)


# ----------------------------------------------------------------------------------------------
# Vectorised ECONOMIC + BORDERLINE for batch scoring (same arithmetic; property-tested equal)
# ----------------------------------------------------------------------------------------------
REC_CODES: tuple[str, ...] = RECOMMENDATIONS  # index -> recommendation


def economic_batch(
    cfg: RuleConfig,
    *,
    p10: np.ndarray,
    p50: np.ndarray,
    p90: np.ndarray,
    supplement_rate: np.ndarray,
    hire_days: np.ndarray,
    salvage_value: np.ndarray,
    pav: np.ndarray,
    drivable: np.ndarray,
    p_ab: np.ndarray,
    fire: np.ndarray,
    flood: np.ndarray,
    special: np.ndarray,
    missing: np.ndarray,
    region: str = "",
) -> np.ndarray:
    """Recommendation index per row (0 repair, 1 write_off, 2 investigate), all rules in order.

    ``special`` is classic|modified; ``missing`` is "required fields missing"; a non-positive or
    NaN ``pav`` means no usable PAV. One region for the whole batch (US thresholds are per state).
    """
    import numpy as np

    c, j = cfg.costs, cfg.jurisdiction
    pav_ok = np.isfinite(pav) & (pav > 0)
    safe_pav = np.where(pav_ok, pav, 1.0)
    salvage = np.minimum(np.maximum(salvage_value, 0.0), safe_pav)
    towing = np.where(drivable, c.towing_drivable, c.towing_not_drivable)
    uplift = 1.0 + np.maximum(supplement_rate, 0.0)
    repair_fixed = np.maximum(hire_days, 0.0) * c.hire_daily_rate + towing
    repair_fixed = repair_fixed + c.storage_days_repair * c.storage_daily_rate
    wo_total = safe_pav - salvage + c.hire_days_write_off * c.hire_daily_rate + towing
    wo_total = wo_total + c.storage_days_write_off * c.storage_daily_rate + c.admin_fee_write_off

    def write_off(estimate: np.ndarray) -> np.ndarray:
        rp = estimate * uplift + repair_fixed
        if isinstance(j, UkJurisdiction):
            w = estimate / safe_pav >= j.max_repair_ratio
            return (w | (wo_total < rp)) if j.compare_paths else w
        t = j.threshold(region)
        if t is not None:
            return estimate / safe_pav >= t
        return estimate + salvage >= safe_pav

    w10, w50, w90 = write_off(p10), write_off(p50), write_off(p90)
    rp50 = p50 * uplift + repair_fixed
    border = (w10 != w90) | (np.abs(rp50 - wo_total) <= cfg.borderline_band * safe_pav)
    out = np.where(w50, 1, 0)
    out = np.where(border, 2, out)
    out = np.where(special | (pav_ok & (pav > cfg.high_value_limit)), 2, out)
    out = np.where(missing | ~pav_ok, 2, out)
    out = np.where(fire | flood | (p_ab >= cfg.safety_min_prob), 1, out)
    return out.astype(np.int8)
