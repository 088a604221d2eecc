"""Seed run: Remedy decisions through the local stream into the warehouse, then the dashboards.

    python -m mlops.local.seed --decisions 5200 --img docs/img

1. Claims from Remedy's seeded synthetic generator (``remedy_core.synthetic``), decided by the
   real Remedy decision service (``remedy_inference.service.DecisionService``: trained demo
   bundle on ONNX Runtime, synthetic market data, rules) — each decision emits its
   ``DecisionEvent`` through ``remedy_inference.audit``.
2. Handler actions and claim outcomes are simulated from the generator's ground truth (handlers
   override some recommendations that disagree with the truth; closed claims pay the true repair
   cost or the market PAV). From ``--shift-from`` on, claims are resampled towards older cars,
   a deliberate input shift so the drift chart has something to show.
3. Every event goes as a log line to CloudWatch Logs on the embedded AWS (moto server) →
   subscription filter → Firehose → S3; ``refresh`` loads it into DuckDB (and a second refresh
   proves nothing loads twice); Remedy's dashboard (the manifest's ``analytics.dashboard``) is
   rendered and the two seed charts copied.

Runs the Remedy code from the template tree (``templates/remedy``, both repos: the demo bundle is
the training repo's, the decision service the inference repo's); a dev/demo tool only.
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from mlops.local.remedy import remedy_analytics, remedy_on_path, remedy_registry

REPO = Path(__file__).resolve().parents[2]
SEED_CHARTS = ("monthly_total_losses_by_region", "avg_repair_cost_by_make_model")


@dataclass
class SeedSummary:
    decisions: int = 0
    handler_actions: int = 0
    claim_outcomes: int = 0
    recommendations: dict[str, int] = field(default_factory=dict)
    log_lines: int = 0
    landing_objects: int = 0
    first_refresh_rows: dict[str, int] = field(default_factory=dict)
    second_refresh_rows: int = 0
    rejected: int = 0
    seconds: dict[str, float] = field(default_factory=dict)
    pngs: list[str] = field(default_factory=list)
    source: str = "remedy"
    shift_from: str = ""


def _training_reference(claims: int, seed: int) -> Any:
    from remedy_core.drift_features import claims_reference
    from remedy_core.synthetic import generate_claims

    frame = generate_claims(claims, seed=seed)
    return claims_reference(frame, f"Remedy training set ({claims:,} synthetic claims)")


def _decision_claims(n: int, seed: int, start: str, end: str, shift_from: str) -> Any:
    import numpy as np
    import pandas as pd
    from remedy_core.synthetic import generate_claims

    pool = generate_claims(int(n * 3), seed=seed, start=start, end=end)
    late = pd.to_datetime(pool["incident_date"]) >= pd.Timestamp(shift_from)
    n_late = round(n * late.mean())
    early = pool[~late].sample(n - n_late, random_state=seed)
    weights = np.exp(0.3 * np.minimum(pool.loc[late, "t_age_years"].to_numpy(), 20.0))
    rng = np.random.default_rng(seed)
    picked = rng.choice(int(late.sum()), n_late, replace=False, p=weights / weights.sum())
    shifted = pool[late].iloc[np.sort(picked)]
    return pd.concat([early, shifted]).sort_values("incident_date").reset_index(drop=True)


def remedy_events(
    n: int,
    *,
    seed: int = 7,
    start: str = "2025-01-01",
    end: str = "2025-12-26",  # decisions follow within 4 days: every month complete
    shift_from: str = "2025-10-01",
    closed_by: datetime = datetime(2026, 1, 10, tzinfo=UTC),
    workdir: Path,
) -> tuple[list[Any], Any]:
    """Remedy decisions for ``n`` synthetic claims plus simulated handler actions and outcomes."""
    remedy_on_path()
    import numpy as np
    import pandas as pd
    from remedy_core.bundle import load_bundle
    from remedy_core.events import ClaimOutcomeEvent, HandlerActionEvent
    from remedy_core.synthetic import row_to_claim
    from remedy_inference.audit import MemorySink
    from remedy_inference.market_data import SyntheticMarket
    from remedy_inference.service import BundlePredictor, DecisionService
    from remedy_training.demo_bundle import build_demo_bundle

    from mlops.events import pseudonymise

    bundle = build_demo_bundle(workdir / "bundle", claims=3000, rounds=60, seed=0)
    reference = _training_reference(3000, seed=0)  # the bundle's training data
    claims = _decision_claims(n, seed, start, end, shift_from)
    rng = np.random.default_rng(seed)
    now = {"t": datetime(2025, 1, 1, tzinfo=UTC)}
    sink = MemorySink()
    service = DecisionService(
        predictor=BundlePredictor(load_bundle(bundle)),
        valuation=SyntheticMarket(),
        sink=sink,
        clock=lambda: now["t"],
    )
    key = "seed-run-pseudonymisation-key"
    events: list[Any] = []
    for row in claims.to_dict("records"):
        incident = pd.Timestamp(row["incident_date"]).to_pydatetime().replace(tzinfo=UTC)
        now["t"] = incident + timedelta(hours=float(rng.uniform(6, 96)))
        service.decide(row_to_claim(row))
        dec = sink.events[-1]
        events.append(dec)
        truth = str(row["t_decision"])
        rec = dec.recommendation
        handler = pseudonymise(f"handler-{int(rng.integers(40))}", key)
        acted = dec.decided_at + timedelta(hours=float(rng.uniform(0.5, 48)))
        act: dict[str, Any] = {"action": "accept"}
        final = rec
        if rec == "investigate":
            act = {"action": "inspect"}
            final = truth
        elif rec != truth and rng.random() < 0.55:
            reason = "HIDDEN_DAMAGE_FOUND" if truth == "write_off" else "VALUATION_DISPUTE"
            act = {"action": "override", "override_reason": reason, "final_recommendation": truth}
            final = truth
        elif rng.random() < 0.02:
            other = "write_off" if rec == "repair" else "repair"
            act = {"action": "override", "override_reason": "OTHER_CODED",
                   "final_recommendation": other}  # fmt: skip
            final = other
        events.append(
            HandlerActionEvent(
                claim_id_hash=dec.claim_id_hash, decision_event_id=dec.event_id,
                acted_at=acted, handler_id_hash=handler, **act,
            )
        )  # fmt: skip
        if final == "repair":
            days = float(row["t_repair_days"]) + float(rng.gamma(2.0, 3.0))
            fields: dict[str, Any] = {
                "final_path": "repaired",
                "actual_repair_cost": float(row["t_final_repair_cost"]),
                "hire_days": float(row["t_hire_days"]),
            }
        else:
            days = float(rng.gamma(4.0, 4.0))
            fields = {
                "final_path": "written_off",
                "settlement_amount": float(row["t_pav"]) * float(rng.normal(1.0, 0.03)),
                "salvage_recovered": float(row["t_salvage"]),
                "salvage_category": str(row["t_salvage_category"]),
            }
        closed = acted + timedelta(days=days)
        if closed <= closed_by:
            events.append(
                ClaimOutcomeEvent(claim_id_hash=dec.claim_id_hash, closed_at=closed, **fields)
            )
    return events, reference


def _event_time(event: Any) -> datetime:
    return getattr(event, "decided_at", None) or getattr(event, "acted_at", None) or event.closed_at


def run(
    n: int, img_dir: Path, out_dir: Path, *, seed: int = 7, shift_from: str = "2025-10-01"
) -> SeedSummary:
    from mlops.analytics.warehouse import Warehouse
    from mlops.events import to_log_line
    from mlops.local.analytics_stream import LocalAnalyticsStream, clients
    from mlops.local.embedded_aws import EmbeddedAWS

    remedy_on_path()  # before Remedy's imports: its code is the template tree's
    from remedy_core.events import DecisionEvent, HandlerActionEvent

    summary = SeedSummary(shift_from=shift_from)
    out_dir.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        events, reference = remedy_events(n, seed=seed, shift_from=shift_from, workdir=Path(tmp))
    summary.seconds["decide"] = round(time.perf_counter() - t0, 1)
    decisions = [e for e in events if isinstance(e, DecisionEvent)]
    summary.decisions = len(decisions)
    summary.handler_actions = sum(isinstance(e, HandlerActionEvent) for e in events)
    summary.claim_outcomes = len(events) - summary.decisions - summary.handler_actions
    for d in decisions:
        summary.recommendations[d.recommendation] = (
            summary.recommendations.get(d.recommendation, 0) + 1
        )
    reference.save(out_dir / "training_reference.json")

    t1 = time.perf_counter()
    with EmbeddedAWS() as aws:
        stream = LocalAnalyticsStream(clients(aws.endpoint_url), events=remedy_registry())
        stream.provision()
        lines = [to_log_line(e) for e in sorted(events, key=_event_time)]
        summary.log_lines = stream.emit(lines, batch_size=1000)
        summary.landing_objects = sum(1 for _ in stream.store().list_objects())
        warehouse = out_dir / "warehouse.duckdb"
        warehouse.unlink(missing_ok=True)
        with Warehouse(warehouse, events=remedy_registry()) as wh:
            first = stream.refresh(wh)
            second = stream.refresh(wh)
            summary.first_refresh_rows = dict(first.rows)
            summary.second_refresh_rows = second.rows_loaded
            summary.rejected = first.rejected
            summary.seconds["stream_and_load"] = round(time.perf_counter() - t1, 1)
            t2 = time.perf_counter()
            result = remedy_analytics().render_dashboard(
                wh, out_dir / "dashboard", reference=reference
            )
            summary.seconds["dashboard"] = round(time.perf_counter() - t2, 1)
    img_dir.mkdir(parents=True, exist_ok=True)
    for slug in SEED_CHARTS:
        target = img_dir / f"analytics-{slug.replace('_', '-')}.png"
        shutil.copyfile(result.png_paths[slug], target)
        summary.pngs.append(str(target))
    return summary


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--decisions", type=int, default=5200)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--img", type=Path, default=REPO / "docs" / "img")
    p.add_argument("--out", type=Path, default=Path(".mlops/analytics/seed"))
    p.add_argument("--shift-from", default="2025-10-01")
    a = p.parse_args(argv)
    if a.decisions < 1 or math.isnan(a.decisions):
        p.error("--decisions must be positive")
    summary = run(a.decisions, a.img, a.out, seed=a.seed, shift_from=a.shift_from)
    text = json.dumps(asdict(summary), indent=2)
    (a.out / "seed_summary.json").write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
