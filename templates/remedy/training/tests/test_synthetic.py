"""Calibration of the synthetic claims generator against the domain reference.

Targets (tolerances stated next to each assertion):
  total-loss share 20% (18-24%), mean final repair cost of repaired cars GBP 4,000 (+-15%),
  parts share of the repair bill 45% (40-50%), parts repaired rather than replaced 17% (13-21%),
  supplement on 39% of first estimates (35-43%), body + paint labour ~27 h (22-32 h),
  depreciation: first-year drop 15-25%, 8-11% a year after, 2-4% per 10k miles,
  salvage 15-25% of PAV for N/S and lower for A/B, median repair-path hire ~12 days (10-14),
  EVs: about +4 labour hours.
"""

import time

import numpy as np
import pandas as pd
import pytest

from remedy_core.claims import MAX_MILEAGE, Claim
from remedy_core.synthetic import frame_to_claims, generate_claims

N = 60_000


@pytest.fixture(scope="module")
def claims() -> pd.DataFrame:
    return generate_claims(N, seed=11)


@pytest.fixture(scope="module")
def repaired(claims) -> pd.DataFrame:
    return claims[~claims["t_total_loss"]]


def test_total_loss_share(claims):
    assert 0.18 <= claims["t_total_loss"].mean() <= 0.24


def test_average_repair_cost(repaired):
    assert 3_400 <= repaired["t_final_repair_cost"].mean() <= 4_600


def test_parts_share_and_repair_vs_replace(repaired):
    share = repaired["t_final_parts_cost"].sum() / repaired["t_final_repair_cost"].sum()
    assert 0.40 <= share <= 0.50
    repaired_parts = 1.0 - repaired["t_final_replace_share"].mean()
    assert 0.13 <= repaired_parts <= 0.21


def test_labour_hours(repaired):
    hours = repaired["t_final_labour_hours"] + repaired["t_final_paint_hours"]
    assert 22 <= hours.mean() <= 32


def test_ev_labour_uplift(repaired):
    ev = repaired["powertrain"] == "ev"
    uplift = repaired.loc[ev, "t_labour_hours"].mean() - repaired.loc[~ev, "t_labour_hours"].mean()
    assert 2.0 <= uplift <= 8.0


def test_supplement_rate(claims):
    assert 0.35 <= (claims["t_supplement"] > 0).mean() <= 0.43
    mean_supplement = claims.loc[claims["t_supplement"] > 0, "t_supplement"].mean()
    assert 600 <= mean_supplement <= 1_500  # US mean ~$950; same order in GBP


def test_depreciation_curve(claims):
    ice = claims[(claims["powertrain"] != "ev") & ~claims["classic"] & ~claims["modified"]]
    ice = ice[(ice["t_age_years"] >= 1) & (ice["t_age_years"] <= 12)]
    from remedy_core.market import REGION_PRICE_FACTOR

    y = np.log(ice["t_pav"] / (ice["t_new_price"] * ice["region"].map(REGION_PRICE_FACTOR)))
    A = np.column_stack([np.ones(len(ice)), ice["t_age_years"] - 1, ice["mileage"] / 10_000])
    b0, b_age, b_miles = np.linalg.lstsq(A, y.to_numpy(), rcond=None)[0]
    assert 0.15 <= 1 - np.exp(b0) <= 0.25, "first-year drop"
    assert 0.08 <= 1 - np.exp(b_age) <= 0.11, "yearly depreciation"
    assert 0.02 <= 1 - np.exp(b_miles) <= 0.04, "per 10k miles"


def test_older_cars_are_likelier_write_offs(claims):
    old = claims["t_age_years"] >= 7
    assert claims.loc[old, "t_total_loss"].mean() > 2 * claims.loc[~old, "t_total_loss"].mean()


def test_salvage_share(claims):
    frac = (claims["t_salvage"] / claims["t_pav"]).groupby(claims["t_salvage_category"]).mean()
    assert 0.15 <= frac["N"] <= 0.25 and 0.15 <= frac["S"] <= 0.25
    assert frac["A"] < 0.15 and frac["B"] < 0.15


def test_hire_days(repaired):
    assert 10 <= repaired["t_hire_days"].median() <= 14


def test_ab_categories_are_always_written_off(claims):
    ab = claims["t_salvage_category"].isin(["A", "B"])
    assert ab.any() and claims.loc[ab, "t_total_loss"].all()


def test_deterministic_for_a_seed():
    a, b = generate_claims(2_000, seed=5), generate_claims(2_000, seed=5)
    pd.testing.assert_frame_equal(a, b)
    c = generate_claims(2_000, seed=6)
    assert not np.allclose(a["t_final_repair_cost"], c["t_final_repair_cost"])


def test_100k_claims_well_under_a_minute():
    t0 = time.perf_counter()
    df = generate_claims(100_000, seed=1)
    assert len(df) == 100_000
    assert time.perf_counter() - t0 < 15


def test_rows_are_valid_claims(claims):
    parsed = frame_to_claims(claims.head(300))
    assert all(isinstance(c, Claim) for c in parsed)
    assert sum(len(c.accident.zones_hit) for c in parsed) > 0


def test_bad_size_is_rejected():
    with pytest.raises(ValueError, match="positive"):
        generate_claims(0)


def test_the_odometer_tail_stays_a_valid_request():
    # seed 42 at 40k claims drew a 30-year-old car past the request schema's odometer bound
    frame = generate_claims(40_000, seed=42)
    assert frame["mileage"].max() <= MAX_MILEAGE
    frame_to_claims(frame.nlargest(5, "mileage"))
