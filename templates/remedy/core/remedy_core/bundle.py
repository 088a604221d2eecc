"""Versioned model bundle: manifest.json + ONE merged ONNX graph (+ LightGBM texts for audits).

Layout of a bundle directory::

    manifest.json     bundle id, features version, heads (target, objective, transform), metrics
    bundle.onnx       all heads merged into one graph (onnx.compose prefixes per head)
    lightgbm/<head>.txt  the native boosters (equality tests, naive benchmark, audit)

`load_bundle(path)` returns a `Bundle` whose `.predict(X)` / `.predict_one(vec)` run ONE
onnxruntime InferenceSession (created on first use: the compiled fast path, see
`remedy_core.forest`, never needs it) and map the raw head outputs to `ModelOutputs`. The same
post-processing (`postprocess`) is applied to native LightGBM outputs, so ONNX and native
agree to float precision. Training-side export (`export_bundle`) imports onnxmltools lazily.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from remedy_core.features import FEATURE_NAMES, FEATURES_VERSION, INDEX, N_FEATURES
from remedy_core.outputs import SALVAGE_CATEGORIES, ModelOutputs
from remedy_core.vocab import ZONES

BUNDLE_FORMAT = "remedy-bundle/1"
INPUT_NAME = "input"
ONNX_OPSET = 15


@dataclass(frozen=True)
class HeadSpec:
    """One LightGBM booster: part of a numbered model family."""

    name: str
    family: str  # e.g. "m01_zones" (model versions are keyed by family)
    kind: str  # binary | regression | quantile | multiclass
    target: str  # column of the synthetic frame (prefix t_)
    alpha: float | None = None
    transform: str = "identity"  # identity | log1p | log_guide
    clip: tuple[float, float] | None = None
    num_class: int = 1


def _heads() -> tuple[HeadSpec, ...]:
    h: list[HeadSpec] = []
    for z in ZONES:
        h.append(HeadSpec(f"zone_{z}", "m01_zones", "binary", f"t_zone_{z}"))
    for z in ZONES:
        h.append(HeadSpec(f"sev_{z}", "m02_severity", "regression", f"t_sev_{z}", clip=(0, 1)))
    h += [
        HeadSpec("replace_share", "m03_replace", "regression", "t_replace_share", clip=(0, 1)),
        HeadSpec("parts_cost", "m04_parts", "regression", "t_parts_cost", transform="log1p"),
        HeadSpec("labour_hours", "m05_labour", "regression", "t_labour_hours", transform="log1p"),
        HeadSpec("paint_cost", "m06_paint", "regression", "t_paint_cost", transform="log1p"),
        HeadSpec("structural", "m07_structural", "binary", "t_structural"),
        HeadSpec("airbag", "m08_airbag", "binary", "t_airbag"),
        HeadSpec("adas_recal", "m09_adas", "binary", "t_adas_recal"),
        HeadSpec("drivable", "m10_drivable", "binary", "t_drivable"),
        HeadSpec("supplement_rate", "m11_supplement", "regression", "t_supplement_rate",
                 clip=(0, 10)),
        HeadSpec("supplement_rate_p90", "m11_supplement", "quantile", "t_supplement_rate",
                 alpha=0.9, clip=(0, 10)),
        HeadSpec("repair_days", "m12_duration", "regression", "t_repair_days", transform="log1p"),
        HeadSpec("hire_days", "m12_duration", "regression", "t_hire_days", transform="log1p"),
        HeadSpec("pav_p10", "m13_pav", "quantile", "t_pav", alpha=0.1, transform="log_guide"),
        HeadSpec("pav_p50", "m13_pav", "quantile", "t_pav", alpha=0.5, transform="log_guide"),
        HeadSpec("pav_p90", "m13_pav", "quantile", "t_pav", alpha=0.9, transform="log_guide"),
        HeadSpec("salvage_value", "m14_salvage", "regression", "t_salvage",
                 transform="log_guide"),
        HeadSpec("salvage_category", "m14_salvage", "multiclass", "t_salvage_category",
                 num_class=len(SALVAGE_CATEGORIES)),
        HeadSpec("repair_cost_p10", "estimate", "quantile", "t_estimate", alpha=0.1,
                 transform="log1p"),
        HeadSpec("repair_cost_p50", "estimate", "quantile", "t_estimate", alpha=0.5,
                 transform="log1p"),
        HeadSpec("repair_cost_p90", "estimate", "quantile", "t_estimate", alpha=0.9,
                 transform="log1p"),
        HeadSpec("total_loss", "challenger", "binary", "t_total_loss"),
    ]  # fmt: skip
    return tuple(h)


HEADS: tuple[HeadSpec, ...] = _heads()
HEAD_BY_NAME = {h.name: h for h in HEADS}
FAMILIES: tuple[str, ...] = tuple(dict.fromkeys(h.family for h in HEADS))


def encode_target(head: HeadSpec, values: np.ndarray, X: np.ndarray) -> np.ndarray:
    """Training target on the head's scale (inverse of `postprocess`)."""
    if head.kind == "multiclass":
        lookup = {c: i for i, c in enumerate(SALVAGE_CATEGORIES)}
        return np.array([lookup[str(v)] for v in values], dtype=float)
    y = np.asarray(values, dtype=float)
    if head.transform == "log1p":
        return np.log1p(np.maximum(y, 0.0))
    if head.transform == "log_guide":
        return np.log(np.maximum(y, 1.0)) - np.log(X[:, INDEX["guide_value"]].astype(float))
    return y


def postprocess(head: HeadSpec, raw: np.ndarray, X: np.ndarray) -> np.ndarray:
    """Raw head output -> value in GBP/days/probability (shared by ONNX and native paths)."""
    raw = np.asarray(raw, dtype=float)
    if head.kind == "multiclass":
        return raw.reshape(len(X), head.num_class)
    out = raw.reshape(-1)
    if head.transform == "log1p":
        out = np.expm1(out)
    elif head.transform == "log_guide":
        out = np.exp(out) * X[:, INDEX["guide_value"]].astype(float)
    if head.clip is not None:
        out = np.clip(out, *head.clip)
    return out


def _ordered(a, b, c):
    s = np.sort(np.stack([a, b, c], 1), 1)
    return s[:, 0], s[:, 1], s[:, 2]


def to_outputs(values: dict[str, np.ndarray], versions: dict[str, str]) -> list[ModelOutputs]:
    """Per-head arrays (post-processed) -> one `ModelOutputs` per row."""
    n = len(values["parts_cost"])
    r10, r50, r90 = _ordered(values["repair_cost_p10"], values["repair_cost_p50"],
                             values["repair_cost_p90"])  # fmt: skip
    p10, p50, p90 = _ordered(values["pav_p10"], values["pav_p50"], values["pav_p90"])
    sup = values["supplement_rate"]
    sup90 = np.maximum(values["supplement_rate_p90"], sup)
    cat = values["salvage_category"]
    cat = cat / cat.sum(1, keepdims=True)
    cols = {k: v.tolist() for k, v in values.items() if k != "salvage_category"}
    r10, r50, r90, p10, p50, p90 = (x.tolist() for x in (r10, r50, r90, p10, p50, p90))
    sup90 = sup90.tolist()
    cat = cat.tolist()
    out = []
    for i in range(n):
        out.append(
            ModelOutputs(
                repair_cost_p10=r10[i], repair_cost_p50=r50[i], repair_cost_p90=r90[i],
                parts_cost=cols["parts_cost"][i], labour_hours=cols["labour_hours"][i],
                paint_cost=cols["paint_cost"][i],
                supplement_rate=cols["supplement_rate"][i], supplement_rate_p90=sup90[i],
                repair_days=cols["repair_days"][i], hire_days=cols["hire_days"][i],
                pav_p10=p10[i], pav_p50=p50[i], pav_p90=p90[i],
                salvage_value=cols["salvage_value"][i],
                salvage_category_probs=dict(zip(SALVAGE_CATEGORIES, cat[i], strict=True)),
                structural_prob=cols["structural"][i], airbag_prob=cols["airbag"][i],
                adas_recal_prob=cols["adas_recal"][i], drivable_prob=cols["drivable"][i],
                replace_share=cols["replace_share"][i],
                zones_damaged_probs={z: cols[f"zone_{z}"][i] for z in ZONES},
                zone_severity={z: cols[f"sev_{z}"][i] for z in ZONES},
                total_loss_prob=cols["total_loss"][i],
                model_versions=versions,
            )
        )  # fmt: skip
    return out


# ----------------------------------------------------------------------------- export (training)
def _booster_version(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def float32_exact(model_text: str) -> str:
    """Round every split threshold DOWN to a float32 value (LightGBM text model format).

    LightGBM keeps double thresholds; ONNX TreeEnsemble keeps float32 ones, and rounding a
    double that lies between two adjacent float32 values to the nearest one sends a float32
    input equal to the upper value down the wrong branch. For float32 inputs x,
    `x <= t` holds exactly when `x <= floor32(t)`, so the rewritten booster predicts the same
    as the original on float32 features and converts to ONNX without any disagreement.
    """
    lines = model_text.split("\n")
    for i, line in enumerate(lines):
        if line.startswith("threshold="):
            t = np.array(line[len("threshold=") :].split(), dtype=np.float64)
            f = t.astype(np.float32)
            f = np.where(f.astype(np.float64) > t, np.nextafter(f, np.float32(-np.inf)), f)
            lines[i] = "threshold=" + " ".join(repr(float(x)) for x in f)
    # tree_sizes holds byte offsets that no longer match: LightGBM parses sequentially without it
    return "\n".join(line for line in lines if not line.startswith("tree_sizes="))


def _convert(booster, name: str):
    import onnxmltools
    from onnxmltools.convert.common.data_types import FloatTensorType

    return onnxmltools.convert_lightgbm(
        booster,
        name=name,
        initial_types=[(INPUT_NAME, FloatTensorType([None, N_FEATURES]))],
        target_opset=ONNX_OPSET,
        zipmap=False,
    )


def merge_heads(models: dict[str, object]):
    """Merge per-head ONNX models into one graph with a shared input (onnx.compose prefixes)."""
    import onnx
    from onnx import compose, helper

    nodes, inits, outputs, opsets = [], [], [], {}
    inp = helper.make_tensor_value_info(INPUT_NAME, onnx.TensorProto.FLOAT, [None, N_FEATURES])
    for name, model in models.items():
        prefix = f"{name}__"
        m = compose.add_prefix(model, prefix)
        g = m.graph
        nodes.append(helper.make_node("Identity", [INPUT_NAME], [prefix + INPUT_NAME],
                                      name=f"{prefix}feed"))  # fmt: skip
        nodes.extend(g.node)
        inits.extend(g.initializer)
        head = HEAD_BY_NAME[name]
        # binary/multiclass graphs output (label, probabilities): keep the probabilities only
        keep = g.output[-1] if head.kind in ("binary", "multiclass") else g.output[0]
        width = {"binary": 2, "multiclass": head.num_class}.get(head.kind, 1)
        out = helper.make_tensor_value_info(prefix + "out", onnx.TensorProto.FLOAT, ["n", width])
        nodes.append(helper.make_node("Identity", [keep.name], [out.name],
                                      name=f"{prefix}result"))  # fmt: skip
        outputs.append(out)
        for op in m.opset_import:
            opsets[op.domain] = max(opsets.get(op.domain, 0), op.version)
    graph = helper.make_graph(nodes, "remedy_bundle", [inp], outputs, initializer=inits)
    merged = helper.make_model(
        graph, opset_imports=[helper.make_opsetid(d, v) for d, v in sorted(opsets.items())]
    )
    merged.ir_version = max(m.ir_version for m in models.values())
    onnx.checker.check_model(merged)
    return merged


def export_bundle(
    path: str | Path, boosters: dict[str, object], *, metrics: dict | None = None,
    hyperparameters: dict | None = None, data: dict | None = None,
    calibration: dict[str, float] | None = None,
) -> Path:  # fmt: skip
    """Write a bundle directory from trained LightGBM boosters (one per head in HEADS).

    `calibration` holds multiplicative factors per quantile head (fitted on validation data
    so that e.g. 10% of actual repair costs fall below p10); both prediction paths apply them.
    """
    missing = [h.name for h in HEADS if h.name not in boosters]
    if missing:
        raise ValueError(f"boosters missing for head(s) {missing}")
    path = Path(path)
    (path / "lightgbm").mkdir(parents=True, exist_ok=True)
    import lightgbm as lgb

    texts = {h.name: float32_exact(boosters[h.name].model_to_string()) for h in HEADS}
    for name, text in texts.items():
        (path / "lightgbm" / f"{name}.txt").write_text(text)
    merged = merge_heads({n: _convert(lgb.Booster(model_str=t), n) for n, t in texts.items()})
    blob = merged.SerializeToString()
    (path / "bundle.onnx").write_bytes(blob)
    family_versions: dict[str, str] = {}
    for fam in FAMILIES:
        joined = "".join(texts[h.name] for h in HEADS if h.family == fam)
        family_versions[fam] = _booster_version(joined)
    bundle_id = "remedy-" + hashlib.sha256(blob).hexdigest()[:12]
    manifest = {
        "format": BUNDLE_FORMAT,
        "bundle_id": bundle_id,
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "features_version": FEATURES_VERSION,
        "feature_names": list(FEATURE_NAMES),
        "heads": [asdict(h) | {"version": _booster_version(texts[h.name])} for h in HEADS],
        "model_versions": {"bundle": bundle_id, "features": FEATURES_VERSION, **family_versions},
        "metrics": metrics or {},
        "hyperparameters": hyperparameters or {},
        "data": data or {},
        "calibration": {"scale": {k: float(v) for k, v in (calibration or {}).items()}},
    }
    (path / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str))
    return path


# ----------------------------------------------------------------------------- load (serving)
class BundleError(ValueError):
    """A bundle directory is missing, malformed or incompatible with this code."""


class Bundle:
    """All heads in one onnxruntime session, plus the native boosters on demand."""

    def __init__(self, path: Path, manifest: dict, session=None) -> None:
        self.path = path
        self.manifest = manifest
        self._session = session
        self.bundle_id: str = manifest["bundle_id"]
        self.versions: dict[str, str] = dict(manifest["model_versions"])
        self._names = [f"{h.name}__out" for h in HEADS]
        self._native: dict[str, object] | None = None
        self._scale: dict[str, float] = dict(manifest.get("calibration", {}).get("scale", {}))

    @property
    def session(self):
        """The merged graph's onnxruntime session (built on first use: ~1 s for 10k trees)."""
        if self._session is None:
            self._session = onnx_session(self.path / "bundle.onnx")
        return self._session

    def _finish(self, head: HeadSpec, values: np.ndarray, X: np.ndarray) -> np.ndarray:
        out = postprocess(head, values, X)
        scale = self._scale.get(head.name)
        return out if scale is None else out * scale

    def predict_raw(self, X: np.ndarray) -> dict[str, np.ndarray]:
        X = np.ascontiguousarray(X, dtype=np.float32)
        if X.ndim != 2 or X.shape[1] != N_FEATURES:
            raise ValueError(f"features must have shape (n, {N_FEATURES}), got {X.shape}")
        outs = self.session.run(self._names, {INPUT_NAME: X})
        values = {}
        for h, o in zip(HEADS, outs, strict=True):
            o = o[:, 1] if h.kind == "binary" else o
            values[h.name] = self._finish(h, o, X)
        return values

    def predict(self, X: np.ndarray) -> list[ModelOutputs]:
        return to_outputs(self.predict_raw(X), self.versions)

    def predict_one(self, vec: np.ndarray) -> ModelOutputs:
        return self.predict(np.asarray(vec, dtype=np.float32).reshape(1, -1))[0]

    def native_predict(self, X: np.ndarray) -> dict[str, np.ndarray]:
        """Same values through LightGBM's own predict, one booster at a time."""
        import lightgbm as lgb

        if self._native is None:
            self._native = {
                h.name: lgb.Booster(model_file=str(self.path / "lightgbm" / f"{h.name}.txt"))
                for h in HEADS
            }
        X = np.asarray(X, dtype=np.float32)
        return {h.name: self._finish(h, self._native[h.name].predict(X), X) for h in HEADS}


def onnx_session(model_file: Path):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    return ort.InferenceSession(str(model_file), sess_options=opts,
                                providers=["CPUExecutionProvider"])  # fmt: skip


def load_bundle(path: str | Path) -> Bundle:
    """Read and check a bundle directory (the ONNX session is created when first needed)."""
    path = Path(path)
    manifest_file = path / "manifest.json"
    if not manifest_file.is_file() or not (path / "bundle.onnx").is_file():
        raise BundleError(f"{path} is not a Remedy bundle (needs manifest.json and bundle.onnx)")
    manifest = json.loads(manifest_file.read_text())
    if manifest.get("format") != BUNDLE_FORMAT:
        raise BundleError(f"bundle format {manifest.get('format')!r}, expected {BUNDLE_FORMAT}")
    if manifest.get("features_version") != FEATURES_VERSION:
        raise BundleError(
            f"bundle was trained on features {manifest.get('features_version')}, this code "
            f"encodes {FEATURES_VERSION}: retrain or deploy the matching code version"
        )
    return Bundle(path, manifest)
