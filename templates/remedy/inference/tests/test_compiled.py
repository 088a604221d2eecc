"""The compiled fast path equals the bundle's own ONNX session and LightGBM's predict."""

from __future__ import annotations

import dataclasses

import numpy as np
import onnx
import pytest

from factories import claim
from remedy_core.bundle import HEADS
from remedy_core.features import encode_claims
from remedy_core.synthetic import frame_to_claims, generate_claims
from remedy_inference.compiled import CompiledBundle, compile_bundle


@pytest.fixture(scope="module")
def compiled(bundle, tmp_path_factory):
    return CompiledBundle(bundle, cache_dir=str(tmp_path_factory.mktemp("compiled")))


@pytest.fixture(scope="module")
def features():
    return encode_claims(frame_to_claims(generate_claims(200, seed=3)))


def test_compiled_equals_the_bundle_session_and_lightgbm(bundle, compiled, features):
    ours = compiled.predict_raw(features)
    session = bundle.predict_raw(features)
    native = bundle.native_predict(features)
    assert set(ours) == {h.name for h in HEADS}
    for head in HEADS:
        np.testing.assert_allclose(ours[head.name], session[head.name], rtol=1e-4, atol=1e-4,
                                   err_msg=head.name)  # fmt: skip
        np.testing.assert_allclose(ours[head.name], native[head.name], rtol=1e-4, atol=1e-3,
                                   err_msg=head.name)  # fmt: skip


def test_single_claim_float_path_equals_batch_path(bundle, compiled, features):
    for i in range(0, 200, 25):
        fast = dataclasses.asdict(compiled.predict_one(features[i]))
        ref = dataclasses.asdict(bundle.predict_one(features[i]))
        assert fast.keys() == ref.keys()
        for key, value in ref.items():
            if key == "model_versions":
                assert fast[key] == value
            elif isinstance(value, dict):
                assert value.keys() == fast[key].keys(), key
                for k, v in value.items():
                    assert fast[key][k] == pytest.approx(v, rel=1e-4, abs=1e-6), (key, k)
            else:
                assert fast[key] == pytest.approx(value, rel=1e-4, abs=1e-6), key


def test_graph_is_one_node(compiled, bundle):
    model, slots = compile_bundle(onnx.load(str(bundle.path / "bundle.onnx")))
    assert [n.op_type for n in model.graph.node] == ["TreeEnsembleRegressor"]
    assert {s.name for s in slots} == {h.name for h in HEADS}
    assert sum(s.width for s in slots) == len(HEADS) + 3  # salvage category: 4 columns


def test_compiled_model_is_cached_per_bundle(bundle, tmp_path):
    CompiledBundle(bundle, cache_dir=str(tmp_path))
    cached = tmp_path / f"remedy-compiled-{bundle.bundle_id}" / "compiled.onnx"
    assert cached.is_file()
    again = CompiledBundle(bundle, cache_dir=str(tmp_path))
    vec = encode_claims([claim()])[0]
    assert again.predict_one(vec) == CompiledBundle(bundle, cache_dir=str(tmp_path)).predict_one(
        vec
    )


def test_graph_without_trees_is_refused():
    empty = onnx.helper.make_model(onnx.helper.make_graph([], "g", [], []))
    with pytest.raises(ValueError, match="no trees"):
        compile_bundle(empty)
