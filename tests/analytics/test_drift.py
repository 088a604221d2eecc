"""Model health on fixtures with known answers: PSI per feature, the model_quality_monthly view,
ECE, breaches, and the Remedy health job (alarms recorded, metrics published to CloudWatch)."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime

import boto3
import pytest
from moto import mock_aws

from mlops.analytics.drift import CategoryProfile, FeatureProfile, ReferenceProfile
from mlops.analytics.warehouse import Warehouse
from mlops.local.remedy import remedy_on_path

from .factories import REGISTRY, decision, outcome

remedy_on_path()

from remedy_core.monitoring import (  # noqa: E402
    HealthThresholds,
    drift_breaches,
    expected_calibration_error,
    quality_breaches,
)
from remedy_inference.health import CloudWatchPublisher, run_health_job  # noqa: E402


def ts(month: int, day: int) -> datetime:
    return datetime(2026, month, day, 12, tzinfo=UTC)


def with_prob(dec, prob: float):
    return dec.model_copy(update={"model_outputs": dec.model_outputs.model_copy(
        update={"total_loss_prob": prob})})  # fmt: skip


# --- drift ---------------------------------------------------------------------------------------


def test_psi_of_a_two_bin_shift_is_the_formula():
    profile = FeatureProfile("x", edges=[0.5], proportions=[0.5, 0.5])
    current = [0.0] * 25 + [1.0] * 75
    expected = (0.25 - 0.5) * math.log(0.25 / 0.5) + (0.75 - 0.5) * math.log(0.75 / 0.5)
    assert profile.psi(current) == pytest.approx(expected)  # 0.2747
    assert profile.psi([0.0] * 50 + [1.0] * 50) == pytest.approx(0.0)


def test_psi_of_the_powertrain_mix_when_evs_treble():
    profile = CategoryProfile.from_values("powertrain", ["ev"] * 10 + ["petrol"] * 90)
    current = ["ev"] * 30 + ["petrol"] * 70
    expected = 0.2 * math.log(3) + (-0.2) * math.log(0.7 / 0.9)  # 0.2700
    assert profile.psi(current) == pytest.approx(expected)
    assert profile.psi(["ev"] * 10 + ["petrol"] * 90) == pytest.approx(0.0)


def test_a_reference_with_categories_round_trips(tmp_path):
    ref = ReferenceProfile.from_rows(
        [{"a": float(i), "powertrain": "ev" if i % 4 == 0 else "petrol"} for i in range(40)],
        "fixture", features=["a"], categorical=["powertrain"],
    )  # fmt: skip
    loaded = ReferenceProfile.load(ref.save(tmp_path / "ref.json"))
    assert loaded.categories["powertrain"].levels == {"ev": 0.25, "petrol": 0.75}


def test_drift_breaches_only_above_the_threshold():
    rows = [
        {"month_start": date(2026, 1, 1), "feature": "powertrain", "psi": 0.27},
        {"month_start": date(2026, 1, 1), "feature": "mileage", "psi": 0.05},
    ]
    assert [b.metric for b in drift_breaches(rows)] == ["psi:powertrain"]
    assert drift_breaches(rows, HealthThresholds(psi=0.3)) == []


# --- quality -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def wh():
    d1 = with_prob(decision("Q1", decided_at=ts(1, 5), repair_p50=2000), 0.1)
    d2 = with_prob(decision("Q2", decided_at=ts(1, 6), repair_p50=3000), 0.1)
    d3 = with_prob(decision("Q3", decided_at=ts(1, 7), recommendation="write_off", pav=8000), 0.9)
    d4 = with_prob(decision("Q4", decided_at=ts(1, 8), recommendation="write_off", pav=5000), 0.9)
    d5 = with_prob(decision("Q5", decided_at=ts(1, 9), pav=6000), 0.1)
    d6 = decision("Q6", decided_at=ts(2, 3))  # withdrawn: no quality row for February
    d7 = decision("Q7", decided_at=ts(2, 4))  # still open
    with Warehouse(events=REGISTRY) as w:
        w.load_events([d1, d2, d3, d4, d5, d6, d7])
        w.load_events([
            outcome(d1, closed_at=ts(2, 1), final_path="repaired", actual_repair_cost=2500),
            outcome(d2, closed_at=ts(2, 1), final_path="repaired", actual_repair_cost=5000),
            outcome(d3, closed_at=ts(2, 1), final_path="written_off", settlement_amount=8400),
            outcome(d4, closed_at=ts(2, 1), final_path="repaired", actual_repair_cost=4000),
            outcome(d5, closed_at=ts(2, 1), final_path="written_off", settlement_amount=7000),
            outcome(d6, closed_at=ts(2, 9), final_path="withdrawn"),
        ])  # fmt: skip
        yield w


def test_model_quality_monthly_equals_the_hand_computed_answer(wh):
    rows = wh.view("model_quality_monthly", order_by="month_start")
    assert len(rows) == 1
    row = rows[0]
    assert row["month_start"] == date(2026, 1, 1)
    assert (row["outcomes"], row["repairs_closed"], row["write_offs_closed"]) == (5, 3, 2)
    # repairs: |2000-2500|, |3000-5000|, |2400-4000|; intervals 0.7-1.5 x p50 cover 2500 only
    assert row["repair_mae"] == pytest.approx((500 + 2000 + 1600) / 3)
    assert row["repair_bias_ratio"] == pytest.approx(7400 / 11500)
    assert row["interval_coverage_80"] == pytest.approx(1 / 3)
    # write-offs: |8000-8400|/8400 (within 10%), |6000-7000|/7000 (not)
    assert row["pav_abs_pct_error"] == pytest.approx((400 / 8400 + 1000 / 7000) / 2)
    assert row["pav_within_10pct"] == pytest.approx(0.5)
    # Q4: recommended write-off, repaired in the end
    assert (row["wrong_write_offs"], row["wrong_write_off_rate"]) == (1, pytest.approx(0.2))
    # bins: p=0.1 (Q1, Q2, Q5; one written off), p=0.9 (Q3, Q4; one written off)
    expected_ece = (3 * abs(0.1 - 1 / 3) + 2 * abs(0.9 - 0.5)) / 5
    assert row["total_loss_ece"] == pytest.approx(expected_ece)


def test_ece_pure_function_agrees_with_the_view(wh):
    ece = expected_calibration_error([0.1, 0.1, 0.9, 0.9, 0.1], [0, 0, 1, 0, 1])
    assert ece == pytest.approx(wh.view("model_quality_monthly")[0]["total_loss_ece"])
    assert expected_calibration_error([0.05, 0.05, 0.95, 0.95], [0, 0, 1, 1]) == pytest.approx(0.05)


def test_quality_breaches_name_each_failing_check(wh):
    rows = wh.view("model_quality_monthly")
    breaches = quality_breaches(rows, HealthThresholds(min_outcomes=1))
    assert sorted(b.metric for b in breaches) == [
        "interval_coverage_80", "pav_within_10pct", "repair_bias", "total_loss_ece",
        "wrong_write_off_rate",
    ]  # fmt: skip
    assert all(b.month == "2026-01" for b in breaches)
    # five closed claims are too few to alarm on by default
    assert quality_breaches(rows) == []


def test_a_healthy_month_raises_nothing():
    row = {"month_start": "2026-03-01", "outcomes": 400, "interval_coverage_80": 0.8,
           "repair_bias_ratio": 1.01, "pav_within_10pct": 0.93, "wrong_write_off_rate": 0.004,
           "total_loss_ece": 0.03}  # fmt: skip
    assert quality_breaches([row]) == []
    assert [b.metric for b in quality_breaches([{**row, "interval_coverage_80": 0.68}])] == [
        "interval_coverage_80"
    ]


@pytest.mark.parametrize(
    "kwargs, field",
    [({"psi": 0}, "psi"), ({"coverage_min": 0.9, "coverage_max": 0.8}, "coverage_min"),
     ({"ece_max": 2}, "ece_max"), ({"min_outcomes": 0}, "min_outcomes")],
)  # fmt: skip
def test_thresholds_refuse_nonsense_naming_the_field(kwargs, field):
    with pytest.raises(ValueError, match=field):
        HealthThresholds(**kwargs)


# --- the job -------------------------------------------------------------------------------------


@mock_aws
def test_the_health_job_records_alarms_and_publishes_metrics():
    with Warehouse(events=REGISTRY) as w:
        d = [
            with_prob(decision(f"J{i}", decided_at=ts(1, 1 + i % 27), repair_p50=2000), 0.02)
            for i in range(60)
        ]
        w.load_events(d)
        # every final cost 2.5 x the median: outside the 0.7-1.5 interval, bias -60%
        w.load_events([outcome(x, closed_at=ts(2, 10), final_path="repaired",
                               actual_repair_cost=5000) for x in d])  # fmt: skip
        cloudwatch = boto3.client("cloudwatch", region_name="eu-west-2")
        publisher = CloudWatchPublisher(cloudwatch, "remedy", "prod")
        report = run_health_job(w, None, publisher=publisher, now=ts(3, 1))
        assert {b.metric for b in report.breaches} == {"interval_coverage_80", "repair_bias"}
        recorded = w.alarms()
        assert {a["metric"] for a in recorded} == {"interval_coverage_80", "repair_bias"}
        assert recorded[0]["month"] == "2026-01"
        run_health_job(w, None, now=ts(3, 2))  # a re-run replaces, never duplicates
        assert len(w.alarms()) == 2
    listed = cloudwatch.list_metrics(Namespace="mlops/model-health")["Metrics"]
    names = {m["MetricName"] for m in listed}
    assert {"RepairCostIntervalCoverage", "RepairCostBias", "RepairCostMAE"} <= names
    dims = {d["Name"]: d["Value"] for d in listed[0]["Dimensions"]}
    assert dims == {"UseCase": "remedy", "Stage": "prod"}


def test_the_health_job_reports_drift_per_feature():
    reference = ReferenceProfile(
        "fixture", 100,
        features={"vehicle_age_years": FeatureProfile("vehicle_age_years", [5.0], [0.5, 0.5])},
        categories={"powertrain": CategoryProfile("powertrain", {"petrol": 0.9, "ev": 0.1})},
    )  # fmt: skip
    with Warehouse(events=REGISTRY) as w:
        w.load_events([decision(f"D{i}", decided_at=ts(1, 1 + i % 27)) for i in range(100)])
        report = run_health_job(w, reference, min_drift_rows=50)
    psi = report.month("2026-01")["psi"]
    # every fixture car is a 7-year-old petrol: one age bin, no EVs
    assert psi["vehicle_age_years"] == pytest.approx(
        (1e-4 - 0.5) * math.log(1e-4 / 0.5) + 0.5 * math.log(2)
    )
    assert psi["powertrain"] == pytest.approx(
        0.1 * math.log(1 / 0.9) + (1e-4 - 0.1) * math.log(1e-4 / 0.1)
    )
    assert {b.metric for b in report.breaches} == {"psi:vehicle_age_years", "psi:powertrain"}


def test_the_dashboard_has_a_model_health_page_with_drift_error_and_alarms(tmp_path):
    from remedy_core.dashboard import render as render_dashboard

    reference = ReferenceProfile(
        "fixture", 100,
        features={"vehicle_age_years": FeatureProfile("vehicle_age_years", [5.0], [0.5, 0.5])},
        categories={"powertrain": CategoryProfile("powertrain", {"petrol": 0.9, "ev": 0.1})},
    )  # fmt: skip
    with Warehouse(events=REGISTRY) as w:
        d = [decision(f"H{i}", decided_at=ts(1, 1 + i % 27), repair_p50=2000) for i in range(60)]
        w.load_events(d)
        w.load_events([outcome(x, closed_at=ts(2, 10), final_path="repaired",
                               actual_repair_cost=5000) for x in d])  # fmt: skip
        run_health_job(w, reference, min_drift_rows=50, now=ts(3, 1))
        result = render_dashboard(w, tmp_path / "dash", reference=reference)
    page = result.health_path.read_text()
    assert page.count("<img ") == 2 and "Drift per feature" in page and "Error over time" in page
    assert "<table id='alarms'>" in page
    assert "2026-01: input powertrain drifted" in page
    assert "80% repair-cost interval covered 0% of final costs" in page
    assert "model-health.html" in result.html_path.read_text()
    assert result.png_paths["health_drift"].stat().st_size > 5_000
