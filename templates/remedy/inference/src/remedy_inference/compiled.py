"""The serving fast path: every head of the bundle in ONE compiled module, raw scores per column.

Two backends give the same raw scores (one column per head, per class for the multiclass head),
after which the logistic/softmax link and each head's target transform are applied here — with
numpy for batches and with plain floats for one claim (no per-call numpy work on the hot path):

* ``native`` (default when present): ``compiled/remedy_forest.so``, built by the training
  pipeline (``remedy_core.forest``) and shipped in the model package; loaded with ``ctypes``
  (no onnxruntime, no LightGBM, no compiler at serving time).
* ``onnx`` (portable fallback): ``compile_bundle`` merges every head's TreeEnsemble node of
  ``bundle.onnx`` into a single ``TreeEnsembleRegressor`` run by onnxruntime. Used when the
  bundle has no native module, it was built for another platform, or it fails to load.

Equality with the bundle's own session and with LightGBM is proven in tests/test_compiled.py.
"""

from __future__ import annotations

import ctypes
import json
import logging
import math
import platform
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from remedy_core.bundle import HEAD_BY_NAME, INPUT_NAME, Bundle, postprocess, to_outputs
from remedy_core.features import FEATURES_VERSION, INDEX, N_FEATURES
from remedy_core.outputs import SALVAGE_CATEGORIES, ModelOutputs
from remedy_core.vocab import ZONES

if TYPE_CHECKING:  # onnx is needed only by the fallback's one-off compile
    import onnx

log = logging.getLogger("remedy.compiled")

OUTPUT = "raw_scores"
_NODE_ATTRS = (
    "nodes_falsenodeids",
    "nodes_featureids",
    "nodes_missing_value_tracks_true",
    "nodes_modes",
    "nodes_nodeids",
    "nodes_treeids",
    "nodes_truenodeids",
    "nodes_values",
)
_GUIDE = INDEX["guide_value"]


@dataclass(frozen=True)
class HeadSlot:
    name: str
    start: int
    width: int
    link: str  # none | logistic | softmax


def _attrs(node: onnx.NodeProto) -> dict[str, object]:
    from onnx import helper

    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def compile_bundle(model: onnx.ModelProto) -> tuple[onnx.ModelProto, list[HeadSlot]]:
    """Merge every head's TreeEnsemble node into one multi-target TreeEnsembleRegressor."""
    import onnx
    from onnx import helper

    merged: dict[str, list] = {k: [] for k in _NODE_ATTRS}
    targets: dict[str, list] = {"ids": [], "nodeids": [], "treeids": [], "weights": []}
    slots: list[HeadSlot] = []
    tree_offset = column = 0
    for node in model.graph.node:
        if node.op_type not in ("TreeEnsembleRegressor", "TreeEnsembleClassifier"):
            continue
        head = node.name.split("__", 1)[0]
        if head not in HEAD_BY_NAME:
            raise ValueError(f"tree node {node.name!r} belongs to no known head")
        a = _attrs(node)
        if a.get("base_values"):
            raise ValueError(f"{head}: base_values are not supported by the compiler")
        trees = sorted(set(a["nodes_treeids"]))
        if trees != list(range(len(trees))):
            raise ValueError(f"{head}: tree ids are not 0..n-1")
        for key in _NODE_ATTRS:
            values = a[key]
            if key == "nodes_treeids":
                values = (np.asarray(values) + tree_offset).tolist()
            merged[key] += values
        if node.op_type == "TreeEnsembleRegressor":
            prefix, link = "target", "none"
            classes = [0]
        else:
            prefix = "class"
            link = {b"LOGISTIC": "logistic", b"SOFTMAX": "softmax"}[a["post_transform"]]
            classes = sorted(set(a["class_ids"]))
        width = len(classes) if link == "softmax" else 1
        ids = np.searchsorted(classes, np.asarray(a[f"{prefix}_ids"]))
        targets["ids"] += (ids + column).tolist()
        targets["nodeids"] += a[f"{prefix}_nodeids"]
        targets["treeids"] += (np.asarray(a[f"{prefix}_treeids"]) + tree_offset).tolist()
        targets["weights"] += a[f"{prefix}_weights"]
        slots.append(HeadSlot(head, column, width, link))
        column += width
        tree_offset += len(trees)
    missing = sorted(set(HEAD_BY_NAME) - {s.name for s in slots})
    if missing:
        raise ValueError(f"bundle graph has no trees for head(s) {missing}")
    ensemble = helper.make_node(
        "TreeEnsembleRegressor",
        [INPUT_NAME],
        [OUTPUT],
        domain="ai.onnx.ml",
        name="remedy_compiled",
        n_targets=column,
        aggregate_function="SUM",
        post_transform="NONE",
        target_ids=targets["ids"],
        target_nodeids=targets["nodeids"],
        target_treeids=targets["treeids"],
        target_weights=targets["weights"],
        **{k: v for k, v in merged.items()},
    )
    graph = helper.make_graph(
        [ensemble],
        "remedy_compiled",
        [helper.make_tensor_value_info(INPUT_NAME, onnx.TensorProto.FLOAT, [None, N_FEATURES])],
        [helper.make_tensor_value_info(OUTPUT, onnx.TensorProto.FLOAT, [None, column])],
    )
    ml_opset = max((o.version for o in model.opset_import if o.domain == "ai.onnx.ml"), default=1)
    compiled = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", 15), helper.make_opsetid("ai.onnx.ml", ml_opset)],
    )
    compiled.ir_version = model.ir_version
    onnx.checker.check_model(compiled)
    return compiled, slots


def _compiled_cached(
    bundle: Bundle, cache_dir: str | None
) -> tuple[onnx.ModelProto, list[HeadSlot]]:
    """Compile once per bundle id (compiling 10k trees takes seconds; loading takes ~0.1 s)."""
    import tempfile

    import onnx

    root = Path(cache_dir or tempfile.gettempdir()) / f"remedy-compiled-{bundle.bundle_id}"
    model_file, layout_file = root / "compiled.onnx", root / "layout.json"
    if model_file.is_file() and layout_file.is_file():
        slots = [HeadSlot(**s) for s in json.loads(layout_file.read_text())]
        return onnx.load(str(model_file)), slots
    compiled, slots = compile_bundle(onnx.load(str(Path(bundle.path) / "bundle.onnx")))
    try:
        root.mkdir(parents=True, exist_ok=True)
        onnx.save(compiled, str(model_file))
        layout_file.write_text(json.dumps([s.__dict__ for s in slots]))
    except OSError:
        pass  # read-only file system: compile again next time
    return compiled, slots


class NativeForest:
    """``compiled/remedy_forest.so`` of a bundle, checked against its layout and this code."""

    def __init__(self, bundle_dir: str | Path) -> None:
        from remedy_core.forest import ABI_VERSION, COMPILED_DIR, FOREST_FORMAT, LAYOUT, LIBRARY

        root = Path(bundle_dir) / COMPILED_DIR
        layout_file, lib_file = root / LAYOUT, root / LIBRARY
        if not layout_file.is_file() or not lib_file.is_file():
            raise FileNotFoundError(f"{root} has no {LIBRARY} + {LAYOUT}")
        layout = json.loads(layout_file.read_text())
        want = {"format": FOREST_FORMAT, "abi": ABI_VERSION, "features_version": FEATURES_VERSION,
                "n_features": N_FEATURES}  # fmt: skip
        wrong = {k: layout.get(k) for k, v in want.items() if layout.get(k) != v}
        if wrong:
            raise ValueError(f"{layout_file}: {wrong} does not match this code ({want})")
        here = {"system": platform.system(), "machine": platform.machine()}
        if layout.get("platform") != here:
            raise OSError(f"{lib_file} was built for {layout.get('platform')}, this is {here}")
        lib = ctypes.CDLL(str(lib_file))
        lib.rf_model_id.restype = ctypes.c_char_p
        lib.rf_predict.restype = None
        lib.rf_predict.argtypes = [ctypes.c_void_p, ctypes.c_long, ctypes.c_void_p]
        if lib.rf_abi_version() != ABI_VERSION or lib.rf_model_id().decode() != layout["model_id"]:
            raise ValueError(f"{lib_file} does not match {layout_file} (model id or ABI)")
        self.layout = layout
        self.model_id: str = layout["model_id"]
        self.width: int = int(layout["n_targets"])
        self.slots = [HeadSlot(**s) for s in layout["slots"]]
        self._predict = lib.rf_predict
        self._lib = lib  # keep the library loaded as long as this object lives
        self._in_type = ctypes.c_float * N_FEATURES
        self._out_type = ctypes.c_double * self.width
        # what the module runs on this CPU (modules of remedy-forest/2 before the bit masks: walk)
        have = lib.rf_kernels() if hasattr(lib, "rf_kernels") else 1
        self.kernels = {
            "one claim": "bit masks by feature" if have & 8 else "tree walk",
            "batch": "bit masks, AVX2" if have & 4 else "bit masks" if have & 2 else "tree walk",
        }

    def raw(self, X: np.ndarray) -> np.ndarray:
        """(n, N_FEATURES) float32 -> (n, width) raw scores (float64)."""
        X = np.ascontiguousarray(X, dtype=np.float32)
        out = np.empty((len(X), self.width), dtype=np.float64)
        if len(X):
            self._predict(X.ctypes.data, len(X), out.ctypes.data)
        return out

    def raw_one(self, vec: np.ndarray | list[float]) -> list[float]:
        """One row: plain ctypes buffers (thread-safe: new buffers per call, GIL released)."""
        out = self._out_type()
        if isinstance(vec, np.ndarray):
            row = np.ascontiguousarray(vec, dtype=np.float32)
            if row.size != N_FEATURES:
                raise ValueError(f"features must have {N_FEATURES} values, got {row.size}")
            self._predict(row.ctypes.data, 1, out)
        else:
            if len(vec) != N_FEATURES:
                raise ValueError(f"features must have {N_FEATURES} values, got {len(vec)}")
            self._predict(self._in_type(*vec), 1, out)
        return out[:]


_TRANSFORMS = {"identity": 0, "log1p": 1, "log_guide": 2}


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x)) if x >= 0 else math.exp(x) / (1.0 + math.exp(x))


class CompiledBundle:
    """Same answers as ``Bundle`` from one compiled module; ``predict_one`` is the hot path.

    ``backend``: ``auto`` (native module if the bundle ships a loadable one, else ONNX),
    ``native`` (fail if it cannot be loaded) or ``onnx`` (the portable fallback).
    """

    def __init__(
        self,
        bundle: Bundle,
        threads: int = 1,
        cache_dir: str | None = None,
        backend: str = "auto",
    ) -> None:
        if backend not in ("auto", "native", "onnx"):
            raise ValueError(f"backend {backend!r} unknown; use auto, native or onnx")
        self.bundle = bundle
        self.bundle_id = bundle.bundle_id
        self.versions = bundle.versions
        self.native: NativeForest | None = None
        self.fallback_reason = ""
        if backend in ("auto", "native"):
            try:
                self.native = NativeForest(bundle.path)
            except (OSError, ValueError) as exc:
                if backend == "native":
                    raise
                self.fallback_reason = f"{type(exc).__name__}: {exc}"
                log.warning("compiled module not used, ONNX fallback: %s", self.fallback_reason)
        if self.native is not None:
            self.backend = "native"
            self.slots = self.native.slots
            self.session = None
        else:
            import onnxruntime as ort

            self.backend = "onnx"
            compiled, self.slots = _compiled_cached(bundle, cache_dir)
            opts = ort.SessionOptions()
            opts.intra_op_num_threads = threads
            opts.inter_op_num_threads = 1
            opts.log_severity_level = 3
            self.session = ort.InferenceSession(
                compiled.SerializeToString(), sess_options=opts, providers=["CPUExecutionProvider"]
            )
        self._specs = [(s, HEAD_BY_NAME[s.name]) for s in self.slots]
        self._col = {s.name: s.start for s in self.slots}
        # one claim: what each column needs, resolved once (no attribute or dict look-ups per call)
        scale = bundle._scale
        self._plan = [
            (s.name, s.start, s.link == "logistic", _TRANSFORMS[h.transform], h.clip,
             scale.get(s.name))
            for s, h in self._specs if s.link != "softmax"
        ]  # fmt: skip
        soft = [s for s in self.slots if s.link == "softmax"]
        self._softmax = (soft[0].start, soft[0].start + soft[0].width) if soft else (0, 0)

    def raw(self, X: np.ndarray) -> np.ndarray:
        if self.native is not None:
            return self.native.raw(X)
        return self.session.run([OUTPUT], {INPUT_NAME: X})[0]

    def _raw_row(self, vec: np.ndarray | list[float]) -> tuple[list[float], float]:
        if self.native is not None:
            return self.native.raw_one(vec), float(vec[_GUIDE])
        X = np.asarray(vec, dtype=np.float32).reshape(1, N_FEATURES)
        return self.raw(X)[0].tolist(), float(X[0, _GUIDE])

    # --- batch (numpy) ---------------------------------------------------------------------
    def predict_raw(self, X: np.ndarray) -> dict[str, np.ndarray]:
        """Like ``Bundle.predict_raw``: head name -> post-processed values."""
        X = np.ascontiguousarray(X, dtype=np.float32)
        if X.ndim != 2 or X.shape[1] != N_FEATURES:
            raise ValueError(f"features must have shape (n, {N_FEATURES}), got {X.shape}")
        scores = self.raw(X).astype(np.float64, copy=False)
        values = {}
        for slot, head in self._specs:
            block = scores[:, slot.start : slot.start + slot.width]
            if slot.link == "logistic":
                out = 1.0 / (1.0 + np.exp(-block[:, 0]))
            elif slot.link == "softmax":
                e = np.exp(block - block.max(1, keepdims=True))
                out = e / e.sum(1, keepdims=True)
            else:
                out = block[:, 0]
            values[slot.name] = postprocess(head, out, X)
        scale = self.bundle._scale
        return {k: v * scale[k] if k in scale else v for k, v in values.items()}

    def predict(self, X: np.ndarray) -> list[ModelOutputs]:
        return to_outputs(self.predict_raw(X), self.versions)

    # --- one claim (plain floats) ---------------------------------------------------------------
    def predict_one(self, vec: np.ndarray | list[float]) -> ModelOutputs:
        """One feature vector (numpy array or list of floats) -> ``ModelOutputs``."""
        row, guide = self._raw_row(vec)
        v: dict[str, float] = {}
        exp = math.exp
        for name, start, logistic, transform, clip, s in self._plan:
            x = row[start]
            if logistic:
                x = _sigmoid(x)
            if transform == 1:
                x = math.expm1(x)
            elif transform == 2:
                x = exp(x) * guide
            if clip is not None:
                x = min(max(x, clip[0]), clip[1])
            v[name] = x if s is None else x * s
        lo, hi = self._softmax
        block = row[lo:hi]
        top = max(block, default=0.0)
        e = [exp(b - top) for b in block]
        total = sum(e)
        cat = [p / total for p in e]
        r10, r50, r90 = sorted((v["repair_cost_p10"], v["repair_cost_p50"], v["repair_cost_p90"]))
        p10, p50, p90 = sorted((v["pav_p10"], v["pav_p50"], v["pav_p90"]))
        return ModelOutputs(
            repair_cost_p10=r10,
            repair_cost_p50=r50,
            repair_cost_p90=r90,
            parts_cost=v["parts_cost"],
            labour_hours=v["labour_hours"],
            paint_cost=v["paint_cost"],
            supplement_rate=v["supplement_rate"],
            supplement_rate_p90=max(v["supplement_rate_p90"], v["supplement_rate"]),
            repair_days=v["repair_days"],
            hire_days=v["hire_days"],
            pav_p10=p10,
            pav_p50=p50,
            pav_p90=p90,
            salvage_value=v["salvage_value"],
            salvage_category_probs=dict(zip(SALVAGE_CATEGORIES, cat, strict=True)),
            structural_prob=v["structural"],
            airbag_prob=v["airbag"],
            adas_recal_prob=v["adas_recal"],
            drivable_prob=v["drivable"],
            replace_share=v["replace_share"],
            zones_damaged_probs={z: v[f"zone_{z}"] for z in ZONES},
            zone_severity={z: v[f"sev_{z}"] for z in ZONES},
            total_loss_prob=v["total_loss"],
            model_versions=self.versions,
        )
