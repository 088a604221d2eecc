"""Local load test: the decision API at stepped request rates, then count in == count out.

The decision API runs as it does in local mode: ``python -m remedy_inference.api`` (uvicorn) in a
child process on loopback (``mlops.local.processes.LocalService``), with a real model bundle, the
in-process synthetic market and audit events appended to a JSON-lines file. A Python load
generator (httpx, one thread pool) sends claims open-loop at fixed rates (25/50/100/200 req/s for
a few seconds each; ``quick``: a short 25 and 100 req/s); latency is measured from each request's
*scheduled* send time, so a server that falls behind shows it (no coordinated omission). Hard
caps: requests per step = rate x seconds, a 5 s timeout per request and a time budget per step.

Then the audit lines go through the local analytics stream on embedded AWS (moto server: Logs ->
subscription -> Firehose -> S3) into a DuckDB warehouse, and every decision the API answered must
be there exactly once (event id == decision id). A mismatch fails the benchmark.

Run:  .venv/bin/python bench/bench_load.py [--rates 25,50,100,200] [--seconds 4]
      .venv/bin/python -m bench --only load
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CORE = ROOT / "templates" / "remedy" / "core"
INFERENCE = ROOT / "templates" / "remedy" / "inference"
for _sub in (CORE, INFERENCE / "src"):
    if str(_sub) not in sys.path:
        sys.path.insert(0, str(_sub))
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import row  # noqa: E402

RATES = (25, 50, 100, 200)
QUICK_RATES = (25, 100)
REQUEST_TIMEOUT_S = 5.0
USECASE = "remedy"


@dataclass
class Step:
    rate: float
    seconds: float
    latencies_ms: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    decision_ids: list[str] = field(default_factory=list)
    wall_s: float = 0.0

    @property
    def sent(self) -> int:
        return len(self.latencies_ms) + len(self.errors)

    @property
    def throughput(self) -> float:
        return len(self.latencies_ms) / self.wall_s if self.wall_s else 0.0

    def pct(self, q: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]

    def summary(self) -> dict[str, Any]:
        return {
            "rate": self.rate,
            "requests": self.sent,
            "ok": len(self.latencies_ms),
            "errors": len(self.errors),
            "throughput": round(self.throughput, 1),
            "p50_ms": round(self.pct(50), 2),
            "p99_ms": round(self.pct(99), 2),
            "mean_ms": round(statistics.fmean(self.latencies_ms), 2) if self.latencies_ms else None,
            "first_errors": self.errors[:3],
        }


def bundle_dir(work: Path, prefer_bench_bundle: bool) -> tuple[Path, str]:
    """The benchmark's 300-tree bundle if `make bench` built it, else a tiny real bundle."""
    cached = ROOT / ".mlops" / "bench" / "bundle-300"
    if prefer_bench_bundle and (cached / "manifest.json").is_file():
        return cached, "bench bundle (300 trees per head)"
    spec = importlib.util.spec_from_file_location(
        "_remedy_tiny_bundle", INFERENCE / "tests" / "tiny_bundle.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.build_tiny_bundle(work / "bundle"), "tiny bundle (10 trees per head)"


def claim_bodies(n: int, seed: int = 5) -> list[bytes]:
    from remedy_core.synthetic import frame_to_claims, generate_claims

    claims = frame_to_claims(generate_claims(min(n, 2_000), seed=seed))
    return [c.model_dump_json().encode() for c in claims]


def start_api(work: Path, bundle: Path):
    from mlops.local.embedded_aws import free_port
    from mlops.local.processes import LocalService

    port = free_port()
    env = {
        "PYTHONPATH": f"{CORE}:{INFERENCE / 'src'}",
        "REMEDY_BUNDLE_DIR": str(bundle),
        "REMEDY_AUDIT_FILE": str(work / "decision-audit.jsonl"),
        "REMEDY_PORT": str(port),
        "REMEDY_PSEUDONYMISATION_KEY": "bench-load-pseudonymisation-key",
    }
    service = LocalService(
        "decision API",
        [sys.executable, "-m", "remedy_inference.api"],
        port=port,
        cwd=work,
        env=env,
        log_file=work / "decision-api.log",
    )
    return service.start()


def run_step(
    client, url: str, bodies: list[bytes], rate: float, seconds: float, offset: int
) -> Step:
    """Open loop: request i is due at start + i / rate; latency counts from that due time."""
    step = Step(rate, seconds)
    total = int(rate * seconds)  # hard cap on requests
    lock = threading.Lock()
    headers = {"content-type": "application/json"}

    def one(i: int, due: float) -> None:
        body = bodies[(offset + i) % len(bodies)]
        try:
            response = client.post(url, content=body, headers=headers)
            done = time.perf_counter()
            if response.status_code != 200:
                with lock:
                    step.errors.append(f"HTTP {response.status_code}: {response.text[:120]}")
                return
            decision_id = response.json()["decision_id"]
        except Exception as exc:  # timeouts, resets: an error, never a crash of the generator
            with lock:
                step.errors.append(f"{type(exc).__name__}: {exc}"[:160])
            return
        with lock:
            step.latencies_ms.append((done - due) * 1000.0)
            step.decision_ids.append(decision_id)

    workers = max(8, min(64, int(rate // 2)))
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="load") as pool:
        for i in range(total):
            due = start + i / rate
            delay = due - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            pool.submit(one, i, due)
    step.wall_s = time.perf_counter() - start
    return step


def count_in_warehouse(audit_file: Path, work: Path) -> dict[str, Any]:
    """Ship the audit lines Logs -> Firehose -> S3 on embedded AWS, load DuckDB, count."""
    from remedy_core.events import REGISTRY

    from mlops.analytics.warehouse import Warehouse
    from mlops.local.analytics_stream import LocalAnalyticsStream, clients, stream_names
    from mlops.local.embedded_aws import EmbeddedAWS
    from mlops.local.environment import provision
    from mlops.local.shipper import LogShipper

    started = time.perf_counter()
    with EmbeddedAWS(log_file=work / "moto.log") as aws:
        platform = provision(aws, USECASE)
        stream = LocalAnalyticsStream(
            clients(aws.endpoint_url, aws.region),
            stream_names(platform.ctx, USECASE),
            events=REGISTRY,
        )
        stream.provision()
        shipped = LogShipper(audit_file, stream, batch_size=500).ship()
        with Warehouse(work / "warehouse.duckdb", events=REGISTRY) as wh:
            loaded = stream.refresh(wh)
            ids = [r[0] for r in wh.con.execute("SELECT event_id FROM decision_events").fetchall()]
    return {
        "lines_shipped": shipped.shipped,
        "ship_error": shipped.error,
        "objects_loaded": loaded.objects_loaded,
        "rejected": loaded.rejected,
        "duplicates": loaded.duplicates,
        "event_ids": ids,
        "seconds": round(time.perf_counter() - started, 2),
    }


def load_test(
    rates: tuple[float, ...] = RATES,
    seconds: float = 4.0,
    *,
    prefer_bench_bundle: bool = True,
    work: Path | None = None,
) -> dict[str, Any]:
    """Run every step, then check the warehouse. Returns the numbers (no assertion here)."""
    import httpx

    with tempfile.TemporaryDirectory(prefix="bench-load-") as tmp:
        work = work or Path(tmp)
        bundle, bundle_note = bundle_dir(work, prefer_bench_bundle)
        bodies = claim_bodies(int(max(rates) * seconds))
        api = start_api(work, bundle)
        steps: list[Step] = []
        try:
            limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
            with httpx.Client(timeout=REQUEST_TIMEOUT_S, limits=limits) as client:
                url = api.url + "/v1/decisions"
                for body in bodies[:20]:  # warm-up (not counted, but audited)
                    client.post(url, content=body, headers={"content-type": "application/json"})
                warm_ids = 20
                sent = 0
                for rate in rates:
                    steps.append(run_step(client, url, bodies, rate, seconds, sent))
                    sent += steps[-1].sent
        finally:
            api.stop()
        audit_file = work / "decision-audit.jsonl"
        written = [json.loads(line)["event_id"] for line in audit_file.read_text().splitlines()]
        answered = [i for s in steps for i in s.decision_ids]
        warehouse = count_in_warehouse(audit_file, work)
        stored = warehouse.pop("event_ids")
        return {
            "bundle": bundle_note,
            "seconds_per_step": seconds,
            "steps": [s.summary() for s in steps],
            "answered": len(answered),
            "audit_lines": len(written),
            "warm_up": warm_ids,
            "warehouse_rows": len(stored),
            "answered_all_stored_once": sorted(set(answered) & set(stored)) == sorted(answered)
            and len(set(stored)) == len(stored),
            "count_in_equals_count_out": sorted(stored) == sorted(written),
            **{f"warehouse_{k}": v for k, v in warehouse.items()},
        }


def rows_from(result: dict[str, Any]) -> list[dict[str, Any]]:
    steps = result["steps"]
    base = steps[0]
    out = []
    for s in steps:
        rate = s["rate"]
        out += [
            row(f"local API {rate:.0f} req/s: throughput", f"offered {rate:.0f} req/s",
                s["throughput"], "req/s", s["throughput"] / rate),
            row(f"local API {rate:.0f} req/s: p50", f"vs p50 at {base['rate']:.0f} req/s",
                s["p50_ms"], "ms", None if s is base else s["p50_ms"] / base["p50_ms"]),
            row(f"local API {rate:.0f} req/s: p99", f"vs p99 at {base['rate']:.0f} req/s",
                s["p99_ms"], "ms", None if s is base else s["p99_ms"] / base["p99_ms"]),
            row(f"local API {rate:.0f} req/s: errors", f"of {s['requests']} requests",
                s["errors"], "count", s["errors"] / max(1, s["requests"])),
        ]  # fmt: skip
    out.append(
        row(
            "warehouse decision rows (count out)",
            f"audit lines written (count in): {result['audit_lines']}",
            result["warehouse_rows"],
            "rows",
            result["warehouse_rows"] / max(1, result["audit_lines"]),
            note=result["bundle"],
        )
    )
    return out


def run(quick: bool) -> list[dict[str, Any]]:
    result = (
        load_test(QUICK_RATES, 1.5, prefer_bench_bundle=False) if quick else load_test(RATES, 4.0)
    )
    if not (result["count_in_equals_count_out"] and result["answered_all_stored_once"]):
        raise RuntimeError(
            f"decisions lost or duplicated: {result['audit_lines']} audit lines, "
            f"{result['answered']} answered, {result['warehouse_rows']} warehouse rows"
        )
    return rows_from(result)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rates", default=",".join(str(r) for r in RATES))
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--tiny", action="store_true", help="use the tiny bundle")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    rates = tuple(float(r) for r in args.rates.split(","))
    result = load_test(rates, args.seconds, prefer_bench_bundle=not args.tiny)
    print(f"decision API (uvicorn child process, loopback), {result['bundle']}, "
          f"{args.seconds:g} s per step")  # fmt: skip
    print(f"{'rate':>6} {'sent':>6} {'ok':>6} {'err':>4} {'req/s':>7} {'p50 ms':>8} {'p99 ms':>8}")
    for s in result["steps"]:
        print(f"{s['rate']:>6.0f} {s['requests']:>6} {s['ok']:>6} {s['errors']:>4} "
              f"{s['throughput']:>7.1f} {s['p50_ms']:>8.2f} {s['p99_ms']:>8.2f}")  # fmt: skip
    print(
        f"count in (audit lines) {result['audit_lines']} = answered {result['answered']} + "
        f"warm-up {result['warm_up']}; count out (warehouse rows) {result['warehouse_rows']}; "
        f"equal: {result['count_in_equals_count_out']}; duplicates dropped "
        f"{result['warehouse_duplicates']}, rejected {result['warehouse_rejected']}"
    )
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
