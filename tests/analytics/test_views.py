"""Views: one SQL source, two dialects; DuckDB results equal hand-computed expectations."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import sqlglot

from mlops.analytics.views import DIALECTS, ViewError, create_statements, get_view, load_views
from mlops.analytics.warehouse import Warehouse

from .factories import REGISTRY, action, decision, outcome

VIEWS_DIR = REGISTRY.views_dir

EXPECTED_VIEWS = {
    "monthly_total_losses_by_region",
    "avg_repair_cost_by_make_model",
    "investigate_rate_monthly",
    "override_rate_monthly",
    "pav_vs_settlement",
    "cycle_time",
    "model_error",
    "model_quality_monthly",
    "decision_mix_monthly",
}


def ts(month: int, day: int, hour: int = 0) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


@pytest.fixture(scope="module")
def wh():
    d1 = decision("C1", decided_at=ts(1, 5, 10), repair_p50=2000)
    d2 = decision("C2", decided_at=ts(1, 6), recommendation="write_off", pav=8000)
    d3 = decision(
        "C3",
        decided_at=ts(1, 15),
        recommendation="investigate",
        pav=7500,
        make="Volkswagen",
        model="Golf",
    )
    d4 = decision(
        "C4",
        decided_at=ts(1, 18),
        region="North West",
        make="Volkswagen",
        model="Golf",
        repair_p50=3000,
    )
    d5 = decision(
        "C5",
        decided_at=ts(1, 20, 12),
        region="North West",
        make="Volkswagen",
        model="Golf",
        recommendation="write_off",
        pav=5000,
    )
    d6 = decision("C6", decided_at=ts(2, 3, 8), repair_p50=4000)
    d7 = decision("C7", decided_at=ts(2, 9), repair_p50=1000)
    events = [
        d1, d2, d3, d4, d5, d6, d7,
        action(d1, "accept"),
        action(d2, "inspect", acted_at=ts(1, 7)),
        action(d2, "override", acted_at=ts(1, 8), override_reason="VALUATION_DISPUTE",
               final_recommendation="repair"),
        action(d4, "inspect"),
        action(d6, "accept"),
        outcome(d1, closed_at=ts(1, 25, 22), final_path="repaired", actual_repair_cost=2500,
                hire_days=10),
        outcome(d6, closed_at=ts(2, 13, 8), final_path="repaired", actual_repair_cost=3000,
                hire_days=6),
        outcome(d7, closed_at=ts(2, 9), final_path="repaired", actual_repair_cost=2000,
                hire_days=2),
        outcome(d5, closed_at=ts(2, 10, 12), final_path="written_off", settlement_amount=5500),
        outcome(d3, closed_at=ts(2, 20), final_path="written_off", settlement_amount=7000),
    ]  # fmt: skip
    w = Warehouse(events=REGISTRY)
    inserted = w.load_events(events)
    assert inserted == {"decision_events": 7, "handler_actions": 5, "claim_outcomes": 5}
    yield w
    w.close()


def approx_rows(rows):
    return [
        {k: pytest.approx(v) if isinstance(v, float) else v for k, v in r.items()} for r in rows
    ]


def test_every_expected_view_exists_and_reads_only_event_tables():
    views = {v.name: v for v in load_views(VIEWS_DIR)}
    assert set(views) == EXPECTED_VIEWS
    tables = {t.table for t in REGISTRY.tables}
    for view in views.values():
        assert view.tables() <= tables, view.name
        assert view.description, view.name


@pytest.mark.parametrize("dialect", DIALECTS)
def test_both_translations_parse_in_their_dialect(dialect):
    for view in load_views(VIEWS_DIR):
        sql = view.translate(dialect)
        tree = sqlglot.parse_one(sql, read=dialect)
        assert tree.find(sqlglot.exp.Select) is not None, view.name
    statements = create_statements(dialect, VIEWS_DIR, schema="ANALYTICS")
    assert len(statements) == len(EXPECTED_VIEWS)
    assert all(s.startswith("CREATE OR REPLACE VIEW ANALYTICS.") for s in statements)


def test_dialect_specific_functions_are_translated():
    cycle = get_view("cycle_time", VIEWS_DIR)
    assert "DATE_DIFF('HOUR'" in cycle.translate("duckdb")
    assert "TIMESTAMPDIFF(HOUR" in cycle.translate("snowflake")
    assert "DATE_DIFF" not in cycle.translate("snowflake")


def test_unknown_view_names_the_known_ones():
    with pytest.raises(ViewError, match="unknown view 'nope'") as err:
        get_view("nope", VIEWS_DIR)
    assert "cycle_time" in err.value.fix


def test_monthly_total_losses_by_region(wh):
    assert wh.view("monthly_total_losses_by_region") == approx_rows([
        {"month_start": date(2026, 1, 1), "region": "London", "decisions": 3, "total_losses": 1,
         "total_loss_rate": 1 / 3, "avg_pav_total_losses": 8000.0},
        {"month_start": date(2026, 1, 1), "region": "North West", "decisions": 2,
         "total_losses": 1, "total_loss_rate": 0.5, "avg_pav_total_losses": 5000.0},
        {"month_start": date(2026, 2, 1), "region": "London", "decisions": 2, "total_losses": 0,
         "total_loss_rate": 0.0, "avg_pav_total_losses": None},
    ])  # fmt: skip


def test_avg_repair_cost_by_make_model(wh):
    assert wh.view("avg_repair_cost_by_make_model") == approx_rows([
        {"make": "Ford", "model": "Focus", "repairs": 3, "avg_predicted_repair_cost": 7000 / 3,
         "repairs_closed": 3, "avg_actual_repair_cost": 2500.0},
        {"make": "Volkswagen", "model": "Golf", "repairs": 1, "avg_predicted_repair_cost": 3000.0,
         "repairs_closed": 0, "avg_actual_repair_cost": None},
    ])  # fmt: skip


def test_investigate_rate(wh):
    rows = wh.view("investigate_rate_monthly")
    assert [(r["region"], r["decisions"], r["investigations"]) for r in rows] == [
        ("London", 3, 1), ("North West", 2, 0), ("London", 2, 0)
    ]  # fmt: skip
    assert rows[0]["investigate_rate"] == pytest.approx(1 / 3)


def test_override_rate_uses_the_latest_action(wh):
    assert wh.view("override_rate_monthly") == approx_rows([
        {"month_start": date(2026, 1, 1), "recommendation": "repair", "actioned": 2,
         "overrides": 0, "override_rate": 0.0, "inspect_rate": 0.5},
        {"month_start": date(2026, 1, 1), "recommendation": "write_off", "actioned": 1,
         "overrides": 1, "override_rate": 1.0, "inspect_rate": 0.0},
        {"month_start": date(2026, 2, 1), "recommendation": "repair", "actioned": 1,
         "overrides": 0, "override_rate": 0.0, "inspect_rate": 0.0},
    ])  # fmt: skip


def test_pav_vs_settlement(wh):
    assert wh.view("pav_vs_settlement") == approx_rows([
        {"month_start": date(2026, 2, 1), "region": "London", "settlements": 1,
         "avg_pav_used": 7500.0, "avg_settlement": 7000.0, "settlement_to_pav": 7000 / 7500,
         "share_settled_above_pav": 0.0},
        {"month_start": date(2026, 2, 1), "region": "North West", "settlements": 1,
         "avg_pav_used": 5000.0, "avg_settlement": 5500.0, "settlement_to_pav": 1.1,
         "share_settled_above_pav": 1.0},
    ])  # fmt: skip


def test_cycle_time(wh):
    assert wh.view("cycle_time") == approx_rows([
        {"month_start": date(2026, 1, 1), "final_path": "repaired", "claims": 1,
         "avg_cycle_days": 20.5, "max_cycle_days": 20.5, "avg_hire_days": 10.0},
        {"month_start": date(2026, 2, 1), "final_path": "repaired", "claims": 2,
         "avg_cycle_days": 5.0, "max_cycle_days": 10.0, "avg_hire_days": 4.0},
        {"month_start": date(2026, 2, 1), "final_path": "written_off", "claims": 2,
         "avg_cycle_days": 28.5, "max_cycle_days": 36.0, "avg_hire_days": None},
    ])  # fmt: skip


def test_model_error_where_outcomes_are_known(wh):
    assert wh.view("model_error") == approx_rows([
        {"month_start": date(2026, 1, 1), "bundle_version": "remedy-20261128-01",
         "repairs_closed": 1, "mae": 500.0, "bias_ratio": 0.8, "interval_coverage_80": 1.0},
        {"month_start": date(2026, 2, 1), "bundle_version": "remedy-20261128-01",
         "repairs_closed": 2, "mae": 1000.0, "bias_ratio": 1.0, "interval_coverage_80": 0.5},
    ])  # fmt: skip


def test_decision_mix(wh):
    rows = wh.view("decision_mix_monthly", order_by="month_start, recommendation")
    assert [(r["month_start"].month, r["recommendation"], r["decisions"]) for r in rows] == [
        (1, "investigate", 1), (1, "repair", 2), (1, "write_off", 2), (2, "repair", 2)
    ]  # fmt: skip
    assert [r["share"] for r in rows] == pytest.approx([0.2, 0.4, 0.4, 1.0])


def test_a_registry_without_views_has_none_and_says_so():
    assert load_views(None) == ()
    assert create_statements("duckdb", None) == []
    with pytest.raises(ViewError, match="unknown view 'cycle_time'") as err:
        get_view("cycle_time", None)
    assert "no views" in err.value.fix
