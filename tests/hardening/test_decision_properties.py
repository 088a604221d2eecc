"""Hypothesis properties of whole decisions: ``decide()`` over generated model outputs, market
evidence (or its failure) and claims, for both jurisdictions.

The inference repo already proves these for the rule function (``test_rules.py``, over
``RuleInputs``); here they must hold after PAV choice, clamping and the audit event too:
- the recommendation is one of three; confidence and write-off probability are probabilities;
- costs are never negative (path totals, the event's paths, the model money the event reports);
- raising the market value never turns repair into write-off (same model, same claim);
- no usable PAV means investigate, unless a safety rule writes the car off;
- every decision serialises (no NaN) and yields a valid, PII-free audit event.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytestmark = pytest.mark.filterwarnings("ignore")

SETTINGS = settings(
    max_examples=250,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
money = st.floats(min_value=0.0, max_value=150_000.0, allow_nan=False, allow_infinity=False)
prob = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)


def ordered(low: float, high: float):
    return st.lists(
        st.floats(min_value=low, max_value=high, allow_nan=False), min_size=3, max_size=3
    ).map(sorted)


@st.composite
def model_outputs(draw, base):
    """A valid ``ModelOutputs`` anywhere in the plausible range (regression heads may dip < 0)."""
    r10, r50, r90 = draw(ordered(-500.0, 60_000.0))
    p10, p50, p90 = draw(ordered(300.0, 150_000.0))
    weights = draw(st.lists(st.floats(min_value=0.01, max_value=1.0), min_size=4, max_size=4))
    total = sum(weights)
    return replace(
        base,
        repair_cost_p10=r10,
        repair_cost_p50=r50,
        repair_cost_p90=r90,
        pav_p10=p10,
        pav_p50=p50,
        pav_p90=p90,
        salvage_value=draw(st.floats(min_value=-200.0, max_value=100_000.0)),
        hire_days=draw(st.floats(min_value=-2.0, max_value=90.0)),
        supplement_rate=draw(st.floats(min_value=-0.05, max_value=1.5)),
        salvage_category_probs=dict(zip("ABSN", [w / total for w in weights], strict=True)),
        structural_prob=draw(prob),
        airbag_prob=draw(prob),
        total_loss_prob=draw(prob),
    )


@st.composite
def market_evidence(draw):
    """Market evidence (guide value and 0-8 comparables) or None with the failure's reason."""
    from remedy_core.valuation import Comparable, MarketEvidence

    if draw(st.booleans()) and draw(st.booleans()):
        return None, draw(st.sampled_from(["TIMEOUT: 2 s", "UPSTREAM_ERROR: 503", "NOT_FOUND"]))
    value = draw(st.floats(min_value=300.0, max_value=150_000.0))
    comps = [
        Comparable(
            price=value * draw(st.floats(min_value=0.7, max_value=1.3)),
            age_years=draw(st.floats(min_value=0, max_value=30)),
            mileage=draw(st.floats(min_value=0, max_value=200_000)),
            distance_miles=draw(st.floats(min_value=0, max_value=100)),
        )
        for _ in range(draw(st.integers(min_value=0, max_value=8)))
    ]
    adjusted = draw(st.none() | st.just(value))
    guide = draw(st.none() | st.just(value * 1.05))
    evidence = MarketEvidence(
        source="fuzz", guide_value=guide, comparables=comps, comparables_adjusted_value=adjusted
    )
    return evidence, None


@st.composite
def scenario(draw, base):
    """Model outputs and market evidence around one car value, with the repair estimate at 2% to
    100% of it: the mix of repair, write-off and borderline that the PAV property needs."""
    from remedy_core.valuation import Comparable, MarketEvidence

    value = draw(st.floats(min_value=1_000.0, max_value=70_000.0))
    ratio = draw(st.floats(min_value=0.02, max_value=1.0))
    spread = draw(st.floats(min_value=0.0, max_value=0.4))
    r50 = ratio * value
    a, b = draw(prob) * 0.2, draw(prob) * 0.2
    s_ = draw(prob) * (1 - a - b)
    outputs = replace(
        base,
        repair_cost_p10=r50 * (1 - spread / 2),
        repair_cost_p50=r50,
        repair_cost_p90=r50 * (1 + spread),
        pav_p10=value * 0.9,
        pav_p50=value,
        pav_p90=value * 1.1,
        salvage_value=value * draw(st.floats(min_value=0.0, max_value=0.35)),
        hire_days=draw(st.floats(min_value=0.0, max_value=30.0)),
        supplement_rate=draw(st.floats(min_value=0.0, max_value=0.3)),
        salvage_category_probs={"A": a, "B": b, "S": s_, "N": 1 - a - b - s_},
    )
    comps = [
        Comparable(
            price=value * draw(st.floats(min_value=0.85, max_value=1.15)),
            age_years=5,
            mileage=40_000,
            distance_miles=10,
        )
        for _ in range(draw(st.integers(min_value=0, max_value=6)))
    ]
    evidence = MarketEvidence(
        source="fuzz",
        guide_value=value * draw(st.floats(min_value=0.9, max_value=1.1)),
        comparables=comps,
        comparables_adjusted_value=draw(st.none() | st.just(value)),
    )
    return outputs, evidence


def scaled(evidence, factor: float):
    """The same evidence with every price multiplied by ``factor``."""
    from remedy_core.valuation import MarketEvidence

    data = evidence.model_dump()
    for key in ("guide_value", "comparables_adjusted_value"):
        if data[key] is not None:
            data[key] *= factor
    for comp in data["comparables"]:
        comp["price"] *= factor
    return MarketEvidence.model_validate(data)


@st.composite
def claim_variant(draw, claims):
    claim = draw(st.sampled_from(claims[:40]))
    accident = claim.accident.model_copy(
        update={
            "fire": draw(st.integers(0, 9)) == 0,
            "flood": draw(st.integers(0, 9)) == 0,
            "drivable": draw(st.booleans()),
        }
    )
    vehicle = claim.vehicle.model_copy(
        update={"classic": draw(st.integers(0, 9)) == 0, "modified": draw(st.integers(0, 9)) == 0}
    )
    return claim.model_copy(update={"accident": accident, "vehicle": vehicle})


@pytest.fixture(scope="module")
def setup(compiled, claims):
    from remedy_core.features import encode_claim
    from remedy_core.rules import RuleConfig

    base = compiled.predict_one(encode_claim(claims[0]))
    configs = [RuleConfig(), RuleConfig.for_jurisdiction("us")]
    return base, configs, claims


def run_decide(claim, outputs, market, error, config):
    from remedy_core.decision import decide

    return decide(
        claim,
        outputs,
        market,
        config=config,
        decision_id="00000000-0000-4000-8000-000000000000",
        market_error=error,
        features_version="1",
    )


def test_every_decision_is_sane_costs_never_negative_event_valid(setup) -> None:
    from remedy_inference.audit import decision_event

    base, configs, claims = setup

    @SETTINGS
    @given(
        claim=claim_variant(claims),
        outputs=st.none() | model_outputs(base),
        market=market_evidence(),
        config=st.sampled_from(configs),
    )
    def check(claim, outputs, market, config) -> None:
        evidence, error = market
        d = run_decide(claim, outputs, evidence, error, config)
        assert d.recommendation in {"repair", "write_off", "investigate"}
        assert 0.0 <= d.confidence <= 1.0
        assert d.write_off_probability is None or 0.0 <= d.write_off_probability <= 1.0
        for path in (d.repair_path, d.write_off_path):
            if path is not None:
                assert path.total >= 0.0, (path, d.pav.value, outputs)
                assert all(v >= 0 for k, v in path.items.items() if k != "salvage_recovery"), (
                    path.items
                )
        if d.pav.value is None:
            assert d.recommendation == "investigate" or d.decided_by == "SAFETY", d
        if outputs is None:
            assert d.recommendation == "investigate"
        json.loads(d.model_dump_json())  # no NaN/inf reaches the response
        event = decision_event(
            d,
            claim,
            outputs,
            decided_at=datetime(2026, 1, 1, tzinfo=UTC),
            latency_ms=1.0,
            pseudonymisation_key="hardening-property-key",
        )
        assert event.recommendation == d.recommendation
        assert event.repair_path.total >= 0 and event.write_off_path.total >= 0
        assert event.model_outputs.repair_cost_p10 >= 0 and event.model_outputs.salvage_value >= 0

    check()


def test_raising_market_pav_never_turns_repair_into_write_off(setup) -> None:
    base, configs, claims = setup
    seen: Counter[tuple[str, str]] = Counter()

    @SETTINGS
    @given(
        claim=claim_variant(claims),
        case=scenario(base),
        factor=st.floats(min_value=1.0, max_value=3.0),
        config=st.sampled_from(configs),
    )
    def check(claim, case, factor, config) -> None:
        outputs, evidence = case
        low = run_decide(claim, outputs, evidence, None, config)
        high = run_decide(claim, outputs, scaled(evidence, factor), None, config)
        if low.pav.value is not None and high.pav.value is not None:
            assert high.pav.value >= low.pav.value - 1e-6
        seen[(low.recommendation, high.recommendation)] += 1
        if low.recommendation == "repair":
            assert high.recommendation != "write_off", (low.pav.value, high.pav.value, high)

    check()
    # the generator really produced repairs whose PAV was raised (else the property is vacuous)
    print(f"\nlow -> raised PAV recommendations: {dict(seen)}")
    assert sum(n for (low, _), n in seen.items() if low == "repair") >= 40, seen
