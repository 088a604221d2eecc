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
    """The ONNX single-node fallback (the native module is tested below)."""
    return CompiledBundle(
        bundle, cache_dir=str(tmp_path_factory.mktemp("compiled")), backend="onnx"
    )


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
    CompiledBundle(bundle, cache_dir=str(tmp_path), backend="onnx")
    cached = tmp_path / f"remedy-compiled-{bundle.bundle_id}" / "compiled.onnx"
    assert cached.is_file()
    again = CompiledBundle(bundle, cache_dir=str(tmp_path), backend="onnx")
    vec = encode_claims([claim()])[0]
    fresh = CompiledBundle(bundle, cache_dir=str(tmp_path), backend="onnx")
    assert again.predict_one(vec) == fresh.predict_one(vec)


def test_graph_without_trees_is_refused():
    empty = onnx.helper.make_model(onnx.helper.make_graph([], "g", [], []))
    with pytest.raises(ValueError, match="no trees"):
        compile_bundle(empty)


# --- the native module (remedy_core.forest): the default fast path -------------------------------
def test_native_module_is_the_default_and_equals_lightgbm_to_1e6(bundle, features):
    fast = CompiledBundle(bundle)
    assert fast.backend == "native", fast.fallback_reason
    ours, native = fast.predict_raw(features), bundle.native_predict(features)
    for head in HEADS:
        np.testing.assert_allclose(ours[head.name], native[head.name], rtol=0, atol=1e-6,
                                   err_msg=head.name)  # fmt: skip


def test_native_single_claim_equals_native_batch(bundle, features):
    fast = CompiledBundle(bundle)
    batch = fast.predict(features[:40])
    for i in range(40):
        one = dataclasses.asdict(fast.predict_one(features[i]))
        ref = dataclasses.asdict(batch[i])
        assert one.pop("model_versions") == ref.pop("model_versions")
        for key, value in ref.items():
            if isinstance(value, dict):
                for k, v in value.items():
                    assert one[key][k] == pytest.approx(v, rel=1e-12, abs=1e-9), (key, k)
            else:
                assert one[key] == pytest.approx(value, rel=1e-12, abs=1e-9), key
    # a plain list of floats (the encode Lambda's JSON) gives the same answer as the array
    assert fast.predict_one(features[0].tolist()) == fast.predict_one(features[0])


def test_kernel_arithmetic_equals_the_numpy_reference(bundle, features):
    from remedy_core.forest import booster_texts, pack, parse_lightgbm, predict_packed

    forest = pack([(h, parse_lightgbm(h.name, t)) for h, t in booster_texts(bundle.path)])
    raw = CompiledBundle(bundle).raw(features[:25])
    np.testing.assert_allclose(raw, predict_packed(forest, features[:25]), rtol=0, atol=1e-12)


def test_nan_is_zero_as_in_lightgbm_missing_type_none(bundle, features):
    import lightgbm as lgb

    X = features[:20].copy()
    X[:, 19] = np.nan  # delta_v_kph
    raw = CompiledBundle(bundle).raw(X)
    booster = lgb.Booster(model_file=str(bundle.path / "lightgbm" / "parts_cost.txt"))
    col = next(s.start for s in CompiledBundle(bundle).slots if s.name == "parts_cost")
    np.testing.assert_allclose(raw[:, col], booster.predict(X, raw_score=True), atol=1e-9)


def _copy(bundle, tmp_path):
    import shutil

    from remedy_core.bundle import load_bundle

    shutil.copytree(bundle.path, tmp_path / "b")
    return load_bundle(tmp_path / "b")


def test_without_the_module_serving_falls_back_to_onnx(bundle, features, tmp_path):
    import shutil

    copy = _copy(bundle, tmp_path)
    shutil.rmtree(copy.path / "compiled")
    auto = CompiledBundle(copy, cache_dir=str(tmp_path / "cache"))
    assert auto.backend == "onnx" and "remedy_forest.so" in auto.fallback_reason
    ref = CompiledBundle(bundle).predict_raw(features)
    for head in HEADS:
        np.testing.assert_allclose(auto.predict_raw(features)[head.name], ref[head.name],
                                   rtol=1e-4, atol=1e-3, err_msg=head.name)  # fmt: skip
    with pytest.raises(FileNotFoundError, match=r"remedy_forest\.so"):
        CompiledBundle(copy, backend="native")


@pytest.mark.parametrize(
    ("field", "value", "match"),
    [
        ("model_id", "0" * 24, "model id"),
        ("features_version", "0.0.1", "features_version"),
        ("platform", {"system": "Linux", "machine": "aarch64-other"}, "built for"),
    ],
)
def test_a_module_that_does_not_match_is_refused(bundle, tmp_path, field, value, match):
    import json

    copy = _copy(bundle, tmp_path)
    layout_file = copy.path / "compiled" / "forest.json"
    layout = json.loads(layout_file.read_text())
    layout[field] = value
    layout_file.write_text(json.dumps(layout))
    with pytest.raises((OSError, ValueError), match=match):
        CompiledBundle(copy, backend="native")
    assert CompiledBundle(copy, cache_dir=str(tmp_path / "cache")).backend == "onnx"


def test_unsupported_boosters_are_refused_with_the_reason(bundle):
    from remedy_core.forest import ForestError, parse_lightgbm

    text = (bundle.path / "lightgbm" / "parts_cost.txt").read_text()
    nan_missing = text.replace("decision_type=2 ", "decision_type=10 ", 1)
    assert nan_missing != text
    with pytest.raises(ForestError, match="missing type"):
        parse_lightgbm("parts_cost", nan_missing)
    with pytest.raises(ForestError, match="categorical"):
        parse_lightgbm("parts_cost", text.replace("num_cat=0", "num_cat=1", 1))


def test_a_feature_with_many_thresholds_is_split_into_slots(tmp_path):
    """600 stumps on one feature (more thresholds than a byte ranks): the C kernel still
    equals a plain evaluation of the trees."""
    import ctypes

    from remedy_core.forest import LIBRARY, build_library, compiler, pack, predict_packed

    rng = np.random.default_rng(5)
    thresholds = np.sort(rng.uniform(0, 100, 600)).astype(np.float32).astype(float)
    left, right = rng.normal(size=600), rng.normal(size=600)
    stump = [{"split_feature": np.array([10]), "threshold": np.array([t]),
              "left_child": np.array([-1]), "right_child": np.array([-2]),
              "leaf_value": np.array([a, b])}
             for t, a, b in zip(thresholds, left, right, strict=True)]  # fmt: skip
    head = next(h for h in HEADS if h.kind == "regression")
    model = {"objective": "regression", "num_tree_per_iteration": 1, "max_feature_idx": 41,
             "trees": stump}  # fmt: skip
    forest = pack([(head, model)])
    assert len(forest.slot_feature) > 42  # feature 10 takes three slots
    lib = ctypes.CDLL(str(build_library(forest, "t", tmp_path / LIBRARY, compiler()[0])))
    lib.rf_predict.argtypes = [ctypes.c_void_p, ctypes.c_long, ctypes.c_void_p]
    X = rng.uniform(-5, 105, (300, 42)).astype(np.float32)
    X[:5, 10] = thresholds[[0, 255, 256, 510, 599]]  # exactly on a threshold: goes left
    out = np.empty((300, 1))
    lib.rf_predict(X.ctypes.data, 300, out.ctypes.data)
    want = np.where(X[:, [10]] <= thresholds[None, :], left, right).sum(1)
    np.testing.assert_allclose(out[:, 0], want, rtol=0, atol=1e-9)
    np.testing.assert_allclose(predict_packed(forest, X[:40])[:, 0], want[:40], atol=1e-9)


def _random_tree(rng, n_leaves: int, n_features: int) -> dict:
    """A LightGBM-shaped tree grown by splitting random leaves (unbalanced, like leaf-wise)."""
    feat, thr, left, right = [], [], [], []
    leaves = [(-1, 0)]  # (parent split, side) of each leaf, by leaf id
    while len(leaves) < n_leaves:
        leaf = int(rng.integers(len(leaves)))
        parent, side = leaves[leaf]
        node = len(feat)
        if parent >= 0:
            (left if side == 0 else right)[parent] = node
        feat.append(int(rng.integers(n_features)))
        thr.append(float(np.float32(rng.uniform(0, 100))))
        left.append(~leaf)
        right.append(~len(leaves))
        leaves[leaf] = (node, 0)
        leaves.append((node, 1))
    return {"split_feature": np.array(feat), "threshold": np.array(thr),
            "left_child": np.array(left), "right_child": np.array(right),
            "leaf_value": rng.normal(size=n_leaves)}  # fmt: skip


def _evaluate(tree: dict, X: np.ndarray) -> np.ndarray:
    out = np.empty(len(X))
    for i, x in enumerate(X):
        node = 0
        while node >= 0:
            f, t = tree["split_feature"][node], tree["threshold"][node]
            node = tree["left_child"][node] if x[f] <= t else tree["right_child"][node]
        out[i] = tree["leaf_value"][~node]
    return out


@pytest.mark.parametrize(
    ("leaves", "kernels"),
    [(31, 0b1011), (50, 0b1011), (64, 0b1011), (100, 0b0001)],  # bit masks up to 64 leaves
)
def test_every_kernel_equals_a_plain_walk_of_the_trees(tmp_path, leaves, kernels):
    """Trees of 31 (32-bit masks), 50 and 64 (64-bit masks) and 100 leaves (the walk only):
    each kernel the library runs here - the walk, the bit masks in 16-byte vectors, with AVX2 -
    equals evaluating the trees node by node, for one row and for batches of any length."""
    import ctypes

    from remedy_core.forest import LIBRARY, build_library, compiler, pack

    rng = np.random.default_rng(leaves)
    trees = [_random_tree(rng, leaves, 42) for _ in range(20)]
    head = next(h for h in HEADS if h.kind == "regression")
    model = {"objective": "regression", "num_tree_per_iteration": 1, "max_feature_idx": 41,
             "trees": trees}  # fmt: skip
    lib = ctypes.CDLL(str(build_library(pack([(head, model)]), "t", tmp_path / LIBRARY,
                                        compiler()[0])))  # fmt: skip
    lib.rf_predict_with.argtypes = [ctypes.c_void_p, ctypes.c_long, ctypes.c_void_p, ctypes.c_int]
    lib.rf_predict.argtypes = [ctypes.c_void_p, ctypes.c_long, ctypes.c_void_p]
    have = lib.rf_kernels()
    assert have & 0b1011 == kernels
    X = rng.uniform(-5, 105, (301, 42)).astype(np.float32)
    X[:3] = np.float32(trees[0]["threshold"][0])  # exactly on a threshold: goes left
    want = sum(_evaluate(t, X) for t in trees)
    for kernel in range(4):
        for n in (1, 7, 8, 37, 301):  # one claim, a partial vector, several blocks
            out = np.full((n, 1), np.nan)
            lib.rf_predict_with(X.ctypes.data, n, out.ctypes.data, kernel)
            np.testing.assert_allclose(out[:, 0], want[:n], rtol=0, atol=1e-9,
                                       err_msg=f"kernel {kernel}, {n} rows")  # fmt: skip
    out = np.empty((301, 1))
    lib.rf_predict(X.ctypes.data, 301, out.ctypes.data)
    np.testing.assert_allclose(out[:, 0], want, rtol=0, atol=1e-9)


def test_thresholds_round_down_to_float32_in_one_pass():
    """The packer rounds a tree's thresholds with ``floor32_array``: the same values as the
    scalar ``floor32`` (the largest float32 at or below each double)."""
    from remedy_core.forest import floor32, floor32_array

    rng = np.random.default_rng(2)
    exact = rng.normal(size=500).astype(np.float32).astype(float)
    t = np.concatenate([rng.normal(size=2000) * 1e4, exact, [0.0, -0.0, 1e-45, -1e-45, 3e38]])
    got = floor32_array(t)
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, np.array([floor32(x) for x in t], dtype=np.float32))
    assert (got.astype(float) <= t).all()


def test_the_native_module_says_which_kernels_it_runs_here(bundle):
    kernels = CompiledBundle(bundle, backend="native").native.kernels
    assert kernels["one claim"] == "bit masks by feature"
    assert kernels["batch"] in ("bit masks", "bit masks, AVX2")
