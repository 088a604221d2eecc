"""Compile step: every head in one native module, equal to LightGBM, cached by model id."""

from __future__ import annotations

import ctypes
import json
import shutil

import lightgbm as lgb
import numpy as np
import pytest

from remedy_core.bundle import HEADS
from remedy_core.features import N_FEATURES, encode_frame
from remedy_core.forest import LAYOUT, LIBRARY, ForestError
from remedy_core.synthetic import generate_claims
from remedy_training import compile as compile_step


def _raw(bundle_dir, X: np.ndarray) -> tuple[np.ndarray, dict]:
    layout = json.loads((bundle_dir / "compiled" / LAYOUT).read_text())
    lib = ctypes.CDLL(str(bundle_dir / "compiled" / LIBRARY))
    lib.rf_predict.argtypes = [ctypes.c_void_p, ctypes.c_long, ctypes.c_void_p]
    X = np.ascontiguousarray(X, dtype=np.float32)
    out = np.empty((len(X), layout["n_targets"]))
    lib.rf_predict(X.ctypes.data, len(X), out.ctypes.data)
    return out, layout


@pytest.fixture
def bundle(small_bundle, tmp_path):
    copy = tmp_path / "bundle"
    shutil.copytree(small_bundle, copy, ignore=shutil.ignore_patterns("compiled"))
    return copy


def test_one_module_holds_every_head_and_equals_lightgbm(bundle, tmp_path):
    res = compile_step.compile_model(bundle, cache_dir=tmp_path / "cache")
    assert not res.cached and not res.skipped and res.layout["trees"] > len(HEADS)
    X = encode_frame(generate_claims(300, seed=11))
    raw, layout = _raw(bundle, X)
    assert [s["name"] for s in layout["slots"]] == [h.name for h in HEADS]
    assert layout["n_features"] == N_FEATURES
    for slot in layout["slots"]:
        booster = lgb.Booster(model_file=str(bundle / "lightgbm" / f"{slot['name']}.txt"))
        want = booster.predict(X, raw_score=True).reshape(len(X), -1)
        got = raw[:, slot["start"] : slot["start"] + slot["width"]]
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-9, err_msg=slot["name"])


@pytest.mark.parametrize("kernel", [0, 1, 2, 3])  # walk; bit masks: SSE2, AVX2, by feature
def test_every_kernel_of_the_module_equals_lightgbm(bundle, tmp_path, kernel):
    """Each kernel the module can run: one claim and batches (the dispatcher picks by size and
    CPU; here each is forced). Kernel 2 runs as kernel 1 on a CPU without AVX2."""
    compile_step.compile_model(bundle, cache_dir=tmp_path / "cache")
    layout = json.loads((bundle / "compiled" / LAYOUT).read_text())
    lib = ctypes.CDLL(str(bundle / "compiled" / LIBRARY))
    lib.rf_predict_with.argtypes = [ctypes.c_void_p, ctypes.c_long, ctypes.c_void_p, ctypes.c_int]
    assert lib.rf_kernels() & 0b1011 == 0b1011
    X = np.ascontiguousarray(encode_frame(generate_claims(203, seed=12)), dtype=np.float32)
    for n in (1, 9, 203):
        raw = np.full((n, layout["n_targets"]), np.nan)
        lib.rf_predict_with(X.ctypes.data, n, raw.ctypes.data, kernel)
        for slot in layout["slots"]:
            booster = lgb.Booster(model_file=str(bundle / "lightgbm" / f"{slot['name']}.txt"))
            want = booster.predict(X[:n], raw_score=True).reshape(n, -1)
            got = raw[:, slot["start"] : slot["start"] + slot["width"]]
            np.testing.assert_allclose(got, want, rtol=0, atol=1e-9, err_msg=slot["name"])


def test_the_same_boosters_are_compiled_once(bundle, tmp_path):
    first = compile_step.compile_model(bundle, cache_dir=tmp_path / "cache")
    shutil.rmtree(bundle / "compiled")
    again = compile_step.compile_model(bundle, cache_dir=tmp_path / "cache")
    assert again.cached and again.model_id == first.model_id
    assert (bundle / "compiled" / LIBRARY).is_file()
    # another booster is another model: compiled afresh
    text = bundle / "lightgbm" / "parts_cost.txt"
    text.write_text(text.read_text().replace("shrinkage=1", "shrinkage=1.0", 1))
    changed = compile_step.compile_model(bundle, cache_dir=tmp_path / "cache")
    assert changed.model_id != first.model_id and not changed.cached


def test_without_a_compiler_the_bundle_stays_onnx_only(bundle, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda _name: None)
    res = compile_step.compile_model(bundle, use_cache=False)
    assert res.layout is None and "no C compiler" in res.skipped
    assert not (bundle / "compiled").exists()
    with pytest.raises(ForestError, match="no C compiler"):
        compile_step.compile_model(bundle, use_cache=False, required=True)


def test_cli_prints_what_it_built(bundle, tmp_path, capsys):
    compile_step.main([str(bundle), "--cache-dir", str(tmp_path / "cache")])
    out = capsys.readouterr().out
    assert f"{len(HEADS)} heads" in out and "compiled in" in out
