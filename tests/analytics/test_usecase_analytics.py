"""The platform's analytics know no use case. A use case's events and dashboard come
from its manifest's entry points (``analytics:``), imported by mlops.analytics.usecase; drift and
monitoring settings have no default features."""

from __future__ import annotations

import copy
import re
import subprocess
import sys

import pytest
import yaml
from pydantic import ValidationError

from mlops.analytics.drift import DriftError, ReferenceProfile
from mlops.analytics.settings import AnalyticsSettings
from mlops.analytics.usecase import analytics_for, load_analytics, template_sources
from mlops.analytics.warehouse import Warehouse
from mlops.config import REPO_ROOT
from mlops.errors import ManifestError
from mlops.usecases import USECASES_DIR, parse_manifest

REMEDY = yaml.safe_load((USECASES_DIR / "remedy.yaml").read_text())
SOURCE = "usecases/remedy.yaml"


def _remedy(**analytics: str | None) -> dict:
    data = copy.deepcopy(REMEDY)
    for key, value in analytics.items():
        if value is None:
            data["analytics"].pop(key, None)
        else:
            data["analytics"][key] = value
    return data


def _load(**analytics: str | None):
    return load_analytics(parse_manifest(_remedy(**analytics), SOURCE), SOURCE)


def test_remedys_events_and_dashboard_come_from_its_manifest():
    import remedy_core.dashboard
    import remedy_core.events

    loaded = analytics_for("remedy", USECASES_DIR)
    assert loaded.events is remedy_core.events.REGISTRY
    assert loaded.dashboard is remedy_core.dashboard.render
    assert loaded.source == SOURCE


@pytest.mark.parametrize(
    ("field", "ref", "message", "fix"),
    [
        ("events", "remedy_nope.events:REGISTRY", "cannot import remedy_nope.events",
         "install the use case's package"),
        ("events", "remedy_core.events:NOPE", "remedy_core.events has no attribute 'NOPE'",
         "correct analytics.events"),
        ("events", "remedy_core.events:SCHEMA_VERSION", "is a str, not an EventRegistry",
         "mlops.events.EventRegistry"),
        ("dashboard", "remedy_core.dashboard:TITLE", "is not callable", "a function"),
        ("dashboard", "remedy_core.nope:render", "cannot import remedy_core.nope",
         "correct analytics.dashboard"),
    ],
)  # fmt: skip
def test_a_bad_entry_point_names_the_file_the_field_and_the_fix(field, ref, message, fix):
    with pytest.raises(ManifestError) as info:
        _load(**{field: ref})
    assert info.value.message.startswith(f"{SOURCE}: analytics.{field} {ref!r}"), info.value
    assert message in info.value.message
    assert fix in info.value.fix


def test_a_manifest_without_analytics_says_what_to_add():
    data = copy.deepcopy(REMEDY)
    del data["analytics"]
    with pytest.raises(ManifestError) as info:
        load_analytics(parse_manifest(data, SOURCE), SOURCE)
    assert "usecases/remedy.yaml declares no analytics entry points" in info.value.message
    assert "add analytics: {events: <module>:<attribute>" in info.value.fix


def test_a_use_case_without_a_dashboard_cannot_render_one(tmp_path):
    loaded = _load(dashboard=None)
    assert loaded.dashboard is None
    with Warehouse(events=loaded.events) as wh, pytest.raises(ManifestError) as info:
        loaded.render_dashboard(wh, tmp_path)
    assert "declares no analytics.dashboard" in info.value.message
    assert "add analytics.dashboard: <module>:<function>" in info.value.fix
    assert not list(tmp_path.iterdir())


def test_an_unknown_use_case_lists_the_known_ones(tmp_path):
    with pytest.raises(ManifestError) as info:
        analytics_for("churn", USECASES_DIR)
    assert "use case 'churn' has no manifest" in info.value.message
    assert "pass --usecase with one of: remedy" in info.value.fix


def test_template_code_not_installed_is_found_in_this_checkouts_template():
    """A fresh interpreter, nothing of Remedy on its path: the manifest's entry points still
    import (from templates/remedy), and the template's sources are core/ and each repo's src/."""
    assert template_sources("remedy") == [
        REPO_ROOT / "templates/remedy/core",
        REPO_ROOT / "templates/remedy/inference/src",
        REPO_ROOT / "templates/remedy/training/src",
    ]
    assert template_sources("no-such-template") == []
    code = (
        "import importlib.util, sys\n"
        "assert importlib.util.find_spec('remedy_core') is None\n"
        "from mlops.analytics.usecase import analytics_for\n"
        "a = analytics_for('remedy')\n"
        "print(type(a.events).__name__, a.dashboard.__module__, len(a.events.tables))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.split() == ["EventRegistry", "remedy_core.dashboard", "3"]


def test_the_analytics_library_knows_no_claims():
    """mlops/analytics names no use case's domain (the local demo may know Remedy)."""
    pattern = re.compile(r"claim|vehicle|salvage|write.?off", re.IGNORECASE)
    hits = [
        str(p.relative_to(REPO_ROOT))
        for p in sorted((REPO_ROOT / "mlops" / "analytics").rglob("*.py"))
        if pattern.search(p.read_text())
    ]
    assert hits == []


def test_drift_profiles_have_no_default_features():
    rows = [{"x": float(i), "colour": "red" if i % 3 else "blue"} for i in range(50)]
    with pytest.raises(TypeError, match="features"):
        ReferenceProfile.from_rows(rows, "no features named")  # type: ignore[call-arg]
    with pytest.raises(DriftError, match="no features to profile"):
        ReferenceProfile.from_rows(rows, "empty", ())
    profile = ReferenceProfile.from_rows(rows, "named", ("x",), ("colour",))
    assert list(profile.features) == ["x"] and list(profile.categories) == ["colour"]


def test_monitoring_settings_name_the_use_cases_features():
    assert AnalyticsSettings().monitoring.features == ()
    on = AnalyticsSettings.model_validate(
        {"monitoring": {"enabled": True, "features": ["age_years", "income"]}}
    )
    assert on.monitoring.features == ("age_years", "income")
    with pytest.raises(ValidationError, match=r"monitoring\.features: name the inputs"):
        AnalyticsSettings.model_validate({"monitoring": {"enabled": True}})
    with pytest.raises(ValidationError, match="features"):
        AnalyticsSettings.model_validate({"monitoring": {"features": ["not a column"]}})


def test_the_platform_dashboard_frame_draws_no_use_case_charts():
    import mlops.analytics.dashboard as frame

    assert not [n for n in dir(frame) if n.startswith(("chart_", "_chart_", "render"))]


@pytest.mark.parametrize(
    ("template", "expected"),
    [("remedy", REMEDY["analytics"]), ("tabular-classification", None)],
)
def test_onboarding_copies_the_templates_entry_points_into_the_manifest(template, expected):
    from mlops.onboarding import get_template
    from mlops.onboarding.manifest import build_manifest

    answers = {"usecase_name": "claims-demo", "owner_email": "jane.doe@example.com",
               "eval_metric": "total_loss_auc", "eval_threshold": 0.8, "tuning_max_jobs": 10,
               "tuning_max_parallel": 2}  # fmt: skip
    manifest = parse_manifest(build_manifest(get_template(template), answers, {}), "onboarded")
    declared = manifest.analytics.model_dump() if manifest.analytics else None
    assert declared == expected


def test_a_templates_analytics_must_be_entry_point_strings():
    from mlops.onboarding import TemplateError
    from mlops.onboarding.templates import ANALYTICS_KEY, Question, _analytics

    source = "templates/x/copier.yml"
    assert _analytics(None, source) == {}
    good = Question(
        ANALYTICS_KEY, "yaml", default={"events": "x_core.events:REGISTRY"}, hidden=True
    )
    assert _analytics(good, source) == {"events": "x_core.events:REGISTRY"}
    for bad in ("x_core.events:REGISTRY", {"events": ["x_core.events:REGISTRY"]}):
        with pytest.raises(TemplateError) as info:
            _analytics(Question(ANALYTICS_KEY, "yaml", default=bad, hidden=True), source)
        assert info.value.message == (
            f"{source}: template_analytics must map names to <module>:<attribute> strings"
        )
        assert info.value.fix == (
            "declare template_analytics: {type: yaml, when: false, default: {events: "
            "<module>:<attribute>, dashboard: <module>:<function>}}"
        )
