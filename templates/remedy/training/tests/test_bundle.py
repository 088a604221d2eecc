"""Features and the ONNX bundle: one encoding, one session, equal to LightGBM."""

import json
import time

import numpy as np
import pytest

from remedy_core.bundle import FAMILIES, HEADS, BundleError, load_bundle
from remedy_core.features import (
    FEATURE_NAMES,
    N_FEATURES,
    encode_claim,
    encode_claims,
    encode_frame,
)
from remedy_core.outputs import ModelOutputs
from remedy_core.synthetic import frame_to_claims, generate_claims


@pytest.fixture(scope="module")
def holdout():
    return generate_claims(400, seed=77)


def test_single_claim_encoding_equals_batch_encoding(holdout):
    X = encode_frame(holdout)
    assert X.shape == (len(holdout), N_FEATURES) == (len(holdout), len(FEATURE_NAMES))
    assert X.dtype == np.float32
    np.testing.assert_array_equal(X, encode_claims(frame_to_claims(holdout)))


def test_unknown_vehicle_falls_back_to_segment_values(holdout):
    claim = frame_to_claims(holdout.head(1))[0]
    odd = claim.model_copy(update={"vehicle": claim.vehicle.model_copy(update={"model": "Zeta"})})
    vec = encode_claim(odd)
    assert vec[FEATURE_NAMES.index("catalogue_known")] == 0.0
    assert vec[FEATURE_NAMES.index("new_price")] > 0


def test_bundle_has_14_model_families_plus_estimate_and_challenger(small_bundle):
    manifest = json.loads((small_bundle / "manifest.json").read_text())
    numbered = [f for f in FAMILIES if f.startswith("m")]
    assert len(numbered) == 14
    assert {"estimate", "challenger"} <= set(FAMILIES)
    assert len(manifest["heads"]) == len(HEADS)
    assert set(manifest["model_versions"]) >= set(FAMILIES) | {"bundle", "features"}


def test_one_onnx_session_equals_lightgbm(small_bundle, holdout):
    bundle = load_bundle(small_bundle)
    X = encode_frame(holdout)
    onnx_values, native = bundle.predict_raw(X), bundle.native_predict(X)
    for head in HEADS:
        a, b = onnx_values[head.name], native[head.name]
        rel = np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-2))
        assert rel < 1e-4, f"{head.name}: ONNX differs from LightGBM by {rel:.2e}"


def test_predict_one_is_a_fast_single_row_path(small_bundle, holdout):
    bundle = load_bundle(small_bundle)
    claims = frame_to_claims(holdout.head(50))
    out = bundle.predict_one(encode_claim(claims[0]))
    assert isinstance(out, ModelOutputs)
    assert out.repair_cost_p10 <= out.repair_cost_p50 <= out.repair_cost_p90
    assert abs(sum(out.salvage_category_probs.values()) - 1) < 1e-6
    assert out.model_versions["bundle"] == bundle.bundle_id
    t0 = time.perf_counter()
    for c in claims:
        bundle.predict_one(encode_claim(c))
    per_claim_ms = (time.perf_counter() - t0) / len(claims) * 1e3
    assert per_claim_ms < 25, per_claim_ms  # ~1 ms on an idle laptop core


def test_batch_predict_matches_predict_one(small_bundle, holdout):
    bundle = load_bundle(small_bundle)
    X = encode_frame(holdout.head(5))
    batch = bundle.predict(X)
    one = bundle.predict_one(X[2])
    assert batch[2].pav_p50 == pytest.approx(one.pav_p50, rel=1e-6)


def test_feature_version_mismatch_is_refused(small_bundle, tmp_path):
    import shutil

    copy = tmp_path / "b"
    shutil.copytree(small_bundle, copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["features_version"] = "0.0.1"
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(BundleError, match="retrain"):
        load_bundle(copy)


def test_wrong_feature_width_is_refused(small_bundle):
    with pytest.raises(ValueError, match="shape"):
        load_bundle(small_bundle).predict(np.zeros((1, 3), dtype=np.float32))


def test_quantile_calibration_is_applied_on_both_paths(small_bundle, holdout, tmp_path):
    import shutil

    copy = tmp_path / "cal"
    shutil.copytree(small_bundle, copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["calibration"] = {"scale": {"pav_p90": 1.5}}
    (copy / "manifest.json").write_text(json.dumps(manifest))
    X = encode_frame(holdout.head(20))
    base, cal = load_bundle(small_bundle), load_bundle(copy)
    np.testing.assert_allclose(cal.predict_raw(X)["pav_p90"], 1.5 * base.predict_raw(X)["pav_p90"])
    np.testing.assert_allclose(
        cal.native_predict(X)["pav_p90"], cal.predict_raw(X)["pav_p90"], rtol=1e-4
    )


def test_calibration_factors_hit_the_nominal_levels():
    from remedy_training.models import quantile_calibration

    frame = generate_claims(2000, seed=1)
    noise = np.random.default_rng(0).lognormal(0.0, 0.2, len(frame))
    preds = {"repair_cost_p10": frame["t_estimate"].to_numpy() * 1.3 * noise}  # biased high
    f = quantile_calibration(preds, frame)["repair_cost_p10"]
    below = np.mean(frame["t_estimate"] < preds["repair_cost_p10"] * f)
    assert abs(below - 0.10) < 0.01 and f < 1.0
