"""SageMaker inference script: every model in one call, equal to the training library's predict."""

from __future__ import annotations

import json

import numpy as np
import pytest

from factories import claim
from remedy_core.bundle import HEADS
from remedy_core.features import N_FEATURES, encode_claim, encode_claims
from remedy_core.outputs import ModelOutputs
from remedy_inference import inference


def test_one_call_returns_every_model_for_every_row(bundle_dir):
    model = inference.model_fn(str(bundle_dir))
    claims = [claim(), claim(claim_id="CLM-2", accident={"drivable": True})]
    body = json.dumps({"instances": encode_claims(claims).tolist()})
    out = json.loads(inference.output_fn(inference.predict_fn(inference.input_fn(body), model)))
    assert out["bundle_id"] == model.bundle_id
    assert len(out["outputs"]) == 2
    first = ModelOutputs(**out["outputs"][0])
    assert first.repair_cost_p10 <= first.repair_cost_p50 <= first.repair_cost_p90
    assert set(first.salvage_category_probs) == {"A", "B", "S", "N"}
    families = {k for k in first.model_versions if k.startswith("m")}
    assert len(families) == 14


def test_claims_can_be_sent_instead_of_features(bundle_dir):
    model = inference.model_fn(str(bundle_dir))
    a = inference.input_fn(json.dumps({"claims": [json.loads(claim().model_dump_json())]}))
    b = inference.input_fn(json.dumps({"instances": [encode_claim(claim()).tolist()]}))
    assert np.array_equal(a, b)
    assert inference.predict_fn(a, model)[0] == inference.predict_fn(b, model)[0]


def test_onnx_serving_equals_native_lightgbm(bundle):
    X = encode_claims([claim(claim_id=f"C{i}", vehicle={"year": 2010 + i}) for i in range(8)])
    onnx_values = bundle.predict_raw(X)
    native = bundle.native_predict(X)
    for head in HEADS:
        np.testing.assert_allclose(
            onnx_values[head.name], native[head.name], rtol=1e-4, atol=1e-3, err_msg=head.name
        )


@pytest.mark.parametrize(
    ("body", "ctype", "match"),
    [
        ("{}", "text/csv", "content type"),
        ("not json", "application/json", "not JSON"),
        ("[1, 2]", "application/json", "object"),
        (json.dumps({"instances": [[1.0, 2.0]]}), "application/json", f"(n, {N_FEATURES})"),
        (json.dumps({"instances": []}), "application/json", "non-empty"),
    ],
    ids=["csv", "garbage", "array", "wrong-width", "empty"],
)
def test_bad_requests_are_rejected_with_a_clear_message(body, ctype, match):
    with pytest.raises(inference.InputError, match=match.replace("(", r"\(").replace(")", r"\)")):
        inference.input_fn(body, ctype)


def test_serving_encodes_claims_exactly_as_training_encodes_its_frame():
    from remedy_core.features import encode_frame
    from remedy_core.synthetic import frame_to_claims, generate_claims

    frame = generate_claims(300, seed=5)
    training = encode_frame(frame)
    serving = encode_claims(frame_to_claims(frame))
    assert training.dtype == serving.dtype == np.float32
    np.testing.assert_array_equal(training, serving)


def test_training_encoding_looks_each_string_up_once_with_the_same_rules():
    """``encode_frame`` maps each distinct string once (not per row): make and model still match
    the catalogue ignoring case and surrounding spaces, unknown values still give -1 and the
    segment's default prices."""
    from remedy_core.features import INDEX, encode_frame
    from remedy_core.synthetic import generate_claims
    from remedy_core.vehicles import SEGMENT_DEFAULTS

    frame = generate_claims(60, seed=8)
    odd = frame.copy()
    odd["make"] = " " + odd["make"].str.upper() + " "
    odd["model"] = odd["model"].str.lower() + "  "
    np.testing.assert_array_equal(encode_frame(odd), encode_frame(frame))
    odd.loc[:4, "make"] = "No Such Make"
    odd.loc[:4, "segment"] = "no-such-segment"
    X = encode_frame(odd)
    assert (X[:5, INDEX["make_code"]] == -1).all() and (X[:5, INDEX["model_code"]] == -1).all()
    assert (X[:5, INDEX["catalogue_known"]] == 0).all()
    family_price, family_parts = SEGMENT_DEFAULTS["family"]
    assert (X[:5, INDEX["new_price"]] == np.float32(family_price)).all()
    assert (X[:5, INDEX["parts_index"]] == np.float32(family_parts)).all()
    np.testing.assert_array_equal(X[5:], encode_frame(frame)[5:])
