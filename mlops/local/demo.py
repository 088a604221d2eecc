"""`mlops demo`: the whole Remedy lifecycle on one machine, with no AWS account.

Phases (each shows progress; any failure stops every server it started):
 1. embedded AWS: moto server on a free loopback port, with what the platform provisions for one
    use case (KMS keys, buckets, model package group, Logs → Firehose → S3 stream), named by
    `mlops.naming` exactly as in the cloud;
 2. onboard `remedy` from its template (both repos, git, manifest) into the work folder;
 3. train: the rendered training repo's local pipeline (synthetic data, Optuna TPE tuning in rounds,
    evaluation, gate, registration as PendingManualApproval in the embedded registry);
 4. approve: refused for a data scientist, granted for the lead data scientist (platform IAM);
 5. deploy: valuation service + decision API (+ claims-handler view) on loopback;
 6. replay synthetic claims through the API, with bad requests and a valuation outage;
 7. analytics: ship audit events → Logs → Firehose → S3 → DuckDB;
 8. model health (`mlops.local.monitoring_phase`): a usual and a shifted month (more EVs, parts
    30% dearer) with their claim outcomes; drift per feature and the quality drop detected by the
    Remedy health job; a deliberately worse candidate model rolled back; the dashboard (with its
    model-health page) written;
 9. summary.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlops.errors import MlopsError
from mlops.local.workdir import RunRecord
from mlops.local.workdir import prepare as prepare_work_dir

USECASE = "remedy"
MIN_FREE_BYTES = 2 * 1024**3
DEMO_TRIALS, DEMO_PARALLEL = 10, 5  # demo-sized tuning budget: two rounds of five
FULL_TRIALS, FULL_PARALLEL = 100, 20  # the seed's budget: five rounds of twenty
DEMO_TRAIN_CLAIMS, DEMO_TUNING_ROWS = 8_000, 2_500  # --full uses the training repo's defaults


class DemoError(MlopsError):
    """The demo could not run."""


@dataclass
class DemoOptions:
    work_dir: Path
    full: bool = False
    trials: int | None = None
    claims: int = 1000
    train_claims: int = DEMO_TRAIN_CLAIMS
    seed: int = 7
    aws_port: int | None = None
    api_port: int | None = None
    serve: bool = False
    month_claims: int = 300
    """Claims per month in the model-health phase (a usual month, then the shifted one)."""


@dataclass
class DemoSummary:
    work_dir: Path
    phases: dict[str, float] = field(default_factory=dict)
    endpoint_url: str = ""
    api_url: str = ""
    package_arn: str = ""
    gate: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    approval: dict[str, str] = field(default_factory=dict)
    decisions: Counter[str] = field(default_factory=Counter)
    decided_by: Counter[str] = field(default_factory=Counter)
    rejected: int = 0
    outage: Counter[str] = field(default_factory=Counter)
    analytics: dict[str, Any] = field(default_factory=dict)
    artefacts: dict[str, str] = field(default_factory=dict)
    work_dir_found: str = "new"
    serving: bool = False
    health: Any = None


# --- preflight ----------------------------------------------------------------------------------


def preflight(work_dir: Path) -> None:
    """Fail early, with a fix, on what would stop the demo half-way."""
    missing = []
    for module in ("moto", "copier", "lightgbm", "optuna", "onnxruntime", "duckdb", "fastapi"):
        try:
            __import__(module)
        except ImportError:
            missing.append(module)
    if missing:
        raise DemoError(
            f"missing Python packages: {', '.join(missing)}",
            "run `make demo` from the repo root (it installs everything with uv)",
        )
    work_dir.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(work_dir).free
    if free < MIN_FREE_BYTES:
        raise DemoError(
            f"only {free / 1024**3:.1f} GB free under {work_dir}; the demo needs about 2 GB",
            "free some disk space or pass --work-dir on a larger disk",
        )


# --- phases -------------------------------------------------------------------------------------


class Phases:
    """Numbered phases with timing and a spinner (plain lines when not a terminal)."""

    def __init__(
        self, console: Any, summary: DemoSummary, total: int, record: RunRecord | None = None
    ) -> None:
        self.console, self.summary, self.total, self.n = console, summary, total, 0
        self.record = record

    @contextmanager
    def phase(self, title: str) -> Iterator[None]:
        self.n += 1
        if self.record is not None:
            self.record.phase(title)
        started = time.perf_counter()
        label = f"[{self.n}/{self.total}] {title}"
        with self.console.status(label + " …"):
            try:
                yield
            except BaseException:
                self.console.print(f"[red]✗[/] {label}", highlight=False)
                raise
        seconds = time.perf_counter() - started
        self.summary.phases[title] = round(seconds, 1)
        self.console.print(f"[green]✓[/] {label} [dim]({seconds:.1f} s)[/]", highlight=False)


def _remedy_on_path(inference_repo: Path) -> None:
    src = str(inference_repo / "src")
    if src not in sys.path:
        sys.path.insert(0, src)


def _train(repo: Path, aws: Any, opts: DemoOptions, out: Path) -> dict[str, Any]:
    """Run the rendered training repo's local pipeline as a child process; returns its summary."""
    summary_file = out / "run-summary.json"
    trials, parallel = (FULL_TRIALS, FULL_PARALLEL) if opts.full else (DEMO_TRIALS, DEMO_PARALLEL)
    if opts.trials:
        trials, parallel = opts.trials, min(opts.trials, DEMO_PARALLEL)
    command = [
        *(sys.executable, "-m", "remedy_training.run_local"),
        *("--work-dir", str(out), "--seed", str(opts.seed)),
        *("--max-jobs", str(trials), "--max-parallel", str(parallel)),
        *("--environment", "local", "--endpoint-url", aws.endpoint_url),
        *("--summary-json", str(summary_file), "--no-progress"),
    ]
    if not opts.full:
        command += ["--claims", str(opts.train_claims), "--tuning-rows", str(DEMO_TUNING_ROWS)]
    env = {**os.environ, **aws.env(), "PYTHONPATH": str(repo / "src")}
    out.mkdir(parents=True, exist_ok=True)
    log_file = out / "training.log"
    with log_file.open("w") as log:
        result = subprocess.run(  # noqa: S603 - our interpreter, the rendered repo's module
            command, cwd=repo, env=env, stdout=log, stderr=subprocess.STDOUT, check=False
        )
    if result.returncode != 0 or not summary_file.exists():
        tail = "\n".join(log_file.read_text(errors="replace").splitlines()[-20:])
        raise DemoError(
            f"the training pipeline failed (exit {result.returncode}):\n{tail}",
            f"see {log_file}",
        )
    return json.loads(summary_file.read_text())


def _bad_requests(good: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Requests a real client might send by mistake; each must get a 422 naming the field."""
    no_year = json.loads(json.dumps(good))
    del no_year["vehicle"]["year"]
    negative = json.loads(json.dumps(good))
    negative["accident"]["delta_v_kph"] = -12
    region = json.loads(json.dumps(good))
    region["region"] = "atlantis"
    return [("vehicle.year", no_year), ("accident.delta_v_kph", negative), ("region", region)]


def _replay(
    deployment: Any, claims: list[Any], summary: DemoSummary, console: Any
) -> list[dict[str, Any]]:
    import httpx

    decided: list[dict[str, Any]] = []
    n = len(claims)
    outage = range(int(n * 0.45), int(n * 0.45) + max(5, n // 20))
    bad = _bad_requests(json.loads(claims[0].model_dump_json()))
    bad_at = {int(n * (i + 1) / (len(bad) + 1)): b for i, b in enumerate(bad)}
    from rich.progress import Progress

    with (
        httpx.Client(base_url=deployment.api_url, timeout=30) as client,
        Progress(console=console, transient=True) as progress,
    ):
        task = progress.add_task("replaying claims", total=n)
        for i, claim in enumerate(claims):
            if i == outage.start:
                deployment.valuation.stop()  # simulated valuation outage
            if i == outage.stop:
                deployment.valuation.start()
            if i in bad_at:
                field_name, body = bad_at[i]
                r = client.post("/v1/decisions", json=body)
                if r.status_code != 422 or field_name not in r.text:
                    raise DemoError(
                        f"bad request ({field_name}) got {r.status_code}: {r.text[:200]}",
                        "the decision API must reject bad input with 422 naming the field",
                    )
                summary.rejected += 1
            r = client.post(
                "/v1/decisions",
                content=claim.model_dump_json(),
                headers={"content-type": "application/json"},
            )
            if r.status_code != 200:
                raise DemoError(
                    f"decision API answered {r.status_code} for {claim.claim_id}: {r.text[:300]}",
                    f"see {deployment.work / 'logs' / 'decision-api.log'}",
                )
            d = r.json()
            decided.append(d)
            summary.decisions[d["recommendation"]] += 1
            summary.decided_by[d["decided_by"]] += 1
            if i in outage:  # how each claim was decided without market data
                no_market = bool(d["pav"].get("market_error"))
                summary.outage["without market data" if no_market else "with market data"] += 1
                summary.outage[f"PAV from {d['pav']['source']}"] += 1
                summary.outage[d["recommendation"]] += 1
            progress.advance(task)
        if deployment.valuation.running is False:
            deployment.valuation.start()
    return decided


def _decision_table(
    decided: list[dict[str, Any]], vehicles: dict[str, str], limit: int = 14
) -> Any:
    from rich.table import Table

    table = Table(title=f"First {limit} decisions (of {len(decided)})", show_lines=False)
    for col in ("claim", "vehicle", "recommendation", "rule", "ratio", "PAV £", "reasons"):
        table.add_column(col, overflow="fold")
    for d in decided[:limit]:
        ratio = d.get("ratio") or {}
        pav = d["pav"].get("value")
        table.add_row(
            d["claim_id"],
            vehicles.get(d["claim_id"], ""),
            d["recommendation"],
            d["decided_by"],
            f"{ratio['value']:.2f}" if ratio else "—",
            f"{pav:,.0f}" if pav else "—",
            " / ".join(r["sentence"] for r in d["reasons"][:2]),
        )
    return table


def run_demo(
    opts: DemoOptions,
    console: Any,
    on_ready: Callable[[DemoSummary, Any, Any], None] | None = None,
) -> DemoSummary:
    """Run every phase; returns the summary. Servers are stopped on exit, error or Ctrl-C.

    `on_ready(summary, deployment, stream)` runs while everything is still up (`mlops serve`,
    end-to-end tests); audit lines are shipped to the analytics stream in the background then.
    Each run starts clean (`mlops.local.workdir`: the embedded AWS dies with its run, so nothing
    can be resumed) and says what it found in the work directory.
    """
    work = opts.work_dir.resolve()
    preflight(work)
    prepared = prepare_work_dir(work)
    console.print(f"[dim]{work}: {prepared.message}[/]", highlight=False)
    summary = DemoSummary(work_dir=work, work_dir_found=prepared.found)
    record = RunRecord(work)
    phases = Phases(console, summary, total=8, record=record)
    try:
        _run_phases(opts, console, on_ready, work, summary, phases)
    except KeyboardInterrupt as stop:  # Ctrl-C, SIGTERM, SIGHUP: every service is stopped by now
        if summary.serving:  # `mlops serve` ends this way
            record.finish("complete", reason=f"served until {stop or 'SIGINT'}")
        else:
            record.finish("interrupted", reason=str(stop) or "SIGINT")
        raise
    except BaseException as error:
        record.finish("failed", reason=type(error).__name__)
        raise
    record.finish("complete")
    return summary


def _run_phases(
    opts: DemoOptions,
    console: Any,
    on_ready: Callable[[DemoSummary, Any, Any], None] | None,
    work: Path,
    summary: DemoSummary,
    phases: Phases,
) -> None:
    from mlops.local.analytics_stream import LocalAnalyticsStream, clients, stream_names
    from mlops.local.deployment import LocalDeployment, fetch_bundle
    from mlops.local.embedded_aws import EmbeddedAWS
    from mlops.local.environment import provision
    from mlops.local.governance import ApprovalDenied, approve
    from mlops.local.remedy import remedy_analytics, remedy_registry

    logs = work / "logs"
    with ExitStack() as stack:
        with phases.phase("embedded AWS (moto) and the platform's local resources"):
            aws = stack.enter_context(
                EmbeddedAWS(port=opts.aws_port, log_file=logs / "moto-server.log")
            )
            platform = provision(aws, USECASE)
            stream = LocalAnalyticsStream(
                clients(aws.endpoint_url, aws.region),
                stream_names(platform.ctx, USECASE),
                events=remedy_registry(),
            )
            stream.provision()
            summary.endpoint_url = aws.endpoint_url

        with phases.phase("onboard `remedy` from its template"):
            from mlops.config import load_stack_config
            from mlops.onboarding import onboard

            lead = load_stack_config("dev").people.lead_data_scientists[0]
            result = onboard(
                USECASE,
                "remedy",
                # the owner is the dev stack's lead data scientist (works with no git identity)
                answers={"owner_email": lead.email},
                out=work / "repos",
                usecases_dir=work / "usecases",
                force=True,
            )
            training_repo, inference_repo = result.repos["training"], result.repos["inference"]
            summary.artefacts["training repo"] = str(training_repo)
            summary.artefacts["inference repo"] = str(inference_repo)

        with phases.phase("train: tuning, evaluation, gate, registration"):
            run = _train(training_repo, aws, opts, work / "training")
            registration = run.get("registration") or {}
            summary.package_arn = registration.get("arn", "")
            summary.gate = run["evaluation"]["gate"]
            summary.metrics = {
                "tuning trials": run["trials"],
                **{k: v["value"] for k, v in run["evaluation"]["metrics"].items()},
            }
            summary.artefacts["tuning report"] = run["paths"].get("report_html", "")
            summary.artefacts["model card"] = registration.get("model_card", "")
            if not summary.package_arn:
                raise DemoError(
                    f"the model did not pass the registration gate: {summary.gate}",
                    "run with more trials (--trials 40) or --full",
                )

        with phases.phase("approve: data scientist refused, lead data scientist approves"):
            sm = aws.client("sagemaker")
            try:
                approve(sm, platform, summary.package_arn, persona="data-scientist",
                        user="priya-shah")  # fmt: skip
            except ApprovalDenied as denied:
                summary.approval["data scientist (priya-shah)"] = f"refused: {denied.message}"
            else:
                raise DemoError(
                    "a data scientist was able to approve a model package",
                    "the data-scientist policy must deny sagemaker:UpdateModelPackage",
                )
            approved = approve(
                sm, platform, summary.package_arn, persona="lead-data-scientist", user="ellen-ward"
            )
            summary.approval["lead data scientist (ellen-ward)"] = approved.status
            package = sm.describe_model_package(ModelPackageName=summary.package_arn)
            model_url = package["InferenceSpecification"]["Containers"][0]["ModelDataUrl"]
            bundle_dir = fetch_bundle(aws, model_url, work / "deployed-bundle")

        with phases.phase("deploy locally: valuation service and decision API"):
            deployment = LocalDeployment(
                repo=inference_repo,
                work=work,
                aws=aws,
                bundle_dir=bundle_dir,
                stream=stream,
                api_port=opts.api_port,
            )
            stack.enter_context(deployment)
            summary.api_url = deployment.api_url

        with phases.phase(f"replay {opts.claims:,} synthetic claims through the decision API"):
            _remedy_on_path(inference_repo)
            from remedy_core.synthetic import frame_to_claims, generate_claims

            frame = generate_claims(opts.claims, seed=opts.seed + 1000, start="2025-01-01",
                                    end="2025-12-31")  # fmt: skip
            claims = frame_to_claims(frame)
            decided = _replay(deployment, claims, summary, console)
        vehicles = {
            c.claim_id: f"{c.vehicle.make} {c.vehicle.model} {c.vehicle.year}" for c in claims
        }
        console.print(_decision_table(decided, vehicles))

        with phases.phase("analytics: Logs → Firehose → S3 → DuckDB"):
            from mlops.analytics.warehouse import Warehouse

            shipped = deployment.ship()
            warehouse_path = work / "analytics" / "warehouse.duckdb"
            with Warehouse(warehouse_path, events=stream.events) as wh:
                refreshed = stream.refresh(wh)
                summary.analytics = {
                    "events shipped": shipped,
                    "landing objects loaded": refreshed.objects_loaded,
                    "decisions in warehouse": wh.count("decision_events"),
                }
            summary.artefacts["warehouse"] = str(warehouse_path)

        with phases.phase("model health: a shifted month, drift, quality, rollback; dashboard"):
            from mlops.local.monitoring_phase import run_health_phase

            summary.health = run_health_phase(
                aws=aws, platform=platform, stream=stream, warehouse_path=warehouse_path,
                bundle_dir=bundle_dir, live_arn=summary.package_arn, work=work,
                month_claims=opts.month_claims, seed=opts.seed, lead="ellen-ward",
            )  # fmt: skip
            with Warehouse(warehouse_path, events=stream.events) as wh:
                reference = summary.health.reference
                dash = remedy_analytics().render_dashboard(
                    wh, work / "analytics" / "dashboard", reference=reference
                )
            summary.artefacts["dashboard"] = str(dash.html_path)
            if dash.health_path is not None:
                summary.artefacts["model-health page"] = str(dash.health_path)
        console.print(health_table(summary.health))

        if on_ready is not None:
            deployment.ship_in_background()
            summary.serving = True
            on_ready(summary, deployment, stream)


def health_table(health: Any) -> Any:
    """The model-health phase in one table: the usual month against the shifted one."""
    from rich.table import Table

    table = Table(title="Model health: December 2025 (usual) vs January 2026 (more EVs, parts "
                  "30% dearer)")  # fmt: skip
    for col in ("check", "2025-12", "2026-01", "worse candidate, 2026-01"):
        table.add_column(col)
    b, s, c = health.baseline, health.shifted, health.candidate

    def pct(row: dict, key: str, minus_one: bool = False) -> str:
        value = row.get(key)
        if value is None:
            return "—"
        return f"{value - 1:+.1%}" if minus_one else f"{value:.1%}"

    def money(row: dict, key: str) -> str:
        return f"£{row[key]:,.0f}" if row.get(key) is not None else "—"

    table.add_row("closed claims", *(str(r.get("outcomes", "—")) for r in (b, s, c)))
    table.add_row("EV share of claims", f"{health.ev_share[0]:.0%}", f"{health.ev_share[1]:.0%}",
                  f"{health.ev_share[1]:.0%}")  # fmt: skip
    table.add_row("repair cost MAE (final cost)", *(money(r, "repair_mae") for r in (b, s, c)))
    table.add_row("repair cost bias", *(pct(r, "repair_bias_ratio", True) for r in (b, s, c)))
    table.add_row("80% interval coverage", *(pct(r, "interval_coverage_80") for r in (b, s, c)))
    table.add_row("PAV within 10% of settlement", *(pct(r, "pav_within_10pct") for r in (b, s, c)))
    table.add_row("wrong write-offs", *(pct(r, "wrong_write_off_rate") for r in (b, s, c)))
    table.add_row("total-loss ECE", *(
        f"{r['total_loss_ece']:.3f}" if r.get("total_loss_ece") is not None else "—"
        for r in (b, s, c)
    ))  # fmt: skip
    for feature in sorted(health.psi):
        cells = [r.get("psi", {}).get(feature) for r in (b, s, c)]
        table.add_row(f"PSI {feature}", *(f"{v:.3f}" if v is not None else "—" for v in cells))
    for alarm in health.alarms:
        table.add_row("ALARM (live model)", alarm, "", "")
    for alarm in health.candidate_alarms:
        table.add_row("ALARM (candidate)", alarm, "", "")
    if health.rollback:
        r = health.rollback
        table.add_row(
            "rollback",
            f"v{r['from'].rsplit('/', 1)[-1]} → v{r['to'].rsplit('/', 1)[-1]}: {r['reason']}",
            "",
            f"live now: v{r['live'].rsplit('/', 1)[-1]}",
        )
    return table


def print_summary(summary: DemoSummary, console: Any) -> None:
    from rich.table import Table

    table = Table(title="mlops demo — summary", show_header=False)
    table.add_column("what", style="bold")
    table.add_column("value", overflow="fold")
    total = sum(summary.phases.values())
    table.add_row("ran", ", ".join(f"{k} ({v} s)" for k, v in summary.phases.items()))
    table.add_row("total time", f"{total:.0f} s")
    table.add_row("embedded AWS", summary.endpoint_url + " (stopped)")
    table.add_row("model package", summary.package_arn)
    for name, value in summary.metrics.items():
        table.add_row(f"metric {name}", f"{value:.4f}" if isinstance(value, float) else str(value))
    if summary.gate:
        g = summary.gate
        table.add_row(
            "registration gate",
            f"{g.get('metric')} = {g.get('value', 0):.4f} vs threshold {g.get('threshold')}: "
            + ("passed" if g.get("passed") else "failed"),
        )
    for who, outcome in summary.approval.items():
        table.add_row(f"approval: {who}", outcome)
    n = sum(summary.decisions.values())
    mix = ", ".join(f"{k} {v} ({v / n:.0%})" for k, v in sorted(summary.decisions.items()) if n)
    table.add_row("decisions", f"{n}: {mix}")
    table.add_row(
        "decided by rule", ", ".join(f"{k} {v}" for k, v in summary.decided_by.most_common())
    )
    table.add_row("bad requests rejected (422)", str(summary.rejected))
    table.add_row(
        "during the valuation outage",
        ", ".join(f"{k}: {v}" for k, v in summary.outage.items()) or "—",
    )
    for k, v in summary.analytics.items():
        table.add_row(f"analytics: {k}", str(v))
    if summary.health is not None:
        h = summary.health
        table.add_row("model health: alarms", f"live model {len(h.alarms)}, candidate "
                      f"{len(h.candidate_alarms)}")  # fmt: skip
        if h.rollback:
            table.add_row("model health: rollback", f"{h.rollback['from']} → {h.rollback['to']}")
    for k, v in summary.artefacts.items():
        if v:
            table.add_row(k, v)
    if summary.api_url:
        table.add_row("decision API (during the run)", summary.api_url + "/docs")
    table.add_row("open", f"file://{summary.artefacts.get('dashboard', '')}")
    table.add_row("keep it running", "mlops serve  (decision API + claims-handler view)")
    console.print(table)
