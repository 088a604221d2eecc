"""Table-driven tests for every rule and each boundary, plus properties (hypothesis)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from factories import rule_inputs
from remedy_core.rules import (
    RECOMMENDATIONS,
    RuleConfig,
    UsJurisdiction,
    economic_batch,
    evaluate,
    prob_above,
)

UK = RuleConfig()
SAFE = {"A": 0.02, "B": 0.03, "S": 0.15, "N": 0.80}
FLAT = {"supplement_rate": 0.0, "hire_days": 40.0}  # repair path = E + 3,960 + 420 (exact)
# Write-off path at PAV 12,000, salvage 2,400, not drivable = 11,736 (exact).


def point(e: float, **kw):
    """Inputs with a degenerate estimate interval at ``e`` (isolates the point rules)."""
    return rule_inputs(estimate_p10=e, estimate_p50=e, estimate_p90=e, **kw)


CASES = [
    # id, inputs, expected recommendation, decided_by, expected reason codes
    ("plain-repair", rule_inputs(), "repair", "ECONOMIC", ["ECONOMIC_REPAIR"]),
    # SAFETY
    ("fire", rule_inputs(fire=True), "write_off", "SAFETY", ["SAFETY_FIRE"]),
    ("flood", rule_inputs(flood=True), "write_off", "SAFETY", ["SAFETY_FLOOD"]),
    (
        "cat-AB-exactly-0.5",
        rule_inputs(salvage_probs={"A": 0.25, "B": 0.25, "S": 0.25, "N": 0.25}),
        "write_off",
        "SAFETY",
        ["SAFETY_SALVAGE_CATEGORY"],
    ),
    (
        "cat-AB-just-below-0.5",
        rule_inputs(salvage_probs={"A": 0.24, "B": 0.25, "S": 0.26, "N": 0.25}),
        "repair",
        "ECONOMIC",
        ["ECONOMIC_REPAIR"],
    ),
    (
        "safety-beats-missing-pav",
        rule_inputs(fire=True, pav=None),
        "write_off",
        "SAFETY",
        ["SAFETY_FIRE"],
    ),
    # MISSING_EVIDENCE
    ("no-pav", rule_inputs(pav=None), "investigate", "MISSING_EVIDENCE", ["MISSING_PAV"]),
    (
        "missing-fields",
        rule_inputs(missing_fields=("accident.zones_hit",)),
        "investigate",
        "MISSING_EVIDENCE",
        ["MISSING_FIELDS"],
    ),
    (
        "missing-beats-special",
        rule_inputs(pav=None, classic=True),
        "investigate",
        "MISSING_EVIDENCE",
        ["MISSING_PAV"],
    ),
    # SPECIAL_VEHICLE
    (
        "pav-exactly-at-high-value-limit",
        point(20_000.0, pav=75_000.0, salvage_value=15_000.0),
        "repair",
        "ECONOMIC",
        ["ECONOMIC_REPAIR"],
    ),
    (
        "pav-just-above-high-value-limit",
        point(20_000.0, pav=75_000.01, salvage_value=15_000.0),
        "investigate",
        "SPECIAL_VEHICLE",
        ["SPECIAL_HIGH_VALUE"],
    ),
    ("classic", rule_inputs(classic=True), "investigate", "SPECIAL_VEHICLE", ["SPECIAL_CLASSIC"]),
    (
        "modified",
        rule_inputs(modified=True),
        "investigate",
        "SPECIAL_VEHICLE",
        ["SPECIAL_MODIFIED"],
    ),
    # ECONOMIC: exactly at the ratio (8,400 / 12,000 = 0.70) and just below
    ("ratio-exactly-0.70", point(8_400.0), "write_off", "ECONOMIC", ["ECONOMIC_RATIO"]),
    ("ratio-just-below-0.70", point(8_399.99), "repair", "ECONOMIC", ["ECONOMIC_REPAIR"]),
    # ECONOMIC: write-off path cheaper although ratio < 0.70
    (
        "paths-write-off-cheaper",
        point(7_000.0, supplement_rate=0.30, hire_days=30.0),
        "write_off",
        "ECONOMIC",
        ["ECONOMIC_PATHS"],
    ),
    # BORDERLINE band edges: |repair - write-off| == 0.05 x 12,000 = 600
    (
        "band-edge-repair-side",
        point(6_756.0, **FLAT),  # repair path 11,136 = 11,736 - 600
        "investigate",
        "BORDERLINE",
        ["ECONOMIC_REPAIR", "BORDERLINE_BAND"],
    ),
    (
        "band-just-outside-repair-side",
        point(6_755.99, **FLAT),
        "repair",
        "ECONOMIC",
        ["ECONOMIC_REPAIR"],
    ),
    (
        "band-edge-write-off-side",
        point(7_956.0, **FLAT),  # repair path 12,336 = 11,736 + 600
        "investigate",
        "BORDERLINE",
        ["ECONOMIC_PATHS", "BORDERLINE_BAND"],
    ),
    (
        "band-just-outside-write-off-side",
        point(7_956.01, **FLAT),
        "write_off",
        "ECONOMIC",
        ["ECONOMIC_PATHS"],
    ),
    # BORDERLINE interval straddling the 0.70 ratio (flip at 8,400)
    (
        "interval-straddles",
        rule_inputs(estimate_p10=7_800.0, estimate_p50=8_300.0, estimate_p90=8_800.0),
        "investigate",
        "BORDERLINE",
        ["ECONOMIC_REPAIR", "BORDERLINE_INTERVAL"],
    ),
    (
        "interval-p90-exactly-at-flip",
        rule_inputs(estimate_p10=7_800.0, estimate_p50=8_300.0, estimate_p90=8_400.0),
        "investigate",
        "BORDERLINE",
        ["ECONOMIC_REPAIR", "BORDERLINE_INTERVAL"],
    ),
    (
        "interval-p90-just-below-flip",
        rule_inputs(estimate_p10=7_800.0, estimate_p50=8_300.0, estimate_p90=8_399.99),
        "repair",
        "ECONOMIC",
        ["ECONOMIC_REPAIR"],
    ),
    (
        "interval-p10-exactly-at-flip",
        rule_inputs(
            estimate_p10=8_400.0, estimate_p50=8_900.0, estimate_p90=9_500.0, hire_days=0.0
        ),
        "write_off",
        "ECONOMIC",
        ["ECONOMIC_RATIO"],
    ),
]


@pytest.mark.parametrize(
    ("inputs", "recommendation", "decided_by", "codes"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_uk_rule_table(inputs, recommendation, decided_by, codes):
    result = evaluate(inputs, UK)
    assert (result.recommendation, result.decided_by) == (recommendation, decided_by)
    assert [r.code for r in result.reasons] == codes
    assert all(r.message for r in result.reasons)


def test_exact_boundary_arithmetic_is_exact():
    """The table's band/ratio edges rely on exact float arithmetic; prove it."""
    e = evaluate(point(6_756.0, **FLAT), UK).economics
    assert e is not None
    assert e.write_off_path.total == 11_736.0
    assert e.write_off_path.total - e.repair_path.total == 0.05 * 12_000.0
    assert evaluate(point(8_400.0), UK).economics.ratio == 0.70


def test_economic_result_carries_paths_ratio_interval_flip():
    r = evaluate(rule_inputs(), UK)
    e = r.economics
    assert e is not None
    items = dict(e.repair_path.items)
    assert items == {
        "repair_estimate": 4_000.0,
        "expected_supplement": 400.0,
        "hire": 12 * 99.0,
        "towing": 320.0,
        "storage": 5 * 20.0,
    }
    assert e.repair_path.total == pytest.approx(sum(items.values()))
    wo = dict(e.write_off_path.items)
    assert wo["salvage_recovery"] == -2_400.0 and wo["admin_fee"] == 150.0
    assert e.write_off_path.total == pytest.approx(sum(wo.values()))
    assert (e.ratio_p10, e.ratio, e.ratio_p90) == pytest.approx(
        (3_200 / 12_000, 1 / 3, 4_900 / 12_000)
    )
    assert e.threshold == 0.70
    # flip PAV: the larger of the ratio flip (4,000 / 0.7) and the path flip
    assert e.flip_pav == pytest.approx(max(4_000 / 0.7, (6_008.0 - 2_136.0) / 0.8))
    assert r.confidence > 0.99


def test_flip_pav_really_flips():
    inp = rule_inputs()
    flip = evaluate(inp, UK).economics.flip_pav
    share = inp.salvage_value / inp.pav
    above = rule_inputs(pav=flip * 1.001, salvage_value=share * flip * 1.001)
    below = rule_inputs(pav=flip * 0.999, salvage_value=share * flip * 0.999)
    assert evaluate(above, UK).economics.write_off_at_p50 is False
    assert evaluate(below, UK).economics.write_off_at_p50 is True


def test_towing_depends_on_drivable():
    drivable = dict(evaluate(rule_inputs(drivable=True), UK).economics.repair_path.items)
    assert drivable["towing"] == 192.0


def test_config_numbers_drive_the_rules():
    strict = RuleConfig(jurisdiction={"kind": "uk", "max_repair_ratio": 0.25})
    assert evaluate(rule_inputs(), strict).recommendation == "write_off"
    wide_band = RuleConfig(borderline_band=0.5)
    assert evaluate(rule_inputs(), wide_band).decided_by == "BORDERLINE"
    low_limit = RuleConfig(high_value_limit=10_000)
    assert evaluate(rule_inputs(), low_limit).decided_by == "SPECIAL_VEHICLE"


def test_config_rejects_bad_numbers_naming_the_field():
    with pytest.raises(ValueError, match="borderline_band"):
        RuleConfig(borderline_band=-0.1)
    with pytest.raises(ValueError, match="jurisdiction"):
        RuleConfig.for_jurisdiction("fr")


# --- US plug-in --------------------------------------------------------------------------
US = RuleConfig.for_jurisdiction("us")
NO_HIRE = {"supplement_rate": 0.0, "hire_days": 0.0}  # keeps the band rule out of the way

US_CASES = [
    # Nevada: 65% percentage threshold; PAV 12,000 -> flip at 7,800
    ("NV-exactly-65pct", point(7_800.0, region="nv"), "write_off", "ECONOMIC_RATIO"),
    ("NV-below-65pct", point(7_799.0, region="NV"), "repair", "ECONOMIC_REPAIR"),
    # Colorado 100%: a 90% repair is repaired in the US though the UK would write it off
    ("CO-90pct", point(10_800.0, region="CO"), "repair", "ECONOMIC_REPAIR"),
    # Unlisted state -> total-loss formula: repair + salvage >= ACV (9,600 + 2,400 = 12,000)
    ("TX-formula-exactly", point(9_600.0, region="TX", **NO_HIRE), "write_off", "ECONOMIC_FORMULA"),
    ("TX-formula-below", point(9_599.0, region="TX", **NO_HIRE), "repair", "ECONOMIC_REPAIR"),
]


@pytest.mark.parametrize(
    ("inputs", "recommendation", "code"), [c[1:] for c in US_CASES], ids=[c[0] for c in US_CASES]
)
def test_us_rule_table(inputs, recommendation, code):
    result = evaluate(inputs, US)
    assert result.recommendation == recommendation
    assert result.reasons[0].code == code


def test_us_config_defaults():
    assert US.currency == "USD"
    assert isinstance(US.jurisdiction, UsJurisdiction)
    assert US.jurisdiction.threshold("FL") == 0.80
    assert US.jurisdiction.threshold("TX") is None
    assert evaluate(point(7_800.0, region="NV"), US).economics.flip_pav == pytest.approx(12_000.0)


def test_prob_above_matches_quantiles():
    assert prob_above(100.0, 80.0, 100.0, 130.0) == pytest.approx(0.5)
    assert prob_above(80.0, 80.0, 100.0, 130.0) == pytest.approx(0.9)
    assert prob_above(130.0, 80.0, 100.0, 130.0) == pytest.approx(0.1)


# --- properties -----------------------------------------------------------------------------
money = st.floats(min_value=0.0, max_value=200_000.0, allow_nan=False)
probs = st.lists(st.floats(min_value=0.0, max_value=1.0), min_size=4, max_size=4).filter(
    lambda xs: sum(xs) > 0
)


@st.composite
def any_inputs(draw):
    """Arbitrary rule inputs."""
    a, b, c = sorted(draw(st.lists(money, min_size=3, max_size=3)))
    raw = draw(probs)
    total = sum(raw)
    flag = st.booleans()
    pav = st.floats(min_value=1.0, max_value=200_000.0)
    return rule_inputs(
        estimate_p10=a,
        estimate_p50=b,
        estimate_p90=c,
        supplement_rate=draw(st.floats(min_value=-0.5, max_value=2.0)),
        hire_days=draw(st.floats(min_value=-5.0, max_value=120.0)),
        salvage_value=draw(money),
        salvage_probs=dict(zip("ABSN", (x / total for x in raw), strict=True)),
        pav=draw(st.one_of(st.none(), pav)),
        drivable=draw(st.booleans()),
        fire=draw(flag),
        flood=draw(flag),
        classic=draw(flag),
        modified=draw(flag),
    )


@st.composite
def repairable(draw):
    """Ordinary cars whose estimate is a modest share of PAV: mostly repairs."""
    pav = draw(st.floats(min_value=500.0, max_value=70_000.0))
    a, b, c = sorted(draw(st.lists(st.floats(0.0, 0.6), min_size=3, max_size=3)))
    return rule_inputs(
        estimate_p10=a * pav,
        estimate_p50=b * pav,
        estimate_p90=c * pav,
        supplement_rate=draw(st.floats(min_value=0.0, max_value=0.5)),
        hire_days=draw(st.floats(min_value=0.0, max_value=30.0)),
        salvage_value=draw(st.floats(0.0, 0.3)) * pav,
        pav=pav,
        drivable=draw(st.booleans()),
    )


@settings(max_examples=300, deadline=None)
@given(any_inputs(), st.sampled_from([UK, US]))
def test_recommendation_is_one_of_three_and_costs_never_negative(inp, cfg):
    r = evaluate(inp, cfg)
    assert r.recommendation in RECOMMENDATIONS
    assert 0.0 <= r.confidence <= 1.0
    if r.economics is not None:
        for path in (r.economics.repair_path, r.economics.write_off_path):
            assert path.total >= 0.0
            assert all(v >= 0 for k, v in path.items if k != "salvage_recovery")


@settings(max_examples=300, deadline=None)
@given(repairable(), st.floats(min_value=1.0, max_value=5.0), st.sampled_from([UK, US]))
def test_raising_pav_never_turns_repair_into_write_off(inp, factor, cfg):
    assume(evaluate(inp, cfg).recommendation == "repair")
    share = min(1.0, inp.salvage_value / inp.pav)
    richer = rule_inputs(
        **{
            **{k: getattr(inp, k) for k in inp.__slots__},
            "pav": inp.pav * factor,
            "salvage_value": share * inp.pav * factor,
        }
    )
    assert evaluate(richer, cfg).recommendation != "write_off"


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.one_of(any_inputs(), repairable()), min_size=1, max_size=20),
    st.sampled_from([UK, US]),
)
def test_vectorised_batch_equals_scalar_rules(rows, cfg):
    def col(f):
        return np.array([f(r) for r in rows], dtype=np.float64)

    out = economic_batch(
        cfg,
        p10=col(lambda r: r.estimate_p10),
        p50=col(lambda r: r.estimate_p50),
        p90=col(lambda r: r.estimate_p90),
        supplement_rate=col(lambda r: r.supplement_rate),
        hire_days=col(lambda r: r.hire_days),
        salvage_value=col(lambda r: r.salvage_value),
        pav=col(lambda r: np.nan if r.pav is None else r.pav),
        drivable=col(lambda r: r.drivable).astype(bool),
        p_ab=col(lambda r: r.salvage_probs["A"] + r.salvage_probs["B"]),
        fire=col(lambda r: r.fire).astype(bool),
        flood=col(lambda r: r.flood).astype(bool),
        special=col(lambda r: r.classic or r.modified).astype(bool),
        missing=col(lambda r: bool(r.missing_fields)).astype(bool),
        region="north_west",
    )
    expected = [RECOMMENDATIONS.index(evaluate(r, cfg).recommendation) for r in rows]
    assert out.tolist() == expected


def test_reason_sentence_never_shows_a_ratio_equal_to_the_threshold_when_it_is_not():
    r = evaluate(point(8_395.0, hire_days=0.0), UK)  # 69.96 %
    assert r.recommendation == "repair"
    assert "69.96%" in r.reasons[0].message and "70% maximum" in r.reasons[0].message
