"""The repair-cost interval covers the *final* (supplemented) cost at its nominal 80%."""

from __future__ import annotations

import numpy as np
import pytest

from remedy_core.monitoring import conformal_interval_factors, interval_coverage
from remedy_core.synthetic import generate_claims
from remedy_training.models import (
    apply_calibration,
    predict_heads,
    quantile_calibration,
    train_bundle,
)


@pytest.fixture(scope="module")
def fitted():
    train, val = generate_claims(4000, seed=11), generate_claims(2000, seed=12)
    held_out = generate_claims(4000, seed=13)
    heads = ["repair_cost_p10", "repair_cost_p50", "repair_cost_p90"]
    trained = train_bundle(train, {"num_boost_round": 80}, seed=0, heads=heads)
    return predict_heads(trained, val), val, predict_heads(trained, held_out), held_out


def test_the_80pct_interval_covers_80pct_of_final_costs_on_held_out_claims(fitted):
    val_pred, val, pred, held_out = fitted
    cal = apply_calibration(pred, quantile_calibration(val_pred, val))
    final = held_out["t_final_repair_cost"]
    coverage = interval_coverage(cal["repair_cost_p10"], cal["repair_cost_p90"], final)
    assert 0.775 <= coverage <= 0.825, f"80% interval covered {coverage:.1%} of final costs"


def test_fitting_the_interval_to_the_first_estimate_undercovers_the_final_cost(fitted):
    # what the bundle did before: every quantile head calibrated to the first estimate
    val_pred, val, pred, held_out = fitted
    first = {
        name: float(np.quantile(val["t_estimate"] / val_pred[name], alpha))
        for name, alpha in (("repair_cost_p10", 0.1), ("repair_cost_p90", 0.9))
    }
    cal = apply_calibration(pred, first)
    final = held_out["t_final_repair_cost"]
    coverage = interval_coverage(cal["repair_cost_p10"], cal["repair_cost_p90"], final)
    assert coverage < 0.75, f"first-estimate interval covered {coverage:.1%} of final costs"


def test_the_median_stays_the_first_estimate(fitted):
    val_pred, val, pred, held_out = fitted
    cal = apply_calibration(pred, quantile_calibration(val_pred, val))
    below = np.mean(held_out["t_estimate"] < cal["repair_cost_p50"])
    assert 0.45 <= below <= 0.55, f"{below:.1%} of first estimates below the median"


def test_conformal_factors_on_a_known_distribution():
    # actual = prediction x lognormal(0, 0.2): the 90% tail factor is exp(0.2 * z_0.9) = 1.292
    rng = np.random.default_rng(5)
    pred = rng.uniform(1000, 5000, 20_000)
    actual = pred * rng.lognormal(0.0, 0.2, pred.size)
    low, high = conformal_interval_factors(pred, pred, actual, coverage=0.8)
    assert high == pytest.approx(np.exp(0.2 * 1.2816), rel=0.01)
    assert low == pytest.approx(np.exp(-0.2 * 1.2816), rel=0.01)


@pytest.mark.parametrize("coverage", [0.0, 1.0, 1.5])
def test_conformal_factors_refuse_a_meaningless_coverage(coverage):
    with pytest.raises(ValueError, match="coverage must be in"):
        conformal_interval_factors([1.0] * 30, [2.0] * 30, [1.5] * 30, coverage=coverage)


def test_conformal_factors_need_enough_claims():
    with pytest.raises(ValueError, match="at least 20"):
        conformal_interval_factors([1.0] * 5, [2.0] * 5, [1.5] * 5)
