"""`mlops demo`'s model-health phase: a shifted month of claims, drift and the quality drop
detected, and a deliberately worse model rolled back.

1. Two months of claims are decided by the deployed bundle through the Remedy decision service
   (in-process, its clock set to each claim's month, so events fall in the month they belong
   to): December 2025 as usual, then a shifted January 2026 (more electric vehicles, parts 30%
   dearer). Their outcomes close from the generator's ground truth (final repair cost,
   settlement, salvage; a handler overrides half the recommendations that disagree with it).
2. Every event goes Logs → Firehose → S3 → DuckDB; the Remedy health job
   (``remedy_inference.health``) computes drift per feature against the training reference and
   quality per month from the claim outcomes, and records its alarms.
3. A candidate model (the same bundle with its repair-cost heads scaled down by 40%: deliberately
   worse) is registered, approved by the lead and promoted; its canary on the shifted month
   breaches more checks than the live model, so the stage is rolled back to the previous approved
   package in the embedded registry (``mlops.delivery.rollback``, local deployer).
"""

from __future__ import annotations

import io
import json
import shutil
import tarfile
from dataclasses import dataclass, field
from dataclasses import replace as dc_replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from mlops.local.remedy import remedy_registry

BASE_MONTH = ("2025-12-01", "2025-12-24")
SHIFT_MONTH = ("2026-01-01", "2026-01-24")  # decisions follow within 4 days
PARTS_PRICE_INDEX = 1.3
EV_WEIGHT = 6.0
WORSE_REPAIR_SCALE = 0.6
STAGE = "dev"
PSEUDONYMISATION_KEY = "local-demo-pseudonymisation-key"  # the local decision API's key


@dataclass
class HealthSummary:
    baseline: dict[str, Any] = field(default_factory=dict)
    shifted: dict[str, Any] = field(default_factory=dict)
    psi: dict[str, float] = field(default_factory=dict)
    alarms: list[str] = field(default_factory=list)
    candidate: dict[str, Any] = field(default_factory=dict)
    candidate_alarms: list[str] = field(default_factory=list)
    rollback: dict[str, Any] = field(default_factory=dict)
    ev_share: tuple[float, float] = (0.0, 0.0)
    reference: Any = None


def month_of_claims(n: int, seed: int, *, shifted: bool) -> Any:
    """``n`` claims of December 2025, or of January 2026 with EVs over-represented and parts 30%
    dearer (``shifted``)."""
    import numpy as np
    from remedy_core.synthetic import DEFAULT_COSTS, generate_claims

    start, end = SHIFT_MONTH if shifted else BASE_MONTH
    if not shifted:
        frame = generate_claims(n, seed=seed, start=start, end=end)
        frame["claim_id"] = [f"BASE-{i:05d}" for i in range(len(frame))]
        return frame
    costs = dc_replace(DEFAULT_COSTS, parts_price_index=PARTS_PRICE_INDEX)
    pool = generate_claims(n * 3, seed=seed, costs=costs, start=start, end=end)
    weights = np.where(pool["powertrain"].to_numpy() == "ev", EV_WEIGHT, 1.0)
    rng = np.random.default_rng(seed)
    picked = rng.choice(len(pool), n, replace=False, p=weights / weights.sum())
    frame = pool.iloc[np.sort(picked)].reset_index(drop=True)
    frame["claim_id"] = [f"SHIFT-{i:05d}" for i in range(len(frame))]
    return frame


def outcomes(frame: Any, recommendations: dict[str, str], decided_at: dict[str, datetime],
             seed: int) -> list[Any]:  # fmt: skip
    """Claim outcomes from the ground truth: a recommendation that disagrees with the truth is
    overridden by the handler half the time (otherwise it is what happens)."""
    import numpy as np
    from remedy_core.events import ClaimOutcomeEvent

    from mlops.events import pseudonymise

    rng = np.random.default_rng(seed)
    out = []
    for row in frame.to_dict("records"):
        rec = recommendations.get(row["claim_id"])
        if rec is None:
            continue
        truth = str(row["t_decision"])
        final = truth if rec == "investigate" or rng.random() < 0.5 else rec
        closed = decided_at[row["claim_id"]] + timedelta(days=float(rng.uniform(5, 25)))
        if final == "repair":
            fields: dict[str, Any] = {
                "final_path": "repaired",
                "actual_repair_cost": float(row["t_final_repair_cost"]),
                "hire_days": float(row["t_hire_days"]),
            }
        else:
            fields = {
                "final_path": "written_off",
                "settlement_amount": float(row["t_pav"]) * float(rng.normal(1.0, 0.03)),
                "salvage_recovered": float(row["t_salvage"]),
                "salvage_category": str(row["t_salvage_category"]),
            }
        out.append(ClaimOutcomeEvent(
            claim_id_hash=pseudonymise(row["claim_id"], PSEUDONYMISATION_KEY), closed_at=closed,
            **fields,
        ))  # fmt: skip
    return out


def training_reference(n: int, seed: int) -> Any:
    """Drift reference: the key inputs and powertrain mix of training-like claims."""
    from remedy_core.drift_features import CATEGORICAL_FEATURES, claims_reference
    from remedy_core.synthetic import generate_claims

    frame = generate_claims(n, seed=seed)
    return claims_reference(
        frame, f"Remedy training claims ({n:,} synthetic)", CATEGORICAL_FEATURES
    )


def decide(bundle: Path, frame: Any, seed: int) -> tuple[list[Any], dict, dict]:
    """Decide ``frame`` with ``bundle`` (clock: a few hours to days after each incident);
    returns the decision events, recommendations and decision times by claim id."""
    import numpy as np
    import pandas as pd
    from remedy_core.bundle import load_bundle
    from remedy_core.synthetic import row_to_claim
    from remedy_inference.audit import MemorySink
    from remedy_inference.market_data import SyntheticMarket
    from remedy_inference.service import BundlePredictor, DecisionService

    rng = np.random.default_rng(seed)
    clock = {"t": datetime.now(UTC)}
    sink = MemorySink()
    service = DecisionService(
        predictor=BundlePredictor(load_bundle(bundle)), valuation=SyntheticMarket(), sink=sink,
        pseudonymisation_key=PSEUDONYMISATION_KEY, clock=lambda: clock["t"],
    )  # fmt: skip
    recs, times = {}, {}
    for row in frame.to_dict("records"):
        incident = pd.Timestamp(row["incident_date"]).to_pydatetime().replace(tzinfo=UTC)
        clock["t"] = incident + timedelta(hours=float(rng.uniform(6, 96)))
        recs[row["claim_id"]] = service.decide(row_to_claim(row)).recommendation
        times[row["claim_id"]] = clock["t"]
    return list(sink.events), recs, times


def _worse_bundle(bundle_dir: Path, dest: Path) -> Path:
    """The live bundle with its repair-cost heads scaled by 0.6: a deliberately worse model."""
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(bundle_dir, dest)
    manifest = json.loads((dest / "manifest.json").read_text())
    scale = manifest.setdefault("calibration", {}).setdefault("scale", {})
    for head in ("repair_cost_p10", "repair_cost_p50", "repair_cost_p90"):
        scale[head] = scale.get(head, 1.0) * WORSE_REPAIR_SCALE
    manifest["bundle_id"] = manifest["bundle_id"][:19] + "-w"
    manifest["model_versions"]["bundle"] = manifest["bundle_id"]
    (dest / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return dest


def _register(aws: Any, platform: Any, live_arn: str, bundle: Path) -> str:
    """Register ``bundle`` as a new package of the live package's group (pending approval)."""
    sm, s3 = aws.client("sagemaker"), aws.client("s3")
    live = sm.describe_model_package(ModelPackageName=live_arn)
    container = live["InferenceSpecification"]["Containers"][0]
    bucket, _, key = container["ModelDataUrl"].removeprefix("s3://").partition("/")
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        tar.add(bundle, arcname=".")
    new_key = key.rsplit("/", 2)[0] + "/candidate-worse/model.tar.gz"
    s3.put_object(Bucket=bucket, Key=new_key, Body=buf.getvalue(), ServerSideEncryption="aws:kms")
    created = sm.create_model_package(
        ModelPackageGroupName=live["ModelPackageGroupName"],
        ModelPackageDescription="candidate: repair-cost heads scaled by 0.6 (deliberately worse)",
        ModelApprovalStatus="PendingManualApproval",
        InferenceSpecification={
            "Containers": [
                {"Image": container["Image"], "ModelDataUrl": f"s3://{bucket}/{new_key}"}
            ],
            "SupportedContentTypes": ["application/json"],
            "SupportedResponseMIMETypes": ["application/json"],
        },
    )
    return created["ModelPackageArn"]


def _canary(bundle: Path, frame: Any, seed: int, reference: Any, thresholds: Any) -> Any:
    """Decide the shifted month with ``bundle`` and measure it like the live model."""
    from remedy_inference.health import run_health_job

    from mlops.analytics.warehouse import Warehouse

    events, recs, times = decide(bundle, frame, seed)
    with Warehouse(events=remedy_registry()) as wh:
        wh.load_events([*events, *outcomes(frame, recs, times, seed)])
        return run_health_job(wh, reference, thresholds=thresholds, min_drift_rows=50)


def roll_back(sm: Any, group: str, lead: str, reason: str, now: datetime) -> str:
    """Roll the stage back to the previous approved package in the embedded registry (the
    platform's rollback with its local deployer); returns the package rolled back to."""
    from mlops.delivery.rollback import LocalDeployer, rollback

    result = rollback(
        sm, LocalDeployer(sm, approver=lead), group, STAGE, reason=reason,
        requested_by="mlops-model-health", now=now, restate_status=True,  # moto: see rollback
    )  # fmt: skip
    return result.target_arn


def run_health_phase(
    *, aws: Any, platform: Any, stream: Any, warehouse_path: Path, bundle_dir: Path,
    live_arn: str, work: Path, month_claims: int, seed: int, lead: str,
) -> HealthSummary:  # fmt: skip
    from remedy_core.monitoring import HealthThresholds
    from remedy_inference.health import run_health_job

    from mlops.analytics.warehouse import Warehouse
    from mlops.delivery.promotion import in_stage, record_promotion
    from mlops.events import to_log_line
    from mlops.local.governance import approve

    summary = HealthSummary()
    thresholds = HealthThresholds()
    now = datetime.now(UTC)
    # 1. a usual month, then the shifted one, decided by the live bundle; outcomes close
    base = month_of_claims(month_claims, seed + 2000, shifted=False)
    shifted = month_of_claims(month_claims, seed + 3000, shifted=True)
    events: list[Any] = []
    for i, frame in enumerate((base, shifted)):
        decided, recs, times = decide(bundle_dir, frame, seed + i)
        events += [*decided, *outcomes(frame, recs, times, seed + i)]
    summary.ev_share = (
        float((base["powertrain"] == "ev").mean()),
        float((shifted["powertrain"] == "ev").mean()),
    )
    # 2. Logs -> Firehose -> S3 -> DuckDB, then the health job
    stream.emit([to_log_line(e) for e in events], batch_size=1000)
    reference = training_reference(2000, seed)
    reference.save(work / "analytics" / "training_reference.json")
    summary.reference = reference
    shift_month, base_month = SHIFT_MONTH[0][:7], BASE_MONTH[0][:7]
    with Warehouse(warehouse_path, events=remedy_registry()) as wh:
        stream.refresh(wh)
        report = run_health_job(wh, reference, thresholds=thresholds, min_drift_rows=50)
        summary.baseline = report.month(base_month)
        summary.shifted = report.month(shift_month)
        summary.psi = summary.shifted.get("psi", {})
        summary.alarms = [b.message for b in report.breaches]

        # 3. a deliberately worse candidate: register, approve, promote, canary, roll back
        sm = aws.client("sagemaker")
        record_promotion(sm, live_arn, STAGE, lead, execution_id="local-initial",
                         now=now - timedelta(minutes=2))  # fmt: skip
        candidate = _worse_bundle(bundle_dir, work / "candidate-bundle")
        candidate_arn = _register(aws, platform, live_arn, candidate)
        approve(sm, platform, candidate_arn, persona="lead-data-scientist", user=lead)
        record_promotion(sm, candidate_arn, STAGE, lead, execution_id="local-candidate",
                         now=now - timedelta(minutes=1))  # fmt: skip
        canary = _canary(candidate, shifted, seed + 1, reference, thresholds)
        summary.candidate = canary.month(shift_month)
        summary.candidate_alarms = [b.message for b in canary.breaches]
        wh.record_alarms(f"canary v{candidate_arn.rsplit('/', 1)[-1]}", canary.breaches, now)
        # roll back when the candidate breaches a quality check the live model passes
        live_checks = {b.metric for b in report.breaches if b.month == shift_month}
        worse = sorted({b.metric for b in canary.breaches if not b.metric.startswith("psi:")}
                       - live_checks)  # fmt: skip
        summary.candidate["worse_checks"] = worse
        if worse:
            group = sm.describe_model_package(ModelPackageName=candidate_arn)[
                "ModelPackageGroupName"
            ]
            reason = f"model health: candidate breached {' and '.join(worse)} on the canary"
            target = roll_back(sm, group, lead, reason, now)
            live = in_stage(sm, group, STAGE)
            summary.rollback = {
                "from": candidate_arn,
                "to": target,
                "live": live.package_arn if live else "",
                "reason": reason,
            }
    return summary
