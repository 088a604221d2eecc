"""The fast path's compiled artifact: every head of a bundle in ONE native tree-ensemble module.

``compile_forest(bundle_dir)`` reads the bundle's LightGBM boosters (``lightgbm/<head>.txt``),
packs all their trees (33 heads, 36 output columns) into flat arrays, writes them with a small
C kernel into one C file and compiles it with the system C compiler into
``compiled/remedy_forest.so`` (+ ``compiled/forest.json``: head -> output columns, link, model
id, compiler, platform, compile time). Serving loads that one library with ``ctypes``: no
onnxruntime, no LightGBM, no compiler (``remedy_inference.compiled``).

Why not per-head code generation (tl2cgen, lleaves): 10,800 trees as if/else code make a ~14 MB
library whose instruction fetches dominate one claim (about 0.6-0.7 ms here, 1.5k rows/s) and
take minutes to compile (tl2cgen -O1: 146 s; lleaves one model at a time: 695 s). Trees as data
are ~5 MB, compile in seconds, and are walked without branches: each node is
``{threshold rank, feature, offset of the right child}`` in pre-order (the left child is next);
each input is ranked once per row among its feature's distinct split thresholds (x > t_k exactly
when more than k of them lie below x), so a step is ``n += 1 + (rank > k ? right - 1 : 0)`` in
integer arithmetic; 8 trees of similar depth are walked in lock-step (independent chains keep
the core busy), and a leaf points to itself so extra steps are harmless. Batches walk each group
of trees over a block of rows while its nodes are in L1.

Exactness: thresholds are rounded down to float32 (for a float32 input ``x <= t`` holds exactly
when ``x <= floor32(t)``) and ranked with float comparisons; leaf values stay float64 and are
summed per output column, so raw scores equal LightGBM's to ~1e-13 (summation order differs).
NaN inputs follow LightGBM's ``missing_type=None`` (NaN -> 0.0); boosters with other missing
types or categorical splits are refused with the reason.
Pure Python + numpy + the system C compiler: the LightGBM text models are read here (numerical
splits only), so compiling needs neither LightGBM nor a network; tests prove the result equals
LightGBM's own predictions.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import subprocess
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from remedy_core.bundle import HEADS, HeadSpec
from remedy_core.features import FEATURES_VERSION, N_FEATURES

FOREST_FORMAT = "remedy-forest/1"
ABI_VERSION = 1
COMPILED_DIR = "compiled"
LIBRARY = "remedy_forest.so"
LAYOUT = "forest.json"
GROUP = 8  # trees walked in lock-step; must match the kernel's G
CFLAGS = ("-O2", "-fPIC", "-shared", "-std=c99")

KERNEL = r"""
#include <stdint.h>
#include <string.h>

#define G 8
#define BLOCK 64
#define XW 64

/* a node: threshold rank, right-child offset - 1 (-1: a leaf, which points at itself), feature */
typedef union rf_node {
  uint64_t bits;
  struct { int16_t bin; int16_t right; uint8_t feat; uint8_t pad[3]; } f;
} rf_node;

extern const rf_node RF_NODES[];
extern const union rf_value { uint64_t bits; double value; } RF_VALUES[];
extern const union rf_thr { uint32_t bits; float value; } RF_THRESHOLDS[];
extern const int32_t RF_THRESHOLD_START[];
extern const int32_t RF_ROOTS[];
extern const uint16_t RF_COLUMNS[];
extern const uint8_t RF_STEPS[];
extern const int32_t RF_NGROUPS, RF_NF, RF_NT;
extern const char RF_MODEL_ID[];

int rf_abi_version(void) { return 1; }
int rf_num_features(void) { return RF_NF; }
int rf_num_targets(void) { return RF_NT; }
const char* rf_model_id(void) { return RF_MODEL_ID; }

/* how many of feature f's split thresholds lie below v (x > t_k exactly when rank > k) */
static inline int32_t rf_rank(int f, float v) {
  int lo = RF_THRESHOLD_START[f], hi = RF_THRESHOLD_START[f + 1];
  const int base = lo;
  if (v != v) v = 0.0f; /* LightGBM missing_type=None: NaN is 0 */
  while (lo < hi) {
    const int mid = (lo + hi) >> 1;
    if (RF_THRESHOLDS[mid].value < v) lo = mid + 1; else hi = mid;
  }
  return lo - base;
}

/* go right when rank > bin (mask -1), else left (the next node); no branch */
static inline uint32_t rf_step(const int32_t* x, uint32_t n) {
  const rf_node* d = RF_NODES + n;
  const int32_t mask = ((int32_t)d->f.bin - x[d->f.feat]) >> 31;
  return n + 1u + (uint32_t)(mask & (int32_t)d->f.right);
}

/* raw scores of every output column for n_rows float32 rows (row-major) into out (n_rows x NT) */
void rf_predict(const float* X, long n_rows, double* out) {
  const int nf = RF_NF, nt = RF_NT, ng = RF_NGROUPS;
  int32_t xb[BLOCK * XW];
  for (long r0 = 0; r0 < n_rows; r0 += BLOCK) {
    long nb = n_rows - r0 < BLOCK ? n_rows - r0 : BLOCK;
    for (long r = 0; r < nb; ++r) {
      for (int f = 0; f < nf; ++f) xb[r * XW + f] = rf_rank(f, X[(r0 + r) * nf + f]);
      memset(out + (r0 + r) * nt, 0, sizeof(double) * (size_t)nt);
    }
    for (int g = 0; g < ng; ++g) {
      const int32_t* root = RF_ROOTS + g * G;
      const uint16_t* col = RF_COLUMNS + g * G;
      const int steps = RF_STEPS[g];
      for (long r = 0; r < nb; ++r) {
        const int32_t* x = xb + r * XW;
        uint32_t n0 = root[0], n1 = root[1], n2 = root[2], n3 = root[3];
        uint32_t n4 = root[4], n5 = root[5], n6 = root[6], n7 = root[7];
        for (int k = 0; k < steps; ++k) {
          n0 = rf_step(x, n0); n1 = rf_step(x, n1); n2 = rf_step(x, n2); n3 = rf_step(x, n3);
          n4 = rf_step(x, n4); n5 = rf_step(x, n5); n6 = rf_step(x, n6); n7 = rf_step(x, n7);
        }
        double* o = out + (r0 + r) * nt;
        o[col[0]] += RF_VALUES[n0].value; o[col[1]] += RF_VALUES[n1].value;
        o[col[2]] += RF_VALUES[n2].value; o[col[3]] += RF_VALUES[n3].value;
        o[col[4]] += RF_VALUES[n4].value; o[col[5]] += RF_VALUES[n5].value;
        o[col[6]] += RF_VALUES[n6].value; o[col[7]] += RF_VALUES[n7].value;
      }
    }
  }
}
"""

_LINK = {"binary": "logistic", "multiclass": "softmax"}


class ForestError(ValueError):
    """A booster cannot be compiled, or a compiled artifact does not match its bundle."""


@dataclass(frozen=True)
class Slot:
    """Output columns of one head in the compiled module (raw scores before the link)."""

    name: str
    start: int
    width: int
    link: str  # none | logistic | softmax


@dataclass
class PackedForest:
    bins: np.ndarray  # int16 per node: rank of its threshold in its feature's table (leaf: -1)
    features: np.ndarray  # uint8 per node
    rights: np.ndarray  # int16 per node: offset of the right child - 1 (leaf: -1, itself)
    values: np.ndarray  # float64 per node: leaf value (0 for a split)
    thresholds: np.ndarray  # float32: every feature's sorted distinct thresholds, concatenated
    threshold_start: np.ndarray  # int32 per feature + 1: where its table starts
    roots: np.ndarray  # int32 per tree, grouped by GROUP (padding trees point at node 0)
    columns: np.ndarray  # uint16 per tree: output column
    steps: np.ndarray  # uint8 per group: deepest tree of the group
    slots: list[Slot]
    n_trees: int


def floor32(t: float) -> np.float32:
    """The largest float32 <= t (so that float32 x <= t exactly when x <= floor32(t))."""
    f = np.float32(t)
    return np.nextafter(f, np.float32(-np.inf)) if float(f) > t else f


def parse_lightgbm(name: str, text: str) -> dict:
    """The parts of a LightGBM text model the compiler needs (arrays per tree, no LightGBM)."""
    header: dict[str, str] = {}
    trees: list[dict[str, str]] = []
    current = header
    for line in text.splitlines():
        if line.startswith("Tree="):
            current = {}
            trees.append(current)
        elif line.startswith("end of trees"):
            break
        elif "=" in line:
            key, _, value = line.partition("=")
            current[key] = value
    if not trees:
        raise ForestError(f"{name}: no trees in the LightGBM model text")
    out = []
    for i, t in enumerate(trees):
        leaves = np.array(t["leaf_value"].split(), dtype=np.float64)
        if int(t.get("num_cat", "0")) or t.get("is_linear", "0") != "0":
            raise ForestError(
                f"{name}: tree {i} has categorical or linear splits; the compiled path supports "
                "numerical splits only (use the ONNX fallback)"
            )
        if len(leaves) == 1:
            out.append({"leaf_value": leaves})
            continue
        decision = np.array(t["decision_type"].split(), dtype=np.int64)
        if np.any(decision & 1) or np.any((decision >> 2) & 3):
            raise ForestError(
                f"{name}: tree {i} has categorical splits or a missing type other than None; the "
                "compiled path treats NaN as 0 like LightGBM's missing_type None (use the ONNX "
                "fallback)"
            )
        out.append({
            "split_feature": np.array(t["split_feature"].split(), dtype=np.int64),
            "threshold": np.array(t["threshold"].split(), dtype=np.float64),
            "left_child": np.array(t["left_child"].split(), dtype=np.int64),
            "right_child": np.array(t["right_child"].split(), dtype=np.int64),
            "leaf_value": leaves,
        })  # fmt: skip
    return {
        "objective": header.get("objective", ""),
        "num_tree_per_iteration": int(header.get("num_tree_per_iteration", "1")),
        "max_feature_idx": int(header.get("max_feature_idx", "0")),
        "trees": out,
    }


def _flatten(name: str, tree: dict) -> tuple[int, list[tuple[float, int, int, float]]]:
    """Pre-order nodes ``(threshold, feature, right offset, leaf value)`` and the tree depth."""
    leaves = tree["leaf_value"]
    if "split_feature" not in tree:
        return 0, [(-np.inf, 0, 0, float(leaves[0]))]
    feat, thr = tree["split_feature"].tolist(), tree["threshold"].tolist()
    left, right = tree["left_child"].tolist(), tree["right_child"].tolist()
    nodes: list[list] = []
    # (child id: >= 0 split, < 0 leaf ~id), depth, index of the parent whose right child it is
    stack: list[tuple[int, int, int]] = [(0, 0, -1)]
    depth = 0
    while stack:
        node, d, parent = stack.pop()
        index = len(nodes)
        if parent >= 0:
            nodes[parent][2] = index - parent
        depth = max(depth, d)
        if node < 0:
            nodes.append([-np.inf, 0, 0, float(leaves[~node])])
            continue
        nodes.append([float(floor32(thr[node])), int(feat[node]), 0, 0.0])
        stack.append((right[node], d + 1, index))
        stack.append((left[node], d + 1, -1))
    if len(nodes) > 32_767:
        raise ForestError(f"{name}: a tree of {len(nodes)} nodes is too large to pack")
    return depth, [tuple(n) for n in nodes]


def pack(models: list[tuple[HeadSpec, dict]]) -> PackedForest:
    """Pack parsed LightGBM models (``parse_lightgbm``, one per head in HEADS order)."""
    trees: list[tuple[int, int, list]] = []  # column, depth, nodes
    slots: list[Slot] = []
    column = 0
    for head, model in models:
        if model["max_feature_idx"] + 1 > N_FEATURES:
            raise ForestError(f"{head.name}: booster expects more than {N_FEATURES} features")
        per_iter = model["num_tree_per_iteration"]
        width = per_iter if head.kind == "multiclass" else 1
        if per_iter != width:
            raise ForestError(f"{head.name}: {per_iter} trees per iteration for a {head.kind} head")
        objective = model["objective"].replace(" ", "")
        if head.kind == "binary" and "sigmoid:1" not in objective:
            raise ForestError(f"{head.name}: binary objective {objective!r} (needs sigmoid:1)")
        for i, tree in enumerate(model["trees"]):
            depth, nodes = _flatten(head.name, tree)
            trees.append((column + i % per_iter, depth, nodes))
        slots.append(Slot(head.name, column, width, _LINK.get(head.kind, "none")))
        column += width
    order = sorted(range(len(trees)), key=lambda i: trees[i][1])
    thr: list[float] = [-np.inf]  # node 0: a zero leaf that padding trees point at
    feat, right, value = [0], [0], [0.0]
    roots, columns, depths = [], [], []
    for i in order:
        col, depth, nodes = trees[i]
        roots.append(len(thr))
        columns.append(col)
        depths.append(depth)
        for t, f, r, v in nodes:
            thr.append(t)
            feat.append(f)
            right.append(r)
            value.append(v)
    pad = (-len(roots)) % GROUP
    roots += [0] * pad
    columns += [0] * pad
    depths += [0] * pad
    steps = [max(depths[g : g + GROUP]) for g in range(0, len(roots), GROUP)]
    # a threshold becomes its rank among its feature's distinct thresholds: x > t_k exactly
    # when more than k of them lie below x (the kernel ranks each input once per row)
    thr32 = np.asarray(thr, dtype=np.float32)
    features = np.asarray(feat, dtype=np.int64)
    split = np.isfinite(thr32)
    bins = np.full(len(thr32), -1, dtype=np.int64)
    tables, start = [], [0]
    for f in range(N_FEATURES):
        at = split & (features == f)
        table = np.unique(thr32[at])
        if len(table) > 32_767:
            raise ForestError(f"feature {f} has {len(table)} distinct thresholds (max 32767)")
        bins[at] = np.searchsorted(table, thr32[at])
        tables.append(table)
        start.append(start[-1] + len(table))
    return PackedForest(
        bins=bins.astype(np.int16),
        features=features.astype(np.uint8),
        rights=(np.asarray(right, dtype=np.int64) - 1).astype(np.int16),
        values=np.asarray(value, dtype=np.float64),
        # (one unused entry when nothing splits at all: C has no empty arrays)
        thresholds=np.concatenate([*tables, np.zeros(1 if start[-1] == 0 else 0)]).astype(
            np.float32
        ),
        threshold_start=np.asarray(start, dtype=np.int32),
        roots=np.asarray(roots, dtype=np.int32),
        columns=np.asarray(columns, dtype=np.uint16),
        steps=np.asarray(steps, dtype=np.uint8),
        slots=slots,
        n_trees=len(trees),
    )


def predict_packed(forest: PackedForest, X: np.ndarray) -> np.ndarray:
    """The kernel's arithmetic in numpy (reference for tests; slow)."""
    X = np.where(np.isnan(X), 0.0, X).astype(np.float32)
    start = forest.threshold_start
    x = np.stack([np.searchsorted(forest.thresholds[start[f] : start[f + 1]], X[:, f])
                  for f in range(N_FEATURES)], 1)  # fmt: skip
    out = np.zeros((len(X), forest.slots[-1].start + forest.slots[-1].width))
    rows = np.arange(len(X))
    for g, steps in enumerate(forest.steps.tolist()):
        for j in range(GROUP):
            n = np.full(len(X), forest.roots[g * GROUP + j], dtype=np.int64)
            for _ in range(steps):
                mask = forest.bins[n].astype(np.int64) < x[rows, forest.features[n]]
                n = n + 1 + np.where(mask, forest.rights[n].astype(np.int64), 0)
            out[:, forest.columns[g * GROUP + j]] += forest.values[n]
    return out


# This module is included into the rendered repos through Jinja (copier): C braces are built by
# concatenation so the source never holds a Jinja delimiter (two opening braces in a row).
def _braced(body: str) -> str:
    return "{" + body + "}"


def _c_array(name: str, ctype: str, values: list, fmt=str) -> str:
    return f"const {ctype} {name}[] = " + _braced(",".join(map(fmt, values))) + ";\n"


def node_words(forest: PackedForest) -> np.ndarray:
    """Nodes as the kernel's union reads them (little-endian): bin, right - 1, feature."""
    return (
        forest.bins.view(np.uint16).astype(np.uint64)
        | (forest.rights.view(np.uint16).astype(np.uint64) << np.uint64(16))
        | (forest.features.astype(np.uint64) << np.uint64(32))
    )


def _hex(words: np.ndarray, braced: bool = False) -> str:
    # hexadecimal integers: exact for the float64 leaf values, and fast for the C compiler
    items = (f"0x{w:x}" for w in words.tolist())
    return ",".join(_braced(i) for i in items) if braced else ",".join(items)


def c_source(forest: PackedForest, model_id: str) -> str:
    """The one C translation unit: kernel + the packed trees as constant arrays."""
    n_targets = forest.slots[-1].start + forest.slots[-1].width
    values = forest.values.view(np.uint64)
    return "".join(
        [
            KERNEL,
            "const rf_node RF_NODES[] = " + _braced(_hex(node_words(forest), braced=True)) + ";\n",
            "const union rf_value RF_VALUES[] = " + _braced(_hex(values, braced=True)) + ";\n",
            "const union rf_thr RF_THRESHOLDS[] = "
            + _braced(_hex(forest.thresholds.view(np.uint32), braced=True))
            + ";\n",
            _c_array("RF_THRESHOLD_START", "int32_t", forest.threshold_start.tolist()),
            _c_array("RF_ROOTS", "int32_t", forest.roots.tolist()),
            _c_array("RF_COLUMNS", "uint16_t", forest.columns.tolist()),
            _c_array("RF_STEPS", "uint8_t", forest.steps.tolist()),
            f"const int32_t RF_NGROUPS = {len(forest.steps)}, RF_NF = {N_FEATURES}, "
            f"RF_NT = {n_targets};\n",
            f'const char RF_MODEL_ID[] = "{model_id}";\n',
        ]
    )


def booster_texts(bundle_dir: str | Path) -> list[tuple[HeadSpec, str]]:
    root = Path(bundle_dir) / "lightgbm"
    missing = [h.name for h in HEADS if not (root / f"{h.name}.txt").is_file()]
    if missing:
        raise ForestError(f"{bundle_dir}: no LightGBM booster for head(s) {missing}")
    return [(h, (root / f"{h.name}.txt").read_text()) for h in HEADS]


def model_id(texts: list[tuple[HeadSpec, str]]) -> str:
    """Identity of what gets compiled: every booster, the kernel and this packer's format."""
    digest = hashlib.sha256(f"{FOREST_FORMAT}|{FEATURES_VERSION}|".encode())
    digest.update(KERNEL.encode())
    for head, text in texts:
        digest.update(f"|{head.name}|".encode())
        digest.update(text.encode())
    return digest.hexdigest()[:24]


def compiler(cc: str | None = None) -> tuple[str, str]:
    """The C compiler to use (``$CC`` or cc/gcc/clang) and its version line."""
    for candidate in [cc or os.environ.get("CC"), "cc", "gcc", "clang"]:
        if candidate and shutil.which(candidate):
            out = subprocess.run(  # noqa: S603 - the compiler found on PATH, fixed arguments
                [candidate, "--version"], capture_output=True, text=True, check=False
            )
            return candidate, (out.stdout.splitlines() or ["unknown"])[0]
    raise ForestError("no C compiler found (set CC or install gcc): the compiled path needs one "
                      "at training time; serving falls back to ONNX without it")  # fmt: skip


def compile_forest(bundle_dir: str | Path, out_dir: str | Path | None = None,
                   cc: str | None = None) -> dict:  # fmt: skip
    """Compile every head of the bundle into ``<out_dir>/remedy_forest.so`` + ``forest.json``.

    ``out_dir`` defaults to ``<bundle_dir>/compiled``. Returns the layout document (also
    written as ``forest.json``) with the time each phase took.
    """
    started = time.perf_counter()
    texts = booster_texts(bundle_dir)
    mid = model_id(texts)
    forest = pack([(h, parse_lightgbm(h.name, t)) for h, t in texts])
    packed_s = time.perf_counter() - started
    out = Path(out_dir) if out_dir is not None else Path(bundle_dir) / COMPILED_DIR
    out.mkdir(parents=True, exist_ok=True)
    cc_path, cc_version = compiler(cc)
    with tempfile.TemporaryDirectory(prefix="remedy-forest-") as tmp:
        src = Path(tmp) / "remedy_forest.c"
        src.write_text(c_source(forest, mid))
        lib_tmp = Path(tmp) / LIBRARY
        t0 = time.perf_counter()
        proc = subprocess.run(  # noqa: S603 - fixed flags, paths we created
            [cc_path, *CFLAGS, "-o", str(lib_tmp), str(src)],
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            raise ForestError(f"{cc_path} failed ({proc.returncode}): {proc.stderr[-2000:]}")
        cc_s = time.perf_counter() - t0
        shutil.move(str(lib_tmp), out / LIBRARY)
    layout = {
        "format": FOREST_FORMAT,
        "abi": ABI_VERSION,
        "model_id": mid,
        "features_version": FEATURES_VERSION,
        "n_features": N_FEATURES,
        "n_targets": forest.slots[-1].start + forest.slots[-1].width,
        "slots": [asdict(s) for s in forest.slots],
        "trees": forest.n_trees,
        "nodes": len(forest.bins),
        "groups": len(forest.steps),
        "platform": {"system": platform.system(), "machine": platform.machine()},
        "compiler": {"cc": cc_path, "version": cc_version, "flags": list(CFLAGS)},
        "seconds": {
            "pack": round(packed_s, 3),
            "cc": round(cc_s, 3),
            "total": round(time.perf_counter() - started, 3),
        },
    }
    (out / LAYOUT).write_text(json.dumps(layout, indent=2))
    return layout
