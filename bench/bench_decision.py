"""Remedy decision benchmark: the compiled serving path against the naive path, in one run.

Measures, on this machine, with the same claims and the same bundle (all heads of the 14 model
families, LightGBM boosters of ``--rounds`` trees, merged into one ONNX graph):

1. single decision, in-process: encode + all models + rules -> ``Decision``
   - fast:  ``encode_claim`` (no pandas) -> ONE onnxruntime session -> ``decide``
   - naive: the training library's per-model ``Booster.predict`` (one call per head) -> ``decide``
   p50/p99 of each and the ratio. Market evidence is fetched beforehand (it is an external call
   in production, made in parallel with the model call; not part of "encode + models + rules").
2. batch throughput (claims/s): ``encode_claims`` -> one ``session.run`` per chunk -> vectorised
   rules (``rules.economic_batch``, property-tested equal to the scalar rules); 1 process and
   ``--workers`` processes (one session each).
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
import socket
import sys
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

from remedy_core.bundle import HEADS, load_bundle, to_outputs  # noqa: E402
from remedy_core.claims import Claim  # noqa: E402
from remedy_core.decision import decide  # noqa: E402
from remedy_core.features import encode_claim, encode_claims  # noqa: E402
from remedy_core.rules import RECOMMENDATIONS, RuleConfig, economic_batch  # noqa: E402
from remedy_core.synthetic import frame_to_claims, generate_claims  # noqa: E402
from remedy_core.valuation import ValuationRequest, choose_pav  # noqa: E402
from remedy_inference.compiled import CompiledBundle  # noqa: E402

CONFIG = RuleConfig()


def percentiles(samples_s: list[float]) -> tuple[float, float]:
    ms = np.asarray(samples_s) * 1000.0
    return float(np.percentile(ms, 50)), float(np.percentile(ms, 99))


def ensure_bundle(path: Path, rounds: int, claims: int) -> Path:
    if (path / "manifest.json").is_file():
        return path
    from remedy_training.demo_bundle import build_demo_bundle

    print(f"building bundle ({claims} claims, {rounds} trees per head) in {path} ...", flush=True)
    started = time.perf_counter()
    build_demo_bundle(path, claims=claims, rounds=rounds, seed=0)
    print(f"  built in {time.perf_counter() - started:.0f} s", flush=True)
    return path


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


def single(bundle, compiled, claims: list[Claim], markets: list, repeats: int) -> dict:
    naive_predict = naive_models(bundle)
    paths = {
        "fast": compiled.predict_one,  # one tree-ensemble node, float post-processing
        "session": bundle.predict_one,  # the bundle's merged graph (one node per head)
        "naive": naive_predict,  # LightGBM per head
    }

    def run(path: str, c: Claim, m) -> str:
        out = paths[path](encode_claim(c))
        return decide(c, out, m, config=CONFIG, decision_id="bench").recommendation

    for c, m in zip(claims[:30], markets[:30], strict=True):  # warm up every path
        for path in paths:
            run(path, c, m)
    times: dict[str, list[float]] = {p: [] for p in paths}
    cpu: dict[str, list[float]] = {p: [] for p in paths}
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
    return result


# --- 2. batch ---------------------------------------------------------------------------------
def batch_columns(claims: list[Claim], markets: list) -> dict[str, np.ndarray]:
    """Per-claim facts the rules need that do not come from the models (fetched beforehand)."""
    pav = []
    for m in markets:
        p = choose_pav(m, None, min_comparables=CONFIG.min_comparables,
                       model_max_spread=CONFIG.model_pav_max_spread,
                       disagreement_flag=CONFIG.pav_disagreement_flag)  # fmt: skip
        pav.append(np.nan if p.value is None else p.value)
    acc = [c.accident for c in claims]
    return {
        "pav": np.asarray(pav, dtype=float),
        "drivable": np.array([a.drivable for a in acc]),
        "fire": np.array([a.fire for a in acc]),
        "flood": np.array([a.flood for a in acc]),
        "special": np.array([c.vehicle.classic or c.vehicle.modified for c in claims]),
        "missing": np.array([not a.zones_hit for a in acc]),
    }


def batch_decide(model, claims: list[Claim], cols: dict[str, np.ndarray], chunk: int) -> np.ndarray:
    out = np.empty(len(claims), dtype=np.int8)
    for start in range(0, len(claims), chunk):
        sl = slice(start, start + chunk)
        X = encode_claims(claims[sl])
        v = model.predict_raw(X)
        cat = v["salvage_category"]
        p_ab = (cat[:, 0] + cat[:, 1]) / cat.sum(1)
        p10, p50, p90 = np.sort(np.stack([v["repair_cost_p10"], v["repair_cost_p50"],
                                          v["repair_cost_p90"]], 1), 1).T  # fmt: skip
        out[sl] = economic_batch(
            CONFIG, p10=p10, p50=p50, p90=p90, supplement_rate=v["supplement_rate"],
            hire_days=v["hire_days"], salvage_value=v["salvage_value"], pav=cols["pav"][sl],
            drivable=cols["drivable"][sl], p_ab=p_ab, fire=cols["fire"][sl],
            flood=cols["flood"][sl], special=cols["special"][sl], missing=cols["missing"][sl],
        )  # fmt: skip
    return out


def _worker(args: tuple[str, list[dict], dict, int]) -> tuple[int, float]:
    bundle_dir, raw_claims, cols, chunk = args
    bundle = CompiledBundle(load_bundle(bundle_dir))
    claims = [Claim.model_validate(c) for c in raw_claims]
    batch_decide(bundle, claims[:chunk], {k: v[:chunk] for k, v in cols.items()}, chunk)  # warm
    c0, t0 = time.process_time(), time.perf_counter()
    batch_decide(bundle, claims, cols, chunk)
    return len(claims), time.perf_counter() - t0, time.process_time() - c0


def batch(bundle, bundle_dir: Path, claims, markets, workers: int, chunk: int) -> dict:
    """``bundle`` is the CompiledBundle."""
    cols = batch_columns(claims, markets)
    batch_decide(bundle, claims[:chunk], {k: v[:chunk] for k, v in cols.items()}, chunk)  # warm
    c0, t0 = time.process_time(), time.perf_counter()
    recs = batch_decide(bundle, claims, cols, chunk)
    one = len(claims) / (time.perf_counter() - t0)
    one_cpu = len(claims) / (time.process_time() - c0)
    # equality with the scalar path on a sample
    sample = range(0, len(claims), max(1, len(claims) // 300))
    same = sum(
        RECOMMENDATIONS[recs[i]]
        == decide(
            claims[i],
            bundle.predict_one(encode_claim(claims[i])),
            markets[i],
            config=CONFIG,
            decision_id="b",
        ).recommendation
        for i in sample
    ) / len(sample)
    parts = np.array_split(np.arange(len(claims)), workers)
    jobs = [
        (str(bundle_dir), [claims[i].model_dump(mode="json") for i in idx],
         {k: v[idx] for k, v in cols.items()}, chunk)
        for idx in parts
    ]  # fmt: skip
    ctx = mp.get_context("spawn")
    with ctx.Pool(workers) as pool:
        started = time.perf_counter()
        done = pool.map(_worker, jobs)
        wall = time.perf_counter() - started
    total = sum(n for n, _, _ in done)
    slowest = max(s for _, s, _ in done)
    per_cpu_second = total / sum(c for _, _, c in done)
    counts = {r: int((recs == i).sum()) for i, r in enumerate(RECOMMENDATIONS)}
    return {
        "claims": len(claims),
        "claims_per_s_1_process": one,
        "claims_per_cpu_second": one_cpu,
        f"claims_per_cpu_second_{workers}_processes": per_cpu_second,
        f"claims_per_s_{workers}_processes": total / slowest,
        f"claims_per_s_{workers}_processes_incl_pool_start": total / wall,
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
    parser.add_argument("--api-requests", type=int, default=400)
    parser.add_argument("--api-rate", type=float, default=50.0)
    parser.add_argument("--json", type=Path, default=None, help="also write results here")
    args = parser.parse_args(argv)
    bundle_dir = args.bundle or ROOT / ".mlops" / "bench" / f"bundle-{args.rounds}"
    ensure_bundle(bundle_dir, args.rounds, args.train_claims)
    bundle = load_bundle(bundle_dir)
    trees = {h["name"]: h.get("version") for h in bundle.manifest["heads"]}
    print(
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs (other work shares them)"
    )
    print(f"bundle {bundle.bundle_id}: {len(HEADS)} heads in 14 model families, "
          f"{args.rounds} trees per head; {os.cpu_count()} CPUs, "
          f"python {platform.python_version()}", flush=True)  # fmt: skip
    assert len(trees) == len(HEADS)

    claims = frame_to_claims(generate_claims(max(args.decisions, args.batch_claims), seed=42))
    print(f"fetching market evidence for {len(claims)} claims (not timed) ...", flush=True)
    markets = market_for(claims)

    compiled = CompiledBundle(bundle)
    results = {"single": single(bundle, compiled, claims, markets, args.decisions)}
    s = results["single"]
    print(f"\n1. single decision (encode + all models + rules), {s['decisions']} claims")
    for path, label in (
        ("fast", "compiled (1 tree node)  "),
        ("session", "bundle graph (33 nodes)"),
        ("naive", "LightGBM per head      "),
    ):
        print(
            f"   {label}: p50 {s[f'{path}_p50_ms']:7.3f} ms   p99 {s[f'{path}_p99_ms']:7.3f} ms"
            f"   | CPU p50 {s[f'{path}_cpu_p50_ms']:6.3f} ms  p99 {s[f'{path}_cpu_p99_ms']:6.3f} ms"
        )
    print(
        f"   LightGBM per head, default threads (bundle.native_predict, models only, 30 claims): "
        f"p50 {s['naive_default_threads_p50_ms']:.3f} ms"
    )
    print(
        f"   speed-up at p50: {s['speedup_p50_vs_naive']:.1f}x vs naive (1 thread), "
        f"{s['speedup_p50_vs_naive_default_threads']:.1f}x vs naive (default threads), "
        f"{s['cpu_speedup_p50_vs_naive']:.1f}x in CPU time vs naive (1 thread), "
        f"{s['speedup_p50_vs_session']:.1f}x vs bundle graph;  same recommendation on all paths: "
        f"{s['same_recommendation']:.1%}",
        flush=True,
    )
    results["batch"] = batch(
        compiled, bundle_dir, claims[: args.batch_claims], markets[: args.batch_claims],
        args.workers, args.chunk,
    )  # fmt: skip
    b = results["batch"]
    w = args.workers
    print(
        f"\n2. batch ({b['claims']} claims, chunks of {args.chunk})\n"
        f"   1 process:  {b['claims_per_s_1_process']:,.0f} claims/s "
        f"({b['claims_per_cpu_second']:,.0f} per CPU-second)\n"
        f"   {w} processes: {b[f'claims_per_s_{w}_processes']:,.0f} claims/s "
        f"({b[f'claims_per_s_{w}_processes_incl_pool_start']:,.0f} incl. process start; "
        f"{b[f'claims_per_cpu_second_{w}_processes']:,.0f} per CPU-second)\n"
        f"   vectorised rules == scalar rules on a sample: {b['batch_equals_scalar_rules']:.1%}"
        f"   mix: {b['recommendations']}",
        flush=True,
    )
    if args.api_requests:
        results["api"] = api(compiled, claims, args.api_rate, args.api_requests)
        a = results["api"]
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


def run(quick: bool) -> list[dict]:
    """Rows for `python -m bench`: the decision paths side by side, batch and API numbers."""
    from bench.common import row

    argv = ["--rounds", "300", "--decisions", "1000", "--batch-claims", "20000"]
    if quick:
        argv = ["--rounds", "20", "--train-claims", "1500", "--decisions", "60",
                "--batch-claims", "2000", "--api-requests", "40"]  # fmt: skip
    r = main(argv)
    s, b = r["single"], r["batch"]
    rows = [
        row("decision p50, LightGBM per head (naive)", "baseline", s["naive_p50_ms"], "ms"),
        row(
            "decision p50, bundle ONNX graph",
            "vs naive",
            s["session_p50_ms"],
            "ms",
            s["session_p50_ms"] / s["naive_p50_ms"],
        ),
        row(
            "decision p50, compiled single node",
            "vs naive",
            s["fast_p50_ms"],
            "ms",
            s["fast_p50_ms"] / s["naive_p50_ms"],
        ),
        row(
            "decision p99, compiled single node",
            "vs naive p99",
            s["fast_p99_ms"],
            "ms",
            s["fast_p99_ms"] / s["naive_p99_ms"],
        ),
        row("batch decisions, 1 process", "claims/s", b["claims_per_s_1_process"], "claims/s"),
    ]
    if "api" in r:
        a = r["api"]
        rows.append(row(f"local API p50 at {a['rate_per_s']:.0f}/s", "HTTP", a["p50_ms"], "ms"))
        rows.append(row(f"local API p99 at {a['rate_per_s']:.0f}/s", "HTTP", a["p99_ms"], "ms"))
    return rows


if __name__ == "__main__":
    main()
