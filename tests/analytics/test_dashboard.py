"""Dashboard: offline HTML with every chart, PNG files, PSI, and a headless-Chromium render."""

from __future__ import annotations

import io
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from remedy_core.drift_features import KEY_FEATURES
from remedy_core.simulate import reference_rows, simulate_events

from mlops.analytics.drift import DriftError, FeatureProfile, ReferenceProfile, psi_by_month
from mlops.analytics.warehouse import Warehouse
from mlops.local.remedy import remedy_analytics

from .factories import REGISTRY

CHARTS = {
    "monthly_total_losses_by_region",
    "avg_repair_cost_by_make_model",
    "decision_mix",
    "rates",
    "input_drift",
    "pav_vs_settlement",
    "cycle_time",
    "model_error",
}
HEALTH_CHARTS = {"health_drift", "health_error"}  # on model-health.html, not on index.html
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory):
    out = tmp_path_factory.mktemp("dash")
    with Warehouse(events=REGISTRY) as wh:
        wh.load_events(simulate_events(520, seed=3, days=120))
        reference = ReferenceProfile.from_rows(
            reference_rows(600), "simulated training set", KEY_FEATURES
        )
        # Remedy's dashboard through its manifest's entry point (analytics.dashboard)
        result = remedy_analytics().render_dashboard(wh, out, reference=reference)
        frame = wh.frame(
            "SELECT CAST(DATE_TRUNC('month', decided_at) AS DATE) AS month_start, "
            "vehicle_age_years, mileage, delta_v_kph, zones_hit_count, max_zone_severity "
            "FROM decision_events"
        )
        result.psi = psi_by_month(frame, reference)
    return result


def test_psi_is_small_for_the_same_distribution_and_large_for_a_shift():
    rng = np.random.default_rng(0)
    profile = FeatureProfile.from_values("x", rng.normal(size=5000))
    assert profile.psi(rng.normal(size=3000)) < 0.02
    assert profile.psi(rng.normal(1.0, 1.0, size=3000)) > 0.5
    assert np.isnan(profile.psi([]))
    with pytest.raises(DriftError, match="need at least 10"):
        FeatureProfile.from_values("x", [1.0, 2.0])


def test_reference_profile_round_trips(tmp_path):
    ref = ReferenceProfile.from_rows(reference_rows(300), "sim", KEY_FEATURES)
    path = ref.save(tmp_path / "ref.json")
    assert ReferenceProfile.load(path) == ref
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(DriftError, match="cannot read the drift reference profile"):
        ReferenceProfile.load(tmp_path / "bad.json")


def test_dashboard_writes_one_png_per_chart_and_a_self_contained_html(dashboard):
    assert set(dashboard.png_paths) == CHARTS | HEALTH_CHARTS
    for path in dashboard.png_paths.values():
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", path
    page = dashboard.html_path.read_text()
    assert page.count('<img alt="') == len(CHARTS)
    assert page.count("data:image/png;base64,") == len(CHARTS)
    # Offline: nothing is fetched from anywhere (no http(s) URL in src/href, no external script).
    assert not re.search(r"(src|href)\s*=\s*[\"']?(https?:)?//", page)
    assert "<script src" not in page
    for slug in CHARTS:
        assert f'id="chart-{slug}"' in page


def _non_blank(png: bytes) -> float:
    import matplotlib.image as mpimg

    img = mpimg.imread(io.BytesIO(png), format="png")
    return float(img[..., :3].std())


def test_drift_is_computed_per_month_and_rises_after_the_simulated_shift(dashboard):
    age = [r for r in dashboard.psi if r["feature"] == "vehicle_age_years"]
    assert len(age) == 4 and all(r["n"] >= 100 for r in age)  # Jan..Apr, shift in Apr
    assert age[0]["psi"] < 0.2 < age[-1]["psi"], age
    assert _non_blank(dashboard.png_paths["input_drift"].read_bytes()) > 0.05


@pytest.mark.browser
@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian chromium")
def test_dashboard_renders_in_headless_chromium(dashboard, tmp_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox", "--disable-gpu", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
            ],
        )  # fmt: skip
        context = browser.new_context(viewport={"width": 1280, "height": 900}, offline=True)
        page = context.new_page()
        requests: list[str] = []
        page.on("request", lambda r: requests.append(r.url))
        page.goto(dashboard.html_path.as_uri())
        page.wait_for_function("document.body.getAttribute('data-charts-loaded') !== null")
        loaded = int(page.get_attribute("body", "data-charts-loaded"))
        widths = page.eval_on_selector_all("figure img", "els => els.map(e => e.naturalWidth)")
        shot = page.screenshot(full_page=True)
        browser.close()
    assert loaded == len(CHARTS)
    assert len(widths) == len(CHARTS) and min(widths) > 300
    assert all(u.startswith(("file:", "data:")) for u in requests), requests
    (tmp_path / "shot.png").write_bytes(shot)
    assert _non_blank(shot) > 0.05
