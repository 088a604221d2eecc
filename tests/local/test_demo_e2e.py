"""`mlops demo` end to end (small budget), plus the claims-handler view in headless Chromium:
open a decision, check the values against the API, override with a reason, and find the
override in the analytics warehouse."""

from __future__ import annotations

import io
from pathlib import Path

import httpx
import pytest
from rich.console import Console

from mlops.local.demo import DemoOptions, run_demo
from mlops.local.embedded_aws import port_in_use

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TEXT = {"repair": "Repair", "write_off": "Write off", "investigate": "Investigate further"}
DOCS_IMG = Path(__file__).resolve().parents[2] / "docs" / "img"


def _handler_override(api_url: str, shot: Path) -> dict:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1700})
            page.goto(f"{api_url}/handler")
            page.locator("#decisions a").first.click()
            page.wait_for_selector("#recommendation")
            decision_id = page.url.rsplit("/", 1)[-1]
            api = httpx.get(f"{api_url}/v1/decisions/{decision_id}").json()
            seen = {
                "recommendation": page.inner_text("#recommendation"),
                "claim": page.inner_text("#claim-id"),
                "reasons": page.inner_text("#reasons"),
                "gauge": page.locator("#gauge").count(),
                "comparables": page.locator("#comparables tr").count(),
            }
            page.screenshot(path=str(shot), full_page=True)
            page.select_option("#override-reason", "VALUATION_DISPUTE")
            page.select_option("#final-recommendation", "investigate")
            page.click("#override")
            page.wait_for_selector("#recorded")
            seen["recorded"] = page.inner_text("#recorded")
        finally:
            browser.close()
    return {"api": api, "page": seen, "decision_id": decision_id}


@pytest.mark.skipif(not CHROMIUM.exists(), reason="make test installs chromium (scripts/)")
def test_demo_runs_end_to_end_and_handler_override_reaches_analytics(tmp_path: Path) -> None:
    from mlops.analytics.warehouse import Warehouse

    opts = DemoOptions(tmp_path / "demo", trials=2, claims=40, train_claims=2000)
    seen: dict = {}

    def ready(summary, deployment, stream) -> None:
        seen.update(_handler_override(summary.api_url, tmp_path / "handler.png"))
        deployment.ship()
        with Warehouse(tmp_path / "check.duckdb", events=stream.events) as wh:
            stream.refresh(wh)
            seen["actions"] = wh.frame(
                "SELECT decision_event_id, action, override_reason, final_recommendation "
                "FROM handler_actions"
            ).to_dict("records")
        seen["ports"] = [deployment.services[s].port for s in deployment.services]
        seen["aws_port"] = int(summary.endpoint_url.rsplit(":", 1)[-1])

    summary = run_demo(opts, Console(file=io.StringIO(), width=120), on_ready=ready)

    # the lifecycle
    assert summary.package_arn.endswith("/1")
    assert summary.gate["passed"] is True
    assert summary.approval["lead data scientist (ellen-ward)"] == "Approved"
    assert "explicitly denied" in summary.approval["data scientist (priya-shah)"]
    assert sum(summary.decisions.values()) == 40
    assert set(summary.decisions) <= {"repair", "write_off", "investigate"}
    assert summary.rejected == 3
    assert summary.outage["without market data"] >= 5
    assert summary.analytics["decisions in warehouse"] == 40
    assert Path(summary.artefacts["dashboard"]).exists()
    assert Path(summary.artefacts["model card"]).exists()

    # model health: the shifted month's drift and quality drop are detected, the worse
    # candidate is rolled back to the package that was live before it
    health = summary.health
    assert health.ev_share[1] > 2 * health.ev_share[0]
    assert health.psi["powertrain"] > 0.2
    assert any("input powertrain drifted" in a for a in health.alarms)
    assert health.shifted["repair_mae"] > health.baseline["repair_mae"]
    assert health.candidate["worse_checks"], health.candidate_alarms
    assert health.rollback["to"] == summary.package_arn
    assert health.rollback["live"] == summary.package_arn
    assert health.rollback["from"].endswith("/2")
    assert Path(summary.artefacts["model-health page"]).exists()

    # the handler view shows what the API decided, and the override reaches the warehouse
    api, page = seen["api"], seen["page"]
    assert page["recommendation"] == TEXT[api["recommendation"]]
    assert page["claim"] == api["claim_id"]
    assert all(r["code"] in page["reasons"] for r in api["reasons"])
    assert page["gauge"] == (1 if api["ratio"] else 0)
    assert page["recorded"] == "Recorded: override"
    assert {
        "decision_event_id": seen["decision_id"],
        "action": "override",
        "override_reason": "VALUATION_DISPUTE",
        "final_recommendation": "investigate",
    } in seen["actions"]
    assert (tmp_path / "handler.png").stat().st_size > 20_000

    # nothing left running
    for port in [*seen["ports"], seen["aws_port"]]:
        assert not port_in_use(port), port
