"""Sample decisions: each carries the rule that decided it and the evidence behind it."""

from __future__ import annotations

from remedy_inference.samples import RULES, find_samples


def test_samples_cover_the_rules_with_their_evidence(bundle_dir):
    samples = find_samples(bundle_dir, n_claims=600)
    assert {"SAFETY", "MISSING_EVIDENCE", "ECONOMIC"} <= set(samples) <= set(RULES)
    for rule, sample in samples.items():
        d = sample["decision"]
        assert d["decided_by"] == rule
        assert d["reasons"] and all(r["sentence"] for r in d["reasons"])
        assert d["versions"]["rule_set"] and d["versions"]["bundle"]
        if rule in ("ECONOMIC", "BORDERLINE"):
            assert d["ratio"]["threshold"] == 0.7 and d["flip_pav"] > 0
            assert d["repair_path"]["items"] and d["write_off_path"]["items"]
            assert len(d["pav"]["comparables"]) >= 3
