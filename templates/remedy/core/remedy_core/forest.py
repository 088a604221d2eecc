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
are ~5 MB, compile in seconds, and are walked without branches: a split is one 32-bit word
``{threshold rank, slot, offset of the right child}`` in pre-order (the left child is next), a
leaf a marker word + its value; each input is ranked once per row among its feature's distinct
split thresholds (x > t_k exactly when more than k of them lie below x), so a step is
``n += 1 + (rank > k ? right - 1 : 0)`` in integer arithmetic; 8 trees of similar depth are
walked in lock-step (independent chains keep the core busy), and a leaf points to itself so
extra steps are harmless. A row's ranks are bytes (64 slots: one cache line); the nodes of the
next groups are prefetched while one group is walked. (A feature with more than 255 distinct
thresholds is split into several slots.) The walk is the reference kernel and serves boosters
whose trees have more than 64 leaves.

Otherwise the trees are evaluated as bit masks (QuickScorer, Lucchese et al., SIGIR 2015): per
split the mask of its left subtree's leaves; a row clears them from its tree's reachable-leaf
mask where the split's test fails, and the lowest leaf left is its exit leaf (masks of 32 bits,
or 64 when a tree has more than 32 leaves). The walk spends ~2 cycles a step on dependent loads
and runs every tree to its group's depth (~1.8x the steps a row needs) and, for one claim,
streams every node (2.5 MB for 10,800 trees) from memory. Instead:
* one claim (fewer than 8 rows) goes feature by feature: a feature's splits sorted by threshold,
  the failing ones are a prefix (up to the row's rank), ~40% of all splits, 6 bytes each, no
  load waiting on the one before: ~2.4x faster than the walk from a cold cache, ~1.7x warm;
* batches go tree by tree: every split of a tree is tested for 32-64 rows at once with vector
  compares: ~4x the walk's rows per second on blocks of 128 rows.
Vectors are 16 bytes (SSE2, part of every x86_64; NEON on arm64) and, on x86_64, 32 bytes
where the CPU has AVX2 - one instance of each is compiled (``target("avx2")``) and the
library picks by ``cpuid`` when it runs, so one artifact still runs on every CPU of its
architecture. ``rf_predict_with`` forces a kernel (tests prove each equals LightGBM).

Build: the node words, leaf values and mask tables (megabytes: ~9 MB for 10,800 trees) go into
the library as binary files the assembler includes (``.incbin``), the small tables as C arrays:
well under 1 s of ``cc`` instead of ~45 s parsing megabyte-sized initialisers. Flags: ``-O2``
and no ``-march``: the library must run on any CPU of its architecture (Lambda and SageMaker
x86_64 hosts differ in ISA extensions; arm64 Graviton generations too); the one place wider
vectors pay (batches) gets its AVX2 instance through a function attribute and a run-time check
instead. (``-O3`` / ``-march=native`` measured slower for the walk here: 166 vs 112 us a row.)

Exactness: thresholds are rounded down to float32 (for a float32 input ``x <= t`` holds exactly
when ``x <= floor32(t)``) and ranked with float comparisons; leaf values stay float64 and are
summed per output column in the same tree order by every kernel (their results are bit-equal),
so raw scores equal LightGBM's to ~1e-13 (summation order differs).
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

FOREST_FORMAT = "remedy-forest/2"
ABI_VERSION = 2
COMPILED_DIR = "compiled"
LIBRARY = "remedy_forest.so"
LAYOUT = "forest.json"
GROUP = 8  # trees walked in lock-step; must match the kernel's G
SLOT_WIDTH = 255  # thresholds per slot (a rank fits a byte); must match the kernel
LEAF_SLOT = 63  # the slot a leaf reads: its rank is LEAF_RANK, above any threshold rank
LEAF_RANK = 255  # a row's ranks are bytes; threshold ranks are at most 254
LEAF_SLOT_MAX_INDEX = 254  # a leaf's index in its tree is byte 0 of its word (below LEAF_RANK)
CFLAGS = ("-O2", "-fPIC", "-shared", "-std=c99")

KERNEL = r"""
#include <stdint.h>
#include <string.h>

#define G 8
#define BLOCK 128      /* rows per block: 128 x 64 bytes of ranks stay in L1 with a group's nodes */
#define PF 2           /* groups prefetched ahead (one claim: the walk would wait on memory) */
#define XW 64          /* slots per row (one byte each: a row is one cache line) */
#define LEAF_SLOT 63   /* the leaves' slot: its rank is 255, above any threshold rank */
#define SLOT_WIDTH 255
#define QS_MIN_ROWS 8  /* from this many rows on, batches use the bit masks */
#define HIDDEN __attribute__((visibility("hidden")))
#if defined(__x86_64__) && defined(__GNUC__)
#define RF_X86 1
#else
#define RF_X86 0
#endif

/* split word: byte 0 threshold rank in its slot, byte 1 slot, bytes 2-3 right offset - 1;
   leaf word: byte 0 its index among its tree's leaves, slot LEAF_SLOT, offset -1 (it points at
   itself); the leaf values (float64) apart. Words and values are assembled into the library
   from binary files (.incbin, see c_source). */
extern const uint32_t RF_WORDS[] HIDDEN;
extern const double RF_VALUES[] HIDDEN;
extern const int32_t RF_LEAF_BASE[];
extern const union rf_thr { uint32_t bits; float value; } RF_THRESHOLDS[];
extern const int32_t RF_THRESHOLD_START[], RF_SLOT_FEATURE[], RF_SLOT_BASE[];
extern const int32_t RF_ROOTS[];
extern const uint16_t RF_COLUMNS[];
extern const uint8_t RF_STEPS[];
extern const int32_t RF_NGROUPS, RF_NF, RF_NT, RF_NSLOTS, RF_NWORDS;
extern const char RF_MODEL_ID[];

int rf_abi_version(void) { return 2; }
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

/* go right when the row's rank in the node's slot is above the node's (mask -1); no branch */
static inline uint32_t rf_step(const uint8_t* x, uint32_t n) {
  const uint32_t w = RF_WORDS[n];
  const int32_t mask = ((int32_t)(w & 0xffu) - (int32_t)x[(w >> 8) & 0xffu]) >> 31;
  return n + 1u + (uint32_t)(mask & ((int32_t)w >> 16));
}

/* the words of group g (its trees are stored one after another), into the cache ahead of use */
static inline void rf_prefetch(int g) {
  if (g >= RF_NGROUPS) return;
  const int32_t lo = RF_ROOTS[g * G];
  const int32_t hi = g + 1 < RF_NGROUPS ? RF_ROOTS[(g + 1) * G] : RF_NWORDS;
  for (int32_t p = lo; p < hi; p += 16) __builtin_prefetch(RF_WORDS + p, 0, 3);
}

#define LEAF(j, n) RF_VALUES[base[j] + (RF_WORDS[n] & 0xffu)]

/* one row's rank in every slot (clamped to a byte), the leaf slot's 255 */
static inline void rf_ranks(const float* row, uint8_t* x) {
  int32_t rank[64];
  for (int f = 0; f < RF_NF; ++f) rank[f] = rf_rank(f, row[f]);
  for (int s = 0; s < RF_NSLOTS; ++s) {
    const int32_t k = rank[RF_SLOT_FEATURE[s]] - RF_SLOT_BASE[s];
    x[s] = (uint8_t)(k < 0 ? 0 : (k > SLOT_WIDTH ? SLOT_WIDTH : k));
  }
  x[LEAF_SLOT] = 255;
}

/* Batches: every tree as bit masks (QuickScorer, Lucchese et al. 2015). A split whose test
   fails for a row (x > t: go right) removes the leaves of its left subtree from the tree's
   mask of reachable leaves; the exit leaf is the lowest bit left. No data-dependent chain: the
   splits of a tree are tested for QR rows at a time with vector compares (GCC/Clang vector
   extensions: SSE2 on baseline x86_64, NEON on arm64), QV vectors per pass, each tree's splits
   in L1 while a block of QB rows passes. Trees of more than 64 leaves: the walk below. */
#if RF_QS_WIDE
typedef int64_t rf_mask;
#define RF_CTZ(v) __builtin_ctzll((uint64_t)(v))
#else
typedef int32_t rf_mask;
#define RF_CTZ(v) __builtin_ctz((uint32_t)(v))
#endif
#define QV 8           /* vectors of rows per pass (independent chains) */
#define QB 128         /* rows per block: their ranks (QB x slots x mask width) stay in L1/L2 */
extern const rf_mask RF_QS_LEFT[] HIDDEN;   /* per split: the leaves of its left subtree */
extern const uint16_t RF_QS_TEST[] HIDDEN;  /* per split: threshold rank | slot << 8 */
extern const int32_t RF_QS_START[];          /* per tree (walk order) + 1: its first split */
extern const int32_t RF_QS_NT;               /* trees; 0 when a tree has more than 64 leaves */
/* One claim: the same bit masks, feature by feature (QuickScorer's original order). Per
   feature its splits sorted by threshold: those whose test fails for the row (x > t) are the
   ones below its rank - a prefix, streamed once; every other split is never read. About 40% of
   the splits are touched, 6 bytes each, and no load depends on the one before: less memory and
   fewer cycles than walking every tree to its group's depth. */
extern const uint16_t RF_Q1_TREE[] HIDDEN;  /* per split, by (feature, threshold): its tree */
extern const rf_mask RF_Q1_KEEP[] HIDDEN;   /* ... and its tree's leaves outside its left subtree */
extern const int32_t RF_Q1_START[];          /* per feature f, rank r: at [THRESHOLD_START[f] + f
                                                + r] the first split of f whose rank is >= r */

/* the masks live on the caller's stack: up to 256 KB of them (65k trees of 32 leaves), larger
   forests walk one claim instead */
#define RF_Q1_OK (RF_QS_TREES * sizeof(rf_mask) <= 262144)

static void rf_one(const float* row, double* out) {
  rf_mask v[RF_Q1_OK ? RF_QS_TREES : 1]; /* each tree's reachable leaves */
  memset(v, 0xff, sizeof v);
  for (int f = 0; f < RF_NF; ++f) {
    const int32_t* e = RF_Q1_START + RF_THRESHOLD_START[f] + f;
    const int32_t hi = e[rf_rank(f, row[f])];
    for (int32_t j = e[0]; j < hi; ++j) v[RF_Q1_TREE[j]] &= RF_Q1_KEEP[j];
  }
  memset(out, 0, sizeof(double) * (size_t)RF_NT);
  for (int t = 0; t < RF_QS_NT; ++t)
    out[RF_COLUMNS[t]] += RF_VALUES[RF_LEAF_BASE[t] + RF_CTZ(v[t])];
}

/* boosters with trees of more than 64 leaves (and the reference): walk the trees */
static void rf_walk(const float* X, long n_rows, double* out) {
  const int nf = RF_NF, nt = RF_NT, ng = RF_NGROUPS;
  uint8_t xb[BLOCK * XW];
  for (long r0 = 0; r0 < n_rows; r0 += BLOCK) {
    long nb = n_rows - r0 < BLOCK ? n_rows - r0 : BLOCK;
    for (int g = 0; g < PF; ++g) rf_prefetch(g);
    for (long r = 0; r < nb; ++r) {
      rf_ranks(X + (r0 + r) * nf, xb + r * XW);
      memset(out + (r0 + r) * nt, 0, sizeof(double) * (size_t)nt);
    }
    for (int g = 0; g < ng; ++g) {
      const int32_t* root = RF_ROOTS + g * G;
      const uint16_t* col = RF_COLUMNS + g * G;
      const int32_t* base = RF_LEAF_BASE + g * G;
      const int steps = RF_STEPS[g];
      rf_prefetch(g + PF);
      for (long r = 0; r < nb; ++r) {
        const uint8_t* x = xb + r * XW;
        uint32_t n0 = root[0], n1 = root[1], n2 = root[2], n3 = root[3];
        uint32_t n4 = root[4], n5 = root[5], n6 = root[6], n7 = root[7];
        for (int k = 0; k < steps; ++k) {
          n0 = rf_step(x, n0); n1 = rf_step(x, n1); n2 = rf_step(x, n2); n3 = rf_step(x, n3);
          n4 = rf_step(x, n4); n5 = rf_step(x, n5); n6 = rf_step(x, n6); n7 = rf_step(x, n7);
        }
        double* o = out + (r0 + r) * nt;
        o[col[0]] += LEAF(0, n0); o[col[1]] += LEAF(1, n1);
        o[col[2]] += LEAF(2, n2); o[col[3]] += LEAF(3, n3);
        o[col[4]] += LEAF(4, n4); o[col[5]] += LEAF(5, n5);
        o[col[6]] += LEAF(6, n6); o[col[7]] += LEAF(7, n7);
      }
    }
  }
}
"""

# The bit-mask batch kernel, once per vector width: 16 bytes (SSE2 on any x86_64, NEON on arm64)
# and, on x86_64, 32 bytes for CPUs with AVX2, chosen when the library runs (cpuid): the module
# stays portable to every CPU of its architecture and uses the wider vectors where they exist.
KERNEL_QS = r"""
/* signed lanes: baseline x86_64 (SSE2) compares signed integers only; ranks are 0..255 */
typedef rf_mask NAME_vec __attribute__((vector_size(VBYTES)));
#define NAME_QR (VBYTES / (int)sizeof(rf_mask)) /* rows per vector */

/* one split for QV vectors of rows: clear the left subtree's leaves where x > t; then the
   lowest leaf left is each row's exit leaf */
#define NAME_SPLITS(NV)                                                                 \
  for (int32_t s = lo; s < hi; ++s) {                                                   \
    const uint16_t test = RF_QS_TEST[s];                                                \
    const NAME_vec left = (NAME_vec){0} + RF_QS_LEFT[s], k = (NAME_vec){0} + (test & 0xff); \
    const NAME_vec* xs = xc + (test >> 8) * (QB / NAME_QR) + p;                         \
    for (int q = 0; q < NV; ++q) v[q] &= ~((NAME_vec)(xs[q] > k) & left);               \
  }                                                                                     \
  for (int q = 0; q < NV; ++q)                                                          \
    for (int r = 0; r < NAME_QR && (long)(p + q) * NAME_QR + r < nb; ++r)               \
      o[((long)(p + q) * NAME_QR + r) * nt] += val[RF_CTZ(v[q][r])];

ATTR static void NAME(const float* X, long n_rows, double* out) {
  const int nt = RF_NT;
  NAME_vec xc[64 * (QB / NAME_QR)]; /* [slot][row / QR]: this block's ranks */
  uint8_t x[XW];
  for (long r0 = 0; r0 < n_rows; r0 += QB) {
    const long nb = n_rows - r0 < QB ? n_rows - r0 : QB;
    for (long r = 0; r < QB; ++r) {
      if (r < nb) {
        rf_ranks(X + (r0 + r) * RF_NF, x);
        memset(out + (r0 + r) * nt, 0, sizeof(double) * (size_t)nt);
      } else {
        memset(x, 0, sizeof x); /* padding rows: computed, never stored */
      }
      for (int s = 0; s < RF_NSLOTS; ++s) xc[s * (QB / NAME_QR) + r / NAME_QR][r % NAME_QR] = x[s];
    }
    const int nv = (int)((nb + NAME_QR - 1) / NAME_QR);
    for (int t = 0; t < RF_QS_NT; ++t) {
      const int32_t lo = RF_QS_START[t], hi = RF_QS_START[t + 1];
      const double* val = RF_VALUES + RF_LEAF_BASE[t];
      double* o = out + r0 * nt + RF_COLUMNS[t];
      int p = 0;
      for (; p + QV <= nv; p += QV) {
        NAME_vec v[QV];
        for (int q = 0; q < QV; ++q) v[q] = ~(NAME_vec){0};
        NAME_SPLITS(QV)
      }
      for (; p < nv; ++p) {
        NAME_vec v[1];
        v[0] = ~(NAME_vec){0};
        NAME_SPLITS(1)
      }
    }
  }
}
"""

KERNEL_DISPATCH = r"""
/* the kernels this library can run here: bit 0 the walk, 1 bit masks (16-byte vectors),
   2 bit masks (AVX2), 3 bit masks feature by feature (one row at a time) */
int rf_kernels(void) {
  int k = 1 | (RF_QS_NT > 0 ? 2 : 0) | (RF_QS_NT > 0 && RF_Q1_OK ? 8 : 0);
#if RF_X86
  if (RF_QS_NT > 0 && __builtin_cpu_supports("avx2")) k |= 4;
#endif
  return k;
}

/* raw scores with a given kernel (0 walk, 1 bit masks, 2 bit masks with AVX2, 3 bit masks by
   feature; tests and benchmarks): AVX2 without it is 1; another the library cannot run is the
   walk */
void rf_predict_with(const float* X, long n_rows, double* out, int kernel) {
  const int have = rf_kernels();
  if (kernel == 3 && (have & 8)) {
    for (long r = 0; r < n_rows; ++r) rf_one(X + r * RF_NF, out + r * RF_NT);
    return;
  }
#if RF_X86
  if (kernel == 2 && (have & 4)) {
    rf_qs_avx2(X, n_rows, out);
    return;
  }
#endif
  if ((kernel == 1 || kernel == 2) && (have & 2)) {
    rf_qs_sse(X, n_rows, out);
    return;
  }
  rf_walk(X, n_rows, out);
}

/* raw scores of every output column for n_rows float32 rows (row-major) into out (n_rows x NT):
   one claim goes feature by feature, batches tree by tree (the widest vectors the CPU has) */
void rf_predict(const float* X, long n_rows, double* out) {
  rf_predict_with(X, n_rows, out, n_rows < QS_MIN_ROWS ? 3 : (rf_kernels() & 4) ? 2 : 1);
}
"""


def kernel_qs() -> str:
    """The batch kernel's instances (16-byte vectors; on x86_64 also 32-byte AVX2 ones)."""

    def one(name: str, vbytes: int, attr: str) -> str:
        return KERNEL_QS.replace("NAME", name).replace("VBYTES", str(vbytes)).replace("ATTR", attr)

    return (one("rf_qs_sse", 16, "")
            + "#if RF_X86\n" + one("rf_qs_avx2", 32, '__attribute__((target("avx2")))')
            + "#endif\n" + KERNEL_DISPATCH)  # fmt: skip


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
    """All trees as one stream of 32-bit words (one per node), in the order the kernel walks them.

    A split is one word: byte 0 its threshold's rank in its slot, byte 1 the slot (an input
    feature, or a 255-threshold chunk of one), bytes 2-3 the offset of its right child - 1 (the
    left child is the next word). A leaf is one word that points at itself (slot ``LEAF_SLOT``,
    whose rank is above any threshold rank; offset -1) with byte 0 its index among its tree's
    leaves; the float64 values sit apart in ``values`` (a tree's from ``leaf_base``), so a walk
    streams 4 bytes a node.
    """

    words: np.ndarray  # uint32, one per node
    values: np.ndarray  # float64: every tree's leaf values (pre-order), value 0 is node 0's 0.0
    leaf_base: np.ndarray  # int32 per tree: where its leaf values start (padding: 0)
    roots: np.ndarray  # int32 per tree (word index), grouped by GROUP (padding: word 0, a leaf)
    columns: np.ndarray  # uint16 per tree: output column
    steps: np.ndarray  # uint8 per group: deepest tree of the group
    thresholds: np.ndarray  # float32: every feature's sorted distinct thresholds, concatenated
    threshold_start: np.ndarray  # int32 per feature + 1: where its table starts
    slot_feature: np.ndarray  # int32 per slot: the feature it ranks
    slot_base: np.ndarray  # int32 per slot: rank of its first threshold in the feature's table
    slots: list[Slot]
    n_trees: int
    n_nodes: int
    # the same trees as bit masks (batches): per split its test and the mask of the leaves left
    # reachable when the test fails; per tree (walk order) where its splits start
    qs_test: np.ndarray  # uint16: threshold rank | slot << 8
    qs_mask: np.ndarray  # uint32 (uint64 when a tree has more than 32 leaves)
    qs_start: np.ndarray  # int32 per tree + 1 (all zero: a tree has more than 64 leaves)
    # one row: the same splits by (feature, threshold rank): tree, mask of the leaves they keep
    q1_tree: np.ndarray  # uint16
    q1_keep: np.ndarray  # like qs_mask: ~ the split's left subtree
    q1_start: np.ndarray  # int32 per feature f, rank r at threshold_start[f] + f + r


def floor32(t: float) -> np.float32:
    """The largest float32 <= t (so that float32 x <= t exactly when x <= floor32(t))."""
    f = np.float32(t)
    return np.nextafter(f, np.float32(-np.inf)) if float(f) > t else f


def floor32_array(t: np.ndarray) -> np.ndarray:
    """``floor32`` of every value (float64 array -> float32 array)."""
    t = np.asarray(t, dtype=np.float64)
    f = t.astype(np.float32)
    return np.where(f.astype(np.float64) > t, np.nextafter(f, np.float32(-np.inf)), f)


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
    thr32 = floor32_array(tree["threshold"])
    if np.isinf(thr32).any():  # -inf marks a leaf in the packed layout
        raise ForestError(f"{name}: a split threshold is beyond float32's range")
    feat, thr = tree["split_feature"].tolist(), thr32.tolist()
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
        nodes.append([thr[node], feat[node], 0, 0.0])
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
    return _layout(trees, slots)


def _slots(thr32: np.ndarray, features: np.ndarray) -> tuple:
    """Per feature its sorted distinct thresholds; split into slots of at most 255 thresholds so
    that a rank fits a byte (a slot's rank is the feature's rank minus the slot's base, clamped
    to 0..255: comparisons with its own thresholds are unchanged)."""
    split = np.isfinite(thr32)
    slot = np.zeros(len(thr32), dtype=np.int64)
    rank = np.zeros(len(thr32), dtype=np.int64)
    tables, start, slot_feature, slot_base = [], [0], [], []
    for f in range(N_FEATURES):
        at = split & (features == f)
        table = np.unique(thr32[at])
        k = np.searchsorted(table, thr32[at])
        chunk = k // SLOT_WIDTH
        for c in range(max(1, -(-len(table) // SLOT_WIDTH))):
            slot_feature.append(f)
            slot_base.append(c * SLOT_WIDTH)
        first = len(slot_feature) - max(1, -(-len(table) // SLOT_WIDTH))
        slot[at] = first + chunk
        rank[at] = k - chunk * SLOT_WIDTH
        tables.append(table)
        start.append(start[-1] + len(table))
    if len(slot_feature) > LEAF_SLOT:
        raise ForestError(f"{len(slot_feature)} threshold slots needed, at most {LEAF_SLOT}")
    # (one unused entry when nothing splits at all: C has no empty arrays)
    thresholds = np.concatenate([*tables, np.zeros(1 if start[-1] == 0 else 0)])
    return slot, rank, thresholds.astype(np.float32), start, slot_feature, slot_base


def _layout(trees: list[tuple[int, int, list]], slots: list[Slot]) -> PackedForest:
    order = sorted(range(len(trees)), key=lambda i: trees[i][1])  # similar depths walk together
    nodes: list[tuple[float, int, int, float]] = [(-np.inf, 0, 0, 0.0)]  # node 0: a zero leaf
    first_node, columns, depths, leaf_base = [], [], [], []
    n_leaves = 1
    for i in order:
        col, depth, tree = trees[i]
        first_node.append(len(nodes))
        leaf_base.append(n_leaves)
        columns.append(col)
        depths.append(depth)
        nodes.extend(tree)
        n_leaves += (len(tree) + 1) // 2  # a full binary tree: leaves = splits + 1
    pad = (-len(first_node)) % GROUP
    first_node += [0] * pad
    leaf_base += [0] * pad
    columns += [0] * pad
    depths += [0] * pad
    thr32 = np.asarray([n[0] for n in nodes], dtype=np.float32)
    features = np.asarray([n[1] for n in nodes], dtype=np.int64)
    right = np.asarray([n[2] for n in nodes], dtype=np.int64)  # in nodes (pre-order)
    values = np.asarray([n[3] for n in nodes], dtype=np.float64)
    leaf = ~np.isfinite(thr32)
    slot, rank, thresholds, start, slot_feature, slot_base = _slots(thr32, features)
    # a leaf's index among its tree's leaves (node 0, the padding leaf, is index 0 of base 0)
    tree_of = np.zeros(len(nodes), dtype=np.int64)
    tree_of[np.asarray(first_node[: len(order)], dtype=np.int64)] = 1
    tree_of = np.cumsum(tree_of)  # 0 for node 0, then 1..n_trees
    leaf_rank = np.cumsum(leaf) - 1  # global leaf number of each leaf node
    base = np.concatenate([[0], np.asarray(leaf_base[: len(order)], dtype=np.int64)])
    leaf_index = np.where(leaf, leaf_rank - base[tree_of], 0)
    if leaf_index.max(initial=0) > LEAF_SLOT_MAX_INDEX:
        raise ForestError(
            f"a tree has more than {LEAF_SLOT_MAX_INDEX + 1} leaves; the compiled path packs a "
            "leaf's index in a byte (use the ONNX fallback)"
        )
    qs_test, qs_mask, qs_start, split_tree = _bitmasks(
        leaf, right, np.asarray(first_node[: len(order)]), rank, slot
    )
    q1_tree, q1_keep, q1_start = _by_feature(qs_test, qs_mask, split_tree, start, slot_feature,
                                             slot_base)  # fmt: skip
    offset = np.where(leaf, -1, right - 1)
    if offset.max(initial=0) > 32_767:
        raise ForestError("a tree is too large to pack (right-child offset above 32767 nodes)")
    words = (
        np.where(leaf, leaf_index, rank)
        | (np.where(leaf, LEAF_SLOT, slot) << 8)
        | ((offset & 0xFFFF) << 16)
    ).astype(np.uint32)
    return PackedForest(
        words=words,
        values=values[leaf],
        leaf_base=np.asarray(leaf_base, dtype=np.int32),
        roots=np.asarray(first_node, dtype=np.int32),
        columns=np.asarray(columns, dtype=np.uint16),
        steps=np.asarray(
            [max(depths[g : g + GROUP]) for g in range(0, len(depths), GROUP)], dtype=np.uint8
        ),
        thresholds=thresholds,
        threshold_start=np.asarray(start, dtype=np.int32),
        slot_feature=np.asarray(slot_feature, dtype=np.int32),
        slot_base=np.asarray(slot_base, dtype=np.int32),
        slots=slots,
        n_trees=len(trees),
        n_nodes=len(nodes),
        qs_test=qs_test,
        qs_mask=qs_mask,
        qs_start=qs_start,
        q1_tree=q1_tree,
        q1_keep=q1_keep,
        q1_start=q1_start,
    )


def _bitmasks(leaf: np.ndarray, right: np.ndarray, first: np.ndarray, rank: np.ndarray,
              slot: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """QuickScorer's tables: for each split (pre-order, tree by tree) its test and the mask of
    its tree's leaves without those of its left subtree (leaves numbered left to right, which is
    their pre-order). Returns empty tables when a tree has more than 64 leaves."""
    n = len(leaf)
    ends = np.append(first[1:], n) if len(first) else first
    leaves_before = np.concatenate([[0], np.cumsum(leaf)])  # leaves among nodes [0, i)
    split = ~leaf
    split[0] = False  # node 0: the padding leaf
    tree_of = np.searchsorted(first, np.arange(n), side="right") - 1
    per_tree = leaves_before[ends] - leaves_before[first]
    if len(first) and (per_tree.max() > 64 or len(first) > 65_535):
        return (np.zeros(1, np.uint16), np.zeros(1, np.int32),
                np.zeros(len(first) + 1, np.int32), np.zeros(0, np.int64))  # fmt: skip
    wide = len(first) and per_tree.max() > 32
    idx = np.flatnonzero(split)
    t = tree_of[idx]
    lo = leaves_before[idx + 1] - leaves_before[first[t]]  # first leaf of the left subtree
    count = leaves_before[idx + right[idx]] - leaves_before[idx + 1]
    left = ((np.left_shift(np.uint64(1), count.astype(np.uint64)) - np.uint64(1))
            << lo.astype(np.uint64))  # fmt: skip
    left = np.where(count >= 64, np.uint64(0xFFFFFFFFFFFFFFFF), left)
    mask = left.astype(np.uint64 if wide else np.uint32)
    start = np.searchsorted(t, np.arange(len(first) + 1), side="left").astype(np.int32)
    test = (rank[idx] | (slot[idx] << 8)).astype(np.uint16)
    dtype = np.int64 if wide else np.int32
    if not len(idx):  # C has no empty arrays
        return np.zeros(1, np.uint16), np.zeros(1, dtype), start, t
    return test, mask.view(dtype), start, t


def _by_feature(test: np.ndarray, left: np.ndarray, tree: np.ndarray, threshold_start: list,
                slot_feature: list, slot_base: list) -> tuple:  # fmt: skip
    """The splits of ``_bitmasks`` by (feature, threshold rank) for one row: each one's tree
    and the leaves it keeps when its test fails, and per feature and rank where they start."""
    n_starts = threshold_start[-1] + N_FEATURES
    if not len(tree):  # no bit masks (or no splits at all)
        return np.zeros(1, np.uint16), left[:1].copy(), np.zeros(n_starts, np.int32)
    slot = test.astype(np.int64) >> 8
    feature = np.asarray(slot_feature, dtype=np.int64)[slot]
    k = (test.astype(np.int64) & 0xFF) + np.asarray(slot_base, dtype=np.int64)[slot]
    order = np.lexsort((k, feature))
    key = feature[order] * (1 << 32) + k[order]
    sizes = np.diff(threshold_start) + 1  # ranks 0..n of each feature
    want = np.concatenate([f * (1 << 32) + np.arange(n) for f, n in enumerate(sizes)])
    start = np.searchsorted(key, want, side="left").astype(np.int32)
    return tree[order].astype(np.uint16), ~left[order], start


def predict_packed(forest: PackedForest, X: np.ndarray) -> np.ndarray:
    """The kernel's arithmetic in numpy (reference for tests; slow)."""
    X = np.where(np.isnan(X), 0.0, X).astype(np.float32)
    start = forest.threshold_start
    rank = np.stack([np.searchsorted(forest.thresholds[start[f] : start[f + 1]], X[:, f])
                     for f in range(N_FEATURES)], 1)  # fmt: skip
    x = np.zeros((len(X), LEAF_SLOT + 1), dtype=np.int64)
    x[:, : len(forest.slot_feature)] = np.clip(
        rank[:, forest.slot_feature] - forest.slot_base, 0, SLOT_WIDTH
    )
    x[:, LEAF_SLOT] = LEAF_RANK
    w = forest.words.astype(np.int64)
    out = np.zeros((len(X), forest.slots[-1].start + forest.slots[-1].width))
    rows = np.arange(len(X))
    for g, steps in enumerate(forest.steps.tolist()):
        for j in range(GROUP):
            n = np.full(len(X), forest.roots[g * GROUP + j], dtype=np.int64)
            for _ in range(steps):
                word = w[n]
                offset = ((word >> 16) ^ 0x8000) - 0x8000
                go_right = (word & 0xFF) < x[rows, (word >> 8) & 0xFF]
                n = n + 1 + np.where(go_right, offset, 0)
            base = forest.leaf_base[g * GROUP + j]
            out[:, forest.columns[g * GROUP + j]] += forest.values[base + (w[n] & 0xFF)]
    return out


# This module is included into the rendered repos through Jinja (copier): C braces are built by
# concatenation so the source never holds a Jinja delimiter (two opening braces in a row).
def _braced(body: str) -> str:
    return "{" + body + "}"


def _c_array(name: str, ctype: str, values: list, fmt=str) -> str:
    return f"const {ctype} {name}[] = " + _braced(",".join(map(fmt, values))) + ";\n"


def _hex(words: np.ndarray, braced: bool = False) -> str:
    # hexadecimal integers: exact for the float bits, and fast for the C compiler
    items = (f"0x{w:x}" for w in words.tolist())
    return ",".join(_braced(i) for i in items) if braced else ",".join(items)


WORDS_FILE = "remedy_forest_words.bin"
VALUES_FILE = "remedy_forest_values.bin"
MASKS_FILE = "remedy_forest_masks.bin"
TESTS_FILE = "remedy_forest_tests.bin"
Q1_TREE_FILE = "remedy_forest_q1_trees.bin"
Q1_KEEP_FILE = "remedy_forest_q1_keep.bin"

# The node words and leaf values (megabytes) are assembled into the library straight from binary
# files: as C initialisers the compiler spends tens of seconds parsing them. ELF (Linux: Lambda,
# SageMaker, CodeBuild) and Mach-O spell the read-only section and symbol names differently.
_INCBIN = r"""
#if defined(__APPLE__)
#define RF_RODATA ".const_data"
#define RF_SYM(name) "_" name
#else
#define RF_RODATA ".section .rodata"
#define RF_SYM(name) name
#endif
#define RF_INCBIN(name, file) RF_RODATA "\n.balign 64\n.globl " RF_SYM(name) "\n.hidden " \
  RF_SYM(name) "\n" RF_SYM(name) ":\n.incbin \"" file "\"\n.text\n"
__asm__(RF_INCBIN("RF_WORDS", "WORDS_FILE"));
__asm__(RF_INCBIN("RF_VALUES", "VALUES_FILE"));
__asm__(RF_INCBIN("RF_QS_LEFT", "MASKS_FILE"));
__asm__(RF_INCBIN("RF_QS_TEST", "TESTS_FILE"));
__asm__(RF_INCBIN("RF_Q1_TREE", "Q1_TREE_FILE"));
__asm__(RF_INCBIN("RF_Q1_KEEP", "Q1_KEEP_FILE"));
""".replace("WORDS_FILE", WORDS_FILE).replace("VALUES_FILE", VALUES_FILE)
_INCBIN = (
    _INCBIN.replace("MASKS_FILE", MASKS_FILE)
    .replace("TESTS_FILE", TESTS_FILE)
    .replace("Q1_TREE_FILE", Q1_TREE_FILE)
    .replace("Q1_KEEP_FILE", Q1_KEEP_FILE)
)


def c_source(forest: PackedForest, model_id: str) -> str:
    """The one C translation unit: kernel + the small tables as constant arrays; the node words
    and leaf values come from ``WORDS_FILE``/``VALUES_FILE`` (``blobs``) next to it, included
    by the assembler."""
    n_targets = forest.slots[-1].start + forest.slots[-1].width
    wide = forest.qs_mask.dtype == np.int64
    return "".join(
        [
            f"#define RF_QS_WIDE {int(wide)}\n#define RF_QS_TREES {max(1, forest.n_trees)}\n",
            KERNEL,
            kernel_qs(),
            _INCBIN,
            "const union rf_thr RF_THRESHOLDS[] = "
            + _braced(_hex(forest.thresholds.view(np.uint32), braced=True))
            + ";\n",
            _c_array("RF_THRESHOLD_START", "int32_t", forest.threshold_start.tolist()),
            _c_array("RF_SLOT_FEATURE", "int32_t", forest.slot_feature.tolist()),
            _c_array("RF_SLOT_BASE", "int32_t", forest.slot_base.tolist()),
            _c_array("RF_ROOTS", "int32_t", forest.roots.tolist()),
            _c_array("RF_LEAF_BASE", "int32_t", forest.leaf_base.tolist()),
            _c_array("RF_COLUMNS", "uint16_t", forest.columns.tolist()),
            _c_array("RF_STEPS", "uint8_t", forest.steps.tolist()),
            _c_array("RF_QS_START", "int32_t", forest.qs_start.tolist()),
            _c_array("RF_Q1_START", "int32_t", forest.q1_start.tolist()),
            f"const int32_t RF_QS_NT = {forest.n_trees if forest.qs_start[-1] else 0};\n",
            f"const int32_t RF_NGROUPS = {len(forest.steps)}, RF_NF = {N_FEATURES}, "
            f"RF_NT = {n_targets}, RF_NSLOTS = {len(forest.slot_feature)}, "
            f"RF_NWORDS = {len(forest.words)};\n",
            f'const char RF_MODEL_ID[] = "{model_id}";\n',
        ]
    )


def blobs(forest: PackedForest) -> dict[str, bytes]:
    """The node words, leaf values and bit-mask tables as the library holds them
    (little-endian: both Lambda architectures, x86_64 and arm64)."""

    def le(a: np.ndarray) -> bytes:
        return a.astype(a.dtype.newbyteorder("<")).tobytes()

    return {WORDS_FILE: le(forest.words), VALUES_FILE: le(forest.values),
            MASKS_FILE: le(forest.qs_mask), TESTS_FILE: le(forest.qs_test),
            Q1_TREE_FILE: le(forest.q1_tree), Q1_KEEP_FILE: le(forest.q1_keep)}  # fmt: skip


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
    digest.update(kernel_qs().encode())
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


def build_library(forest: PackedForest, mid: str, target: Path, cc: str) -> Path:
    """Write the C source of ``forest`` and compile it into the shared library ``target``."""
    with tempfile.TemporaryDirectory(prefix="remedy-forest-") as tmp:
        src = Path(tmp) / "remedy_forest.c"
        src.write_text(c_source(forest, mid))
        for name, data in blobs(forest).items():
            (Path(tmp) / name).write_bytes(data)
        lib_tmp = Path(tmp) / LIBRARY
        proc = subprocess.run(  # noqa: S603 - fixed flags, paths we created
            [cc, *CFLAGS, "-o", str(lib_tmp), str(src)],
            capture_output=True,
            text=True,
            check=False,
            cwd=tmp,  # the assembler finds the .incbin files here
        )
        if proc.returncode != 0:
            raise ForestError(f"{cc} failed ({proc.returncode}): {proc.stderr[-2000:]}")
        shutil.move(str(lib_tmp), target)
    return target


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
    t0 = time.perf_counter()
    build_library(forest, mid, out / LIBRARY, cc_path)
    cc_s = time.perf_counter() - t0
    layout = {
        "format": FOREST_FORMAT,
        "abi": ABI_VERSION,
        "model_id": mid,
        "features_version": FEATURES_VERSION,
        "n_features": N_FEATURES,
        "n_targets": forest.slots[-1].start + forest.slots[-1].width,
        "slots": [asdict(s) for s in forest.slots],
        "trees": forest.n_trees,
        "nodes": forest.n_nodes,
        "words": len(forest.words),
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
