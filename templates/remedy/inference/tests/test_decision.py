"""decide(): claim + model outputs + market evidence -> Decision, including dependency failures."""

from __future__ import annotations

import pytest

from factories import claim, market, outputs
from remedy_core.decision import decide
from remedy_core.rules import RuleConfig

UK = RuleConfig()


def run(c=None, o="default", m="default", **kw):
    return decide(
        c or claim(),
        outputs() if o == "default" else o,
        market() if m == "default" else m,
        config=UK,
        decision_id="dec-1",
        **kw,
    )


def test_repair_decision_carries_all_evidence():
    d = run()
    assert d.recommendation == "repair" and d.decided_by == "ECONOMIC"
    assert d.pav.value == 12_000.0 and d.pav.source == "market_comparables"
    assert d.pav.guide_value == 12_100.0 and len(d.pav.comparables) == 3
    assert d.repair_path.total == 6_008.0 and d.write_off_path.total == 11_736.0
    assert d.ratio.threshold == 0.70 and d.ratio.p10 < d.ratio.value < d.ratio.p90
    assert d.salvage.category == "N"
    assert d.flip_pav == pytest.approx(4_000 / 0.7, abs=0.01)
    assert d.versions.rule_set == UK.rule_set_version and d.versions.bundle == "remedy-bundle-test"
    assert d.reasons[0].sentence.startswith("Repairing costs")


def test_no_model_means_investigate_model_not_deployed():
    d = run(o=None, model_failure="MODEL_NOT_DEPLOYED")
    assert d.recommendation == "investigate"
    assert [r.code for r in d.reasons] == ["MODEL_NOT_DEPLOYED"]
    assert "MODEL_NOT_DEPLOYED" in d.data_quality_flags
    assert d.pav.value == 12_000.0  # market evidence still shown


def test_endpoint_failure_with_fire_still_investigates_but_says_why():
    d = run(c=claim(accident={"fire": True}), o=None, model_failure="MODEL_UNAVAILABLE")
    assert d.recommendation == "investigate"
    assert [r.code for r in d.reasons] == ["MODEL_UNAVAILABLE", "SAFETY_FIRE"]


def test_market_failure_falls_back_to_confident_model_pav():
    d = run(m=None, market_error="TIMEOUT: valuation API did not answer in 2.0 s")
    assert d.pav.source == "model" and d.pav.value == 12_000.0
    assert d.recommendation == "repair"
    assert "MARKET_DATA_UNAVAILABLE" in d.data_quality_flags


def test_market_failure_and_unconfident_model_means_missing_pav():
    wide = outputs(pav_p10=6_000.0, pav_p50=12_000.0, pav_p90=18_000.0)
    d = run(o=wide, m=None, market_error="UPSTREAM_ERROR: 503")
    assert d.recommendation == "investigate" and d.decided_by == "MISSING_EVIDENCE"
    assert d.reasons[0].code == "MISSING_PAV"
    assert "UPSTREAM_ERROR: 503" in d.reasons[0].sentence
    assert "MODEL_PAV_NOT_CONFIDENT" in d.data_quality_flags


def test_few_comparables_uses_guide_value_and_flags_it():
    d = run(m=market(prices=(9_000.0,), guide=12_500.0))
    assert d.pav.source == "market_guide" and d.pav.value == 12_500.0
    assert "FEW_COMPARABLES" in d.data_quality_flags


def test_market_and_model_disagreeing_is_flagged():
    d = run(m=market(prices=(20_000.0, 20_500.0, 21_000.0)))
    assert "MARKET_MODEL_PAV_DISAGREE" in d.data_quality_flags


def test_no_zones_reported_is_missing_evidence():
    c = claim(accident={"zones_hit": [], "zone_severity": {}})
    d = run(c=c)
    assert d.decided_by == "MISSING_EVIDENCE"
    assert d.reasons[0].code == "MISSING_FIELDS" and "accident.zones_hit" in d.reasons[0].sentence


def test_negative_model_outputs_are_clamped():
    o = outputs(repair_cost_p10=-50.0, repair_cost_p50=-10.0, repair_cost_p90=100.0, hire_days=-3)
    d = run(o=o)
    assert all(v >= 0 for k, v in d.repair_path.items.items())


@pytest.mark.parametrize(
    ("c", "o", "m", "expected"),
    [
        (claim(accident={"flood": True}), outputs(), market(), ("write_off", "SAFETY")),
        (claim(vehicle={"classic": True}), outputs(), market(), ("investigate", "SPECIAL_VEHICLE")),
        (
            claim(),
            outputs(repair_cost_p10=10_000.0, repair_cost_p50=10_500.0, repair_cost_p90=11e3),
            market(),
            ("write_off", "ECONOMIC"),
        ),
        (
            claim(),
            outputs(repair_cost_p10=7_000.0, repair_cost_p50=8_000.0, repair_cost_p90=9_000.0),
            market(),
            ("investigate", "BORDERLINE"),
        ),
    ],
    ids=["safety", "special", "economic-write-off", "borderline"],
)
def test_one_decision_per_rule(c, o, m, expected):
    d = decide(c, o, m, config=UK, decision_id="x")
    assert (d.recommendation, d.decided_by) == expected


def test_fast_construction_equals_pydantic_model_construct():
    """decision._construct builds the result models like model_construct (hot path)."""
    from remedy_core import decision as d

    cases = {
        d.DecisionReason: {"rule": "ECONOMIC", "code": "ECONOMIC_RATIO", "sentence": "s"},
        d.CostPathOut: {"total": 10.0, "items": {"a": 10.0}},
        d.Versions: {"rule_set": "r", "jurisdiction": "uk"},  # defaults filled in
    }
    for cls, values in cases.items():
        fast, ref = d._construct(cls, **values), cls.model_construct(**values)
        assert fast == ref and fast.model_dump_json() == ref.model_dump_json(), cls.__name__
        assert fast.model_fields_set == ref.model_fields_set == set(values)
    versions = d._construct(d.Versions, rule_set="r", jurisdiction="uk")
    assert (
        versions.models == {}
        and versions.models is not d._construct(d.Versions, rule_set="r", jurisdiction="uk").models
    )  # a fresh default per instance
