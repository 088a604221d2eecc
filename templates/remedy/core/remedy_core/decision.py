"""Decision orchestration: claim + model outputs + market evidence -> ``Decision``.

Pure: no I/O, no clock, no randomness (the caller passes ``decision_id``). Used unchanged by the
decide Lambda, the local decision API and the benchmark. Dependency failures are inputs here,
never exceptions: no model outputs -> investigate (MODEL_NOT_DEPLOYED / MODEL_UNAVAILABLE); no
market data -> the model PAV when confident, else investigate (MISSING_PAV).

The result models are built without validation (``_construct``, the same as ``model_construct``
for these plain models): every value comes from this module, not from a user, and validating a
dozen nested models would cost more than the rules on the hot path.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from remedy_core.claims import Claim
from remedy_core.outputs import ModelOutputs
from remedy_core.rules import (
    Economics,
    RuleConfig,
    RuleInputs,
    RuleResult,
    evaluate,
    salvage_category,
)
from remedy_core.valuation import MarketEvidence, PavEvidence, choose_pav

Recommendation = Literal["repair", "write_off", "investigate"]
RuleName = Literal["SAFETY", "MISSING_EVIDENCE", "SPECIAL_VEHICLE", "ECONOMIC", "BORDERLINE"]
ModelFailureCode = Literal["MODEL_NOT_DEPLOYED", "MODEL_UNAVAILABLE", "MODEL_BAD_OUTPUT"]

_MODEL_FAILURE_TEXT = {
    "MODEL_NOT_DEPLOYED": "No approved model is deployed for this use case yet",
    "MODEL_UNAVAILABLE": "The model endpoint did not answer",
    "MODEL_BAD_OUTPUT": "The model endpoint returned an unusable answer",
}


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


_set = object.__setattr__


def _construct(cls: type[_Out], **values: object):
    """``cls.model_construct(**values)`` for these output models (no aliases, private attributes
    or post-init hooks), without its per-field alias handling: a third of a decision's cost."""
    given = set(values)
    fields = cls.__pydantic_fields__
    data = {name: values[name] if name in given else field.get_default(call_default_factory=True)
            for name, field in fields.items()}  # fmt: skip
    m = cls.__new__(cls)
    _set(m, "__dict__", data)
    _set(m, "__pydantic_fields_set__", given)
    _set(m, "__pydantic_extra__", None)
    _set(m, "__pydantic_private__", None)
    return m


class DecisionReason(_Out):
    rule: RuleName
    code: str = Field(pattern=r"^[A-Z][A-Z0-9_]+$")
    sentence: str


class CostPathOut(_Out):
    total: float = Field(description="Total cost of the path")
    items: dict[str, float] = Field(description="Itemised costs (salvage recovery is negative)")


class RatioOut(_Out):
    value: float = Field(description="Repair estimate (p50) / PAV")
    p10: float = Field(description="Ratio at the estimate's 10th percentile")
    p90: float = Field(description="Ratio at the estimate's 90th percentile")
    threshold: float | None = Field(description="Maximum repair ratio (None: formula method)")
    method: str = Field(
        description="How the jurisdiction decides: ratio+paths, percentage, formula"
    )


class SalvageOut(_Out):
    value: float
    category: Literal["A", "B", "S", "N"]
    category_probs: dict[str, float]


class ModelSignals(_Out):
    repair_cost_p10: float
    repair_cost_p50: float
    repair_cost_p90: float
    supplement_rate: float
    hire_days: float
    repair_days: float
    structural_prob: float
    airbag_prob: float
    adas_recal_prob: float
    drivable_prob: float
    total_loss_prob: float = Field(description="Challenger model: direct total-loss probability")


class Versions(_Out):
    rule_set: str
    jurisdiction: str
    features: str | None = None
    bundle: str | None = None
    models: dict[str, str] = Field(default_factory=dict)


class Decision(_Out):
    """The recommendation and everything behind it, as a claims handler sees it."""

    decision_id: str
    claim_id: str
    recommendation: Recommendation
    decided_by: RuleName
    confidence: float = Field(ge=0, le=1)
    currency: str
    reasons: list[DecisionReason]
    repair_path: CostPathOut | None = None
    write_off_path: CostPathOut | None = None
    ratio: RatioOut | None = None
    pav: PavEvidence
    flip_pav: float | None = Field(
        default=None, description="PAV below which the economic outcome becomes write-off"
    )
    write_off_probability: float | None = Field(
        default=None, ge=0, le=1, description="P(economic write-off) over the estimate interval"
    )
    salvage: SalvageOut | None = None
    model: ModelSignals | None = None
    data_quality_flags: list[str] = Field(default_factory=list)
    versions: Versions


def missing_fields(claim: Claim, required: tuple[str, ...]) -> tuple[str, ...]:
    """Dotted paths in ``required`` whose value is None or empty on the claim."""
    out = []
    for path in required:
        value: object = claim
        for part in path.split("."):
            value = getattr(value, part, None)
            if value is None:
                break
        if value is None or (isinstance(value, str | list | tuple | dict) and len(value) == 0):
            out.append(path)
    return tuple(out)


def _path(p) -> CostPathOut:
    return _construct(
        CostPathOut, total=round(p.total, 2), items={k: round(v, 2) for k, v in p.items}
    )


def _economics_out(e: Economics) -> tuple[CostPathOut, CostPathOut, RatioOut]:
    ratio = _construct(
        RatioOut,
        value=e.ratio,
        p10=e.ratio_p10,
        p90=e.ratio_p90,
        threshold=e.threshold,
        method=e.method,
    )
    return _path(e.repair_path), _path(e.write_off_path), ratio


def _versions(cfg: RuleConfig, outputs: ModelOutputs | None, features_version: str | None):
    models = dict(outputs.model_versions) if outputs is not None else {}
    return _construct(
        Versions,
        rule_set=cfg.rule_set_version,
        jurisdiction=cfg.jurisdiction.kind,
        features=features_version,
        bundle=models.get("bundle"),
        models=models,
    )


def decide(
    claim: Claim,
    outputs: ModelOutputs | None,
    market: MarketEvidence | None,
    *,
    config: RuleConfig,
    decision_id: str,
    market_error: str | None = None,
    model_failure: ModelFailureCode | None = None,
    features_version: str | None = None,
) -> Decision:
    """Decide one claim. Never raises for a failed dependency: it answers investigate."""
    if outputs is None:
        return _no_model(
            claim, market, config, decision_id, market_error, model_failure, features_version
        )
    pav = choose_pav(
        market,
        (outputs.pav_p10, outputs.pav_p50, outputs.pav_p90),
        min_comparables=config.min_comparables,
        model_max_spread=config.model_pav_max_spread,
        disagreement_flag=config.pav_disagreement_flag,
        market_error=market_error,
    )
    problem = (
        f"market data unavailable ({market_error})" if market_error else "no market evidence"
    ) + " and the model PAV is not confident"
    v, a = claim.vehicle, claim.accident
    # Regression heads can dip below zero on odd inputs: money and days are clamped at 0.
    inp = RuleInputs(
        estimate_p10=max(0.0, outputs.repair_cost_p10),
        estimate_p50=max(0.0, outputs.repair_cost_p50),
        estimate_p90=max(0.0, outputs.repair_cost_p90),
        supplement_rate=max(0.0, outputs.supplement_rate),
        hire_days=max(0.0, outputs.hire_days),
        salvage_value=max(0.0, outputs.salvage_value),
        salvage_probs=outputs.salvage_category_probs,
        pav=pav.value,
        drivable=a.drivable,
        fire=a.fire,
        flood=a.flood,
        classic=v.classic,
        modified=v.modified,
        region=claim.region,
        missing_fields=missing_fields(claim, config.required_fields),
        pav_problem=problem,
    )
    result: RuleResult = evaluate(inp, config)
    flags = list(pav.flags)
    if market_error:
        flags.append("MARKET_DATA_UNAVAILABLE")
    repair = write_off = ratio = None
    e = result.economics
    if e is not None:
        repair, write_off, ratio = _economics_out(e)
    return _construct(
        Decision,
        decision_id=decision_id,
        claim_id=claim.claim_id,
        recommendation=result.recommendation,  # type: ignore[arg-type]
        decided_by=result.decided_by,  # type: ignore[arg-type]
        confidence=min(1.0, max(0.0, result.confidence)),
        currency=config.currency,
        reasons=[
            _construct(DecisionReason, rule=r.rule, code=r.code, sentence=r.message)
            for r in result.reasons
        ],  # type: ignore[arg-type]
        repair_path=repair,
        write_off_path=write_off,
        ratio=ratio,
        pav=pav,
        flip_pav=round(e.flip_pav, 2) if e is not None else None,
        write_off_probability=e.p_write_off if e is not None else None,
        salvage=_construct(
            SalvageOut,
            value=round(outputs.salvage_value, 2),
            category=result.salvage_category,  # type: ignore[arg-type]
            category_probs=dict(outputs.salvage_category_probs),
        ),
        model=_construct(
            ModelSignals,
            repair_cost_p10=outputs.repair_cost_p10,
            repair_cost_p50=outputs.repair_cost_p50,
            repair_cost_p90=outputs.repair_cost_p90,
            supplement_rate=outputs.supplement_rate,
            hire_days=outputs.hire_days,
            repair_days=outputs.repair_days,
            structural_prob=outputs.structural_prob,
            airbag_prob=outputs.airbag_prob,
            adas_recal_prob=outputs.adas_recal_prob,
            drivable_prob=outputs.drivable_prob,
            total_loss_prob=outputs.total_loss_prob,
        ),
        data_quality_flags=flags,
        versions=_versions(config, outputs, features_version),
    )


def _no_model(
    claim: Claim,
    market: MarketEvidence | None,
    config: RuleConfig,
    decision_id: str,
    market_error: str | None,
    model_failure: ModelFailureCode | None,
    features_version: str | None,
) -> Decision:
    code: ModelFailureCode = model_failure or "MODEL_UNAVAILABLE"
    reasons = [
        _construct(
            DecisionReason,
            rule="MISSING_EVIDENCE",
            code=code,
            sentence=_MODEL_FAILURE_TEXT[code] + ": a handler must assess this claim.",
        )
    ]
    a = claim.accident
    if a.fire or a.flood:
        what = "fire" if a.fire else "flood"
        reasons.append(
            _construct(
                DecisionReason,
                rule="SAFETY",
                code="SAFETY_FIRE" if a.fire else "SAFETY_FLOOD",
                sentence=f"The vehicle was damaged by {what}; likely a safety write-off.",
            )
        )
    pav = choose_pav(
        market,
        None,
        min_comparables=config.min_comparables,
        model_max_spread=config.model_pav_max_spread,
        disagreement_flag=config.pav_disagreement_flag,
        market_error=market_error,
    )
    flags = [*pav.flags, code]
    if market_error:
        flags.append("MARKET_DATA_UNAVAILABLE")
    return _construct(
        Decision,
        decision_id=decision_id,
        claim_id=claim.claim_id,
        recommendation="investigate",
        decided_by="MISSING_EVIDENCE",
        confidence=1.0,
        currency=config.currency,
        reasons=reasons,
        pav=pav,
        data_quality_flags=flags,
        versions=_versions(config, None, features_version),
    )


__all__ = [
    "Decision",
    "DecisionReason",
    "ModelFailureCode",
    "decide",
    "missing_fields",
    "salvage_category",
]
