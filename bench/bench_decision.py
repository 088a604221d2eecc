"""Remedy decision benchmark: every serving path side by side, in one run.

Measures, on this machine, with the same claims and the same bundle (all heads of the 14 model
families, LightGBM boosters of ``--rounds`` trees; ONNX graph + the compiled module):

0. cold start and size: the Lambda function package + dependency layer are built
   (``remedy_inference.handlers.package``) and each serving entry point (encode, market, decide,
   the endpoint's inference script) is imported ``--cold-runs`` times in a clean interpreter
   (``python -S -X importtime``, only the package + layer on ``sys.path``): median ms.
   Compile time of the bundle's one native module: from scratch, and from the model-id cache.
1. single decision, in-process: encode + all models + rules -> ``Decision``, per path:
   - native:  ``encode_claim`` -> the compiled module (``remedy_core.forest``, ctypes) -> ``decide``
   - onnx:    the same with the single-node ONNX graph (the portable fallback)
   - session: the bundle's merged ONNX graph (one node per head)
   - naive:   the training library's per-model ``Booster.predict`` (one call per head, 1 thread)
   p50/p99 of each (wall and thread CPU time), the models alone per path, and ratios to naive.
   Market evidence is fetched beforehand (an external call in production, made in parallel with
   the model call; not part of "encode + models + rules").
2. batch throughput: ``encode_frame`` (vectorised features) -> the compiled module per chunk ->
   vectorised rules (``rules.economic_batch``, property-tested equal to the scalar rules):
   claims per CPU-second of one process, and the wall throughput of ``--workers`` processes
   against one process, both in spawned workers at the same time in this run.
3. local API: POST /v1/decisions over HTTP (uvicorn, in-process synthetic market) at a fixed
   request rate: p50/p99.

Run:  .venv/bin/python bench/bench_decision.py [--bundle DIR] [--rounds 300]
The bundle is built (and cached under .mlops/bench/) on first use.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
for sub in (
    "templates/remedy/core",
    "templates/remedy/training/src",
    "templates/remedy/inference/src",
):
    sys.path.insert(0, str(ROOT / sub))

from remedy_core.batch import claim_columns, decide_batch  # noqa: E402
from remedy_core.bundle import HEADS, load_bundle, to_outputs  # noqa: E402
from remedy_core.claims import Claim  # noqa: E402
from remedy_core.decision import decide  # noqa: E402
from remedy_core.features import encode_claim  # noqa: E402
from remedy_core.rules import RECOMMENDATIONS, RuleConfig  # noqa: E402
from remedy_core.synthetic import REQUEST_COLUMNS, frame_to_claims, generate_claims  # noqa: E402
from remedy_core.valuation import ValuationRequest  # noqa: E402
from remedy_inference.compiled import CompiledBundle  # noqa: E402

CONFIG = RuleConfig()
ENTRY_POINTS = {
    "encode handler": "remedy_inference.handlers.encode",
    "market handler": "remedy_inference.handlers.market",
    "decide handler": "remedy_inference.handlers.decide",
    "endpoint inference script": "remedy_inference.inference",
}


def percentiles(samples_s: list[float]) -> tuple[float, float]:
    ms = np.asarray(samples_s) * 1000.0
    return float(np.percentile(ms, 50)), float(np.percentile(ms, 99))


def ensure_bundle(path: Path, rounds: int, claims: int) -> Path:
    from remedy_training.compile import compile_model

    if not (path / "manifest.json").is_file():
        from remedy_training.demo_bundle import build_demo_bundle

        print(f"building bundle ({claims} claims, {rounds} trees per head) in {path} ...",
              flush=True)  # fmt: skip
        started = time.perf_counter()
        build_demo_bundle(path, claims=claims, rounds=rounds, seed=0)
        print(f"  built in {time.perf_counter() - started:.0f} s", flush=True)
    compile_model(path, required=True)  # the training pipeline's step (cached by model id)
    return path


# --- 0. cold start, package size, compile time ------------------------------------------------
def import_ms(stderr: str, module: str) -> float:
    """The cumulative import time of ``module`` from ``python -X importtime`` output (ms)."""
    for line in reversed(stderr.splitlines()):
        parts = [p.strip() for p in line.split("|")]
        if len(parts) == 3 and parts[2] == module and parts[1].isdigit():
            return int(parts[1]) / 1000.0
    raise ValueError(f"no importtime line for {module}: {stderr[-500:]}")


def cold_start(runs: int, out_dir: Path) -> dict:
    """Build the Lambda package + layer, import each entry point in clean interpreters."""
    from remedy_inference.handlers import package

    # built for this machine (imported here); the deploy builds the same for the functions' arch
    here = f"python{sys.version_info.major}.{sys.version_info.minor}"
    arch = "arm64" if platform.machine().lower() in ("aarch64", "arm64") else "x86_64"
    function = package.build_function(out_dir / "function", runtime=here)
    layer = package.build_layer(out_dir / "layer", arch, here)
    result: dict = {
        "function_mb": package.size_mb(function),
        "layer_mb": package.size_mb(layer),
        "limit_mb": package.LIMIT_MB,
        "layer_distributions": sorted(d.metadata["Name"] for d in package.closure()),
    }
    for label, module in ENTRY_POINTS.items():
        code = f"import sys; sys.path[:0] = [{str(function)!r}, {str(layer)!r}]; import {module}"
        samples = []
        for _ in range(runs):
            proc = subprocess.run([sys.executable, "-S", "-X", "importtime", "-c", code],
                                  capture_output=True, text=True, check=True)  # fmt: skip
            samples.append(import_ms(proc.stderr, module))
        result[label] = {"median_ms": statistics.median(samples), "min_ms": min(samples),
                         "samples_ms": samples}  # fmt: skip
    return result


def compile_times(bundle_dir: Path) -> dict:
    """The compile step from scratch (no cache) and again from the model-id cache."""
    from remedy_training.compile import compile_model

    with tempfile.TemporaryDirectory(prefix="remedy-compile-") as tmp:
        copy = Path(tmp) / "bundle"
        shutil.copytree(bundle_dir, copy, ignore=shutil.ignore_patterns("compiled", "*.onnx"))
        fresh = compile_model(copy, cache_dir=Path(tmp) / "cache", required=True)
        shutil.rmtree(copy / "compiled")
        cached = compile_model(copy, cache_dir=Path(tmp) / "cache", required=True)
    layout = fresh.layout or {}
    return {"fresh_s": fresh.seconds, "cached_s": cached.seconds, "cache_hit": cached.cached,
            "phases_s": layout.get("seconds", {}), "trees": layout.get("trees"),
            "nodes": layout.get("nodes"), "compiler": layout.get("compiler", {})}  # fmt: skip


def market_for(claims: list[Claim]) -> list:
    from remedy_inference.market_data import SyntheticMarket

    source = SyntheticMarket()
    return [source.lookup(ValuationRequest.from_claim(c)) for c in claims]


# --- 1. single decision ---------------------------------------------------------------------
def naive_models(bundle):
    """The training library's path: one LightGBM ``Booster.predict`` per head (1 thread each:
    LightGBM's default thread pool only adds contention for one row)."""
    import lightgbm as lgb
    from remedy_core.bundle import postprocess

    boosters = {
        h.name: (h, lgb.Booster(model_file=str(bundle.path / "lightgbm" / f"{h.name}.txt")))
        for h in HEADS
    }

    def predict_one(vec: np.ndarray):
        X = vec.reshape(1, -1)
        values = {
            n: postprocess(h, b.predict(X, num_threads=1), X) for n, (h, b) in boosters.items()
        }
        return to_outputs(values, bundle.versions)[0]

    return predict_one


PATHS = ("fast", "onnx", "session", "naive")


def single(bundle, compiled, claims: list[Claim], markets: list, repeats: int) -> dict:
    """``compiled`` is the native CompiledBundle; the others are built here."""
    onnx_node = CompiledBundle(bundle, backend="onnx")
    paths = {
        "fast": compiled.predict_one,  # the native module: every head in one call
        "onnx": onnx_node.predict_one,  # fallback: one ONNX tree-ensemble node
        "session": bundle.predict_one,  # the bundle's merged graph (one node per head)
        "naive": naive_models(bundle),  # LightGBM per head
    }
    models: dict[str, list[float]] = {p: [] for p in paths}

    def run(path: str, c: Claim, m) -> str:
        vec = encode_claim(c)
        t0 = time.thread_time()
        out = paths[path](vec)
        models[path].append(time.thread_time() - t0)
        return decide(c, out, m, config=CONFIG, decision_id="bench").recommendation

    for c, m in zip(claims[:30], markets[:30], strict=True):  # warm up every path
        for path in paths:
            run(path, c, m)
    times: dict[str, list[float]] = {p: [] for p in paths}
    cpu: dict[str, list[float]] = {p: [] for p in paths}
    models = {p: [] for p in paths}
    agree = 0
    n = min(repeats, len(claims))
    for i in range(n):  # interleaved, so load on the machine hits every path alike
        answers = []
        for path in paths:
            c0, t0 = time.thread_time(), time.perf_counter()
            answers.append(run(path, claims[i], markets[i]))
            times[path].append(time.perf_counter() - t0)
            cpu[path].append(time.thread_time() - c0)
        agree += len(set(answers)) == 1
    result: dict[str, float] = {"decisions": n, "same_recommendation": agree / n}
    for path, samples in times.items():
        result[f"{path}_p50_ms"], result[f"{path}_p99_ms"] = percentiles(samples)
        # CPU time of this thread: what the latency is on an idle core (waiting excluded)
        result[f"{path}_cpu_p50_ms"], result[f"{path}_cpu_p99_ms"] = percentiles(cpu[path])
        # the models alone (every head for one claim), thread CPU time
        result[f"{path}_models_p50_ms"], result[f"{path}_models_p99_ms"] = percentiles(models[path])
    result["models_speedup_p50_vs_naive"] = (
        result["naive_models_p50_ms"] / result["fast_models_p50_ms"]
    )
    # The bundle's own ``native_predict`` (LightGBM's default thread pool per call) on a few claims:
    # the per-model predict exactly as the training library ships it.
    default: list[float] = []
    for c in claims[: min(30, n)]:
        t0 = time.perf_counter()
        X = encode_claim(c).reshape(1, -1)
        to_outputs(bundle.native_predict(X), bundle.versions)
        default.append(time.perf_counter() - t0)
    result["naive_default_threads_p50_ms"], _ = percentiles(default)
    result["speedup_p50_vs_naive"] = result["naive_p50_ms"] / result["fast_p50_ms"]
    result["speedup_p50_vs_naive_default_threads"] = (
        result["naive_default_threads_p50_ms"] / result["fast_p50_ms"]
    )
    result["speedup_p50_vs_session"] = result["session_p50_ms"] / result["fast_p50_ms"]
    result["cpu_speedup_p50_vs_naive"] = result["naive_cpu_p50_ms"] / result["fast_cpu_p50_ms"]
    result["speedup_p50_vs_onnx_node"] = result["onnx_p50_ms"] / result["fast_p50_ms"]
    return result


# --- 2. batch ---------------------------------------------------------------------------------
def batch_columns(claims: list[Claim], markets: list) -> dict[str, np.ndarray]:
    return claim_columns(claims, markets, CONFIG)


def batch_decide(model, frame, cols: dict[str, np.ndarray], chunk: int) -> np.ndarray:
    """Features (vectorised), every head, rules: the backtest's path (remedy_core.batch)."""
    return decide_batch(model, frame, cols, CONFIG, chunk)


SCALING_ROUNDS = 5
"""Timed rounds per worker: this shared machine now and then slows one process for a moment
(its CPU-second rate drops with it), so the scaling is the median of rounds, not one sample."""


def _worker(args: tuple) -> list[tuple[int, float, float]]:
    bundle_dir, frame, cols, chunk, start_at, gap = args
    bundle = CompiledBundle(load_bundle(bundle_dir))
    warm = min(chunk, len(frame))
    batch_decide(bundle, frame.iloc[:warm], {k: v[:warm] for k, v in cols.items()}, chunk)
    rounds = []
    for i in range(SCALING_ROUNDS):
        while time.time() < start_at + i * gap:  # start together: the processes really overlap
            time.sleep(0.001)
        c0, t0 = time.process_time(), time.perf_counter()
        batch_decide(bundle, frame, cols, chunk)
        rounds.append((len(frame), time.perf_counter() - t0, time.process_time() - c0))
    return rounds


def _pool_run(ctx, jobs: list[tuple], gap: float) -> list[list[tuple[int, float, float]]]:
    # one thread per process: the workers are the parallelism (numpy's BLAS/OpenMP pools would
    # compete with the other worker for the same cores); the C kernel releases the GIL (ctypes)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    with ctx.Pool(len(jobs)) as pool:
        start_at = time.time() + 8.0  # after every worker has loaded and warmed up
        return pool.map(_worker, [(*j, start_at, gap) for j in jobs])


def batch(bundle, bundle_dir: Path, frame, claims, markets, workers: int, chunk: int) -> dict:
    """``bundle`` is the native CompiledBundle; ``frame`` the claims as generated (columns)."""
    frame = frame[list(REQUEST_COLUMNS)].reset_index(drop=True)
    cols = batch_columns(claims, markets)
    warm = min(chunk, len(frame))
    batch_decide(bundle, frame.iloc[:warm], {k: v[:warm] for k, v in cols.items()}, chunk)
    c0, t0 = time.process_time(), time.perf_counter()
    recs = batch_decide(bundle, frame, cols, chunk)
    here_wall, here_cpu = time.perf_counter() - t0, time.process_time() - c0
    # equality with the scalar path on a sample
    sample = range(0, len(claims), max(1, len(claims) // 300))
    same = sum(
        RECOMMENDATIONS[recs[i]]
        == decide(claims[i], bundle.predict_one(encode_claim(claims[i])), markets[i],
                  config=CONFIG, decision_id="b").recommendation
        for i in sample
    ) / len(sample)  # fmt: skip
    ctx = mp.get_context("spawn")
    parts = np.array_split(np.arange(len(frame)), workers)
    jobs = [(str(bundle_dir), frame.iloc[idx].reset_index(drop=True),
             {k: v[idx] for k, v in cols.items()}, chunk) for idx in parts]  # fmt: skip
    # one process on one part, then all parts at once: the same work per process, each in
    # SCALING_ROUNDS rounds started together (a gap of twice the in-process time per part)
    gap = 2.0 * here_wall * len(parts[0]) / len(frame) + 0.2
    (solo,) = _pool_run(ctx, jobs[:1], gap)
    together = list(zip(*_pool_run(ctx, jobs, gap), strict=True))  # per round: every worker
    n1 = solo[0][0]
    one_wall = statistics.median(n / w for n, w, _ in solo)
    cpu1 = statistics.median(c for _, _, c in solo)
    many_wall = statistics.median(
        sum(n for n, _, _ in r) / max(w for _, w, _ in r) for r in together
    )
    counts = {r: int((recs == i).sum()) for i, r in enumerate(RECOMMENDATIONS)}
    return {
        "claims": len(frame),
        "claims_per_s_1_process": len(frame) / here_wall,
        "claims_per_cpu_second": len(frame) / here_cpu,
        "worker_claims_per_s_1_process": one_wall,
        "worker_claims_per_cpu_second_1_process": n1 / cpu1,
        f"claims_per_s_{workers}_processes": many_wall,
        f"claims_per_cpu_second_{workers}_processes": statistics.median(
            sum(n for n, _, _ in r) / sum(c for _, _, c in r) for r in together
        ),
        "scaling_rounds": SCALING_ROUNDS,
        f"scaling_{workers}_processes": many_wall / one_wall,
        "batch_equals_scalar_rules": same,
        "recommendations": counts,
    }


# --- 3. local API -------------------------------------------------------------------------------
def api(bundle, claims: list[Claim], rate: float, n: int) -> dict:
    import httpx
    import uvicorn
    from remedy_inference.api import create_app
    from remedy_inference.audit import MemorySink
    from remedy_inference.market_data import SyntheticMarket
    from remedy_inference.service import BundlePredictor, DecisionService

    sink = MemorySink()
    service = DecisionService(
        predictor=BundlePredictor(bundle), valuation=SyntheticMarket(), sink=sink
    )  # bundle: the CompiledBundle
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(create_app(service), host="127.0.0.1", port=port, log_level="error")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    bodies = [c.model_dump(mode="json") for c in claims[:n]]
    latencies: list[float] = []
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
            for b in bodies[:20]:
                client.post("/v1/decisions", json=b)
            sink.events.clear()
            interval = 1.0 / rate
            next_at = time.perf_counter()
            for b in bodies:
                now = time.perf_counter()
                if now < next_at:
                    time.sleep(next_at - now)
                next_at += interval
                t0 = time.perf_counter()
                r = client.post("/v1/decisions", json=b)
                latencies.append(time.perf_counter() - t0)
                r.raise_for_status()
    finally:
        server.should_exit = True
        thread.join(timeout=5)
    p50, p99 = percentiles(latencies)
    return {
        "requests": len(latencies),
        "rate_per_s": rate,
        "p50_ms": p50,
        "p99_ms": p99,
        "audit_events": len(sink.events),
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bundle", type=Path, default=None)
    parser.add_argument("--rounds", type=int, default=300)
    parser.add_argument("--train-claims", type=int, default=6000)
    parser.add_argument("--decisions", type=int, default=2000)
    parser.add_argument("--batch-claims", type=int, default=40_000)
    parser.add_argument("--chunk", type=int, default=4096)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--cold-runs", type=int, default=7)
    parser.add_argument("--api-requests", type=int, default=400)
    parser.add_argument("--api-rate", type=float, default=50.0)
    parser.add_argument("--json", type=Path, default=None, help="also write results here")
    args = parser.parse_args(argv)
    bundle_dir = args.bundle or ROOT / ".mlops" / "bench" / f"bundle-{args.rounds}"
    ensure_bundle(bundle_dir, args.rounds, args.train_claims)
    bundle = load_bundle(bundle_dir)
    print(
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs (other work shares them)"
    )
    print(f"bundle {bundle.bundle_id}: {len(HEADS)} heads in 14 model families, "
          f"{args.rounds} trees per head; {os.cpu_count()} CPUs, "
          f"python {platform.python_version()}", flush=True)  # fmt: skip

    results: dict = {}
    if args.cold_runs:
        results["cold"] = c = cold_start(args.cold_runs, ROOT / ".mlops" / "bench" / "lambda")
        print(f"\n0. cold start (median of {args.cold_runs} clean interpreters, package + layer)")
        for label in ENTRY_POINTS:
            print(f"   {label:28s} import {c[label]['median_ms']:7.1f} ms")
        print(f"   function {c['function_mb']:.1f} MB + layer {c['layer_mb']:.1f} MB unpacked "
              f"(limit {c['limit_mb']:.0f} MB)", flush=True)  # fmt: skip
    results["compile"] = k = compile_times(bundle_dir)
    print(f"   compile every head into one module: {k['fresh_s']:.1f} s fresh "
          f"({k['phases_s']}), {k['cached_s']:.2f} s from the cache", flush=True)  # fmt: skip

    frame = generate_claims(max(args.decisions, args.batch_claims), seed=42)
    claims = frame_to_claims(frame)
    print(f"fetching market evidence for {len(claims)} claims (not timed) ...", flush=True)
    markets = market_for(claims)

    compiled = CompiledBundle(bundle, backend="native")
    results["single"] = s = single(bundle, compiled, claims, markets, args.decisions)
    s["kernels"] = compiled.native.kernels
    print(f"\n1. single decision (encode + all models + rules), {s['decisions']} claims")
    print(f"   native module kernels on this CPU: {s['kernels']}")
    for path, label in (
        ("fast", "native module (1 call)   "),
        ("onnx", "ONNX single node         "),
        ("session", "bundle graph (33 nodes)  "),
        ("naive", "LightGBM per head        "),
    ):
        print(
            f"   {label}: p50 {s[f'{path}_p50_ms']:7.3f} ms   p99 {s[f'{path}_p99_ms']:7.3f} ms"
            f"   | CPU p50 {s[f'{path}_cpu_p50_ms']:6.3f} ms  p99 {s[f'{path}_cpu_p99_ms']:6.3f} ms"
            f"   | models p50 {s[f'{path}_models_p50_ms']:6.3f} ms"
        )
    print(
        f"   speed-up at p50: {s['speedup_p50_vs_naive']:.1f}x vs naive (1 thread), models alone "
        f"{s['models_speedup_p50_vs_naive']:.1f}x; {s['speedup_p50_vs_onnx_node']:.1f}x vs the "
        f"ONNX node; same recommendation on all paths: {s['same_recommendation']:.1%}",
        flush=True,
    )
    n = args.batch_claims
    results["batch"] = b = batch(compiled, bundle_dir, frame.iloc[:n], claims[:n], markets[:n],
                                 args.workers, args.chunk)  # fmt: skip
    w = args.workers
    print(
        f"\n2. batch ({b['claims']} claims, chunks of {args.chunk})\n"
        f"   1 process:  {b['claims_per_s_1_process']:,.0f} claims/s "
        f"({b['claims_per_cpu_second']:,.0f} per CPU-second)\n"
        f"   {w} processes: {b[f'claims_per_s_{w}_processes']:,.0f} claims/s, "
        f"{b[f'scaling_{w}_processes']:.2f}x one process in a worker "
        f"({b['worker_claims_per_s_1_process']:,.0f} claims/s)\n"
        f"   vectorised rules == scalar rules on a sample: {b['batch_equals_scalar_rules']:.1%}"
        f"   mix: {b['recommendations']}",
        flush=True,
    )
    if args.api_requests:
        results["api"] = a = api(compiled, claims, args.api_rate, args.api_requests)
        print(
            f"\n3. local API over HTTP, {a['requests']} requests at {a['rate_per_s']:.0f}/s\n"
            f"   p50 {a['p50_ms']:.2f} ms  p99 {a['p99_ms']:.2f} ms   audit events: "
            f"{a['audit_events']}",
            flush=True,
        )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2))
    return results


def rows(r: dict, workers: int = 2) -> list[dict]:
    """The table rows of one run (targets in the notes)."""
    from bench.common import row

    out = []
    if "cold" in r:
        c = r["cold"]
        for label in ENTRY_POINTS:
            out.append(row(f"cold start: {label} import", "python -X importtime, clean",
                           c[label]["median_ms"], "ms", target="<= 300"))  # fmt: skip
        out.append(row("Lambda function package, unpacked", "remedy_inference + remedy_core",
                       c["function_mb"], "MB"))  # fmt: skip
        total = c["function_mb"] + c["layer_mb"]
        out.append(row("Lambda function + dependency layer, unpacked", "limit 250 MB",
                       total, "MB", total / c["limit_mb"], target="<= 60",
                       note="aim (limit 250 MB)"))  # fmt: skip
    k = r["compile"]
    out.append(row(f"compile all heads into one module ({k['trees']} trees)", "from scratch",
                   k["fresh_s"], "s", note="per-model lleaves probe: 695 s"))  # fmt: skip
    out.append(row("compile, same model id again", "vs from scratch", k["cached_s"], "s",
                   k["cached_s"] / k["fresh_s"]))  # fmt: skip
    s = r["single"]
    out.append(row("decision p50, LightGBM per head (naive)", "baseline", s["naive_p50_ms"],
                   "ms"))  # fmt: skip
    for path, label in (("session", "bundle ONNX graph"), ("onnx", "ONNX single node (fallback)"),
                        ("fast", "native module")):  # fmt: skip
        target = "<= 0.5" if path == "fast" else ""
        out.append(row(f"decision p50, {label}", "vs naive", s[f"{path}_p50_ms"], "ms",
                       s[f"{path}_p50_ms"] / s["naive_p50_ms"], target=target))  # fmt: skip
    out.append(row("decision p99, native module", "vs naive p99", s["fast_p99_ms"], "ms",
                   s["fast_p99_ms"] / s["naive_p99_ms"], target="<= 1"))  # fmt: skip
    out.append(row("decision p50 CPU time, native module", "vs naive CPU", s["fast_cpu_p50_ms"],
                   "ms", s["fast_cpu_p50_ms"] / s["naive_cpu_p50_ms"]))  # fmt: skip
    cpu99 = s["fast_cpu_p99_ms"]
    out.append(row("decision p99 CPU time, native module", "vs naive CPU p99", cpu99, "ms",
                   cpu99 / s["naive_cpu_p99_ms"]))  # fmt: skip
    out.append(row("models p50 (all heads, 1 claim), LightGBM per head", "baseline, 1 thread",
                   s["naive_models_p50_ms"], "ms"))  # fmt: skip
    for path, label in (("onnx", "ONNX single node"), ("fast", "native module")):
        ms = s[f"{path}_models_p50_ms"]
        out.append(row(f"models p50 (all heads, 1 claim), {label}", "vs LightGBM per head",
                       ms, "ms", ms / s["naive_models_p50_ms"]))  # fmt: skip
    out.append(row("models speed-up, native module", "LightGBM per head / native, p50",
                   s["naive_models_p50_ms"] / s["fast_models_p50_ms"], "x",
                   target=">= 8"))  # fmt: skip
    b = r["batch"]
    out.append(row("batch decisions, 1 process (features + all heads + rules)",
                   "claims per CPU-second", b["claims_per_cpu_second"], "claims/s",
                   target=">= 20000", note="per core"))  # fmt: skip
    out.append(row("batch decisions, 1 process, wall", "claims/s", b["claims_per_s_1_process"],
                   "claims/s"))  # fmt: skip
    out.append(row(f"batch decisions, {workers} processes, wall", "vs 1 process (same run)",
                   b[f"claims_per_s_{workers}_processes"], "claims/s",
                   b[f"scaling_{workers}_processes"]))  # fmt: skip
    out.append(row(f"batch scaling, {workers} processes",
                   f"vs 1 process in a worker (median of {b['scaling_rounds']} rounds)",
                   b[f"scaling_{workers}_processes"], "x", target=">= 1.8",
                   note="other work on the machine's cores lowers it"))  # fmt: skip
    if "api" in r:
        a = r["api"]
        out.append(row(f"local API p50 at {a['rate_per_s']:.0f}/s", "HTTP", a["p50_ms"], "ms"))
        out.append(row(f"local API p99 at {a['rate_per_s']:.0f}/s", "HTTP", a["p99_ms"], "ms"))
    return out


def run(quick: bool) -> list[dict]:
    """Rows for `python -m bench`: every path side by side, cold start, sizes, batch, API."""
    argv = ["--rounds", "300", "--decisions", "1000", "--batch-claims", "20000"]
    if quick:
        argv = ["--rounds", "20", "--train-claims", "1500", "--decisions", "60",
                "--batch-claims", "2000", "--api-requests", "40", "--cold-runs", "1"]  # fmt: skip
    return rows(main(argv))


if __name__ == "__main__":
    main()
