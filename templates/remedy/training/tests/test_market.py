import datetime as dt

import numpy as np

from remedy_core.market import (
    claim_market_value,
    comparable_adverts,
    comparables_estimate,
    depreciation_factor,
    guide_value,
)
from remedy_core.synthetic import frame_to_claims, generate_claims


def _claims(n=200):
    return frame_to_claims(generate_claims(n, seed=3))


def test_adverts_are_deterministic_and_3_to_10():
    for claim in _claims(50):
        a, b = comparable_adverts(claim), comparable_adverts(claim)
        assert a == b
        assert 3 <= len(a) <= 10
        assert all(ad.price > 0 and ad.distance_miles > 0 for ad in a)


def test_comparables_track_market_value_and_guide_sits_below():
    ratios, guide_ratios = [], []
    for claim in _claims(300):
        market = claim_market_value(claim)
        est = comparables_estimate(comparable_adverts(claim), claim)
        ratios.append(est / market)
        guide_ratios.append(guide_value(claim) / market)
    assert 0.97 <= np.median(ratios) <= 1.03
    assert np.mean(np.abs(np.array(ratios) - 1) <= 0.10) >= 0.9
    assert np.median(guide_ratios) < 1.0  # trade guides lag retail


def test_depreciation_first_year_and_three_years():
    assert abs(depreciation_factor(1.0, 0) - 0.80) < 1e-9
    three = float(depreciation_factor(3.0, 30_000))
    assert 0.55 <= three <= 0.65  # ~40% lost by year 3 with 10k miles a year


def test_incident_date_sanity():
    claim = _claims(1)[0]
    assert claim.incident_date >= dt.date(2022, 1, 1)
