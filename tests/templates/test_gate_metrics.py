"""A use case may gate only on a metric its template's evaluation reports: the
template declares them (`template_gate_metrics` in copier.yml, checked here against the template's
own code), every manifest in usecases/ is checked against it, and onboarding refuses the rest."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from mlops.config import REPO_ROOT
from mlops.errors import ManifestError
from mlops.onboarding import get_template, onboard
from mlops.usecases import (
    check_manifest_against_template,
    load_manifest,
    load_manifests,
    manifest_paths,
    parse_manifest,
)

from .conftest import OWNER

TEMPLATES = REPO_ROOT / "templates"


def _assigned(path: Path, name: str) -> object:
    """The literal value of a module-level assignment (read without importing the module)."""
    for node in ast.parse(path.read_text()).body:
        targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
        if any(isinstance(t, ast.Name) and t.id == name for t in targets):
            return ast.literal_eval(node.value)
    raise LookupError(f"{path} assigns no {name}")


def test_remedy_declares_exactly_the_one_sided_metrics_its_evaluation_reports() -> None:
    code = TEMPLATES / "remedy/training/src/remedy_training/metrics.py"
    directions = _assigned(code, "METRIC_DIRECTIONS")
    one_sided = {"higher": "maximize", "lower": "minimize"}
    expected = {m: one_sided[d] for m, d in directions.items() if d in one_sided}
    assert get_template("remedy").gate_metrics == expected
    assert "macro_f1" not in get_template("remedy").gate_metrics


def test_tabular_declares_exactly_the_metrics_its_evaluation_reports() -> None:
    code = TEMPLATES / "tabular-classification/training/src/tabular_training/evaluate.py"
    metrics = _assigned(code, "METRICS")
    assert get_template("tabular-classification").gate_metrics == dict.fromkeys(metrics, "maximize")


@pytest.mark.parametrize("path", manifest_paths(), ids=lambda p: p.name)
def test_every_manifest_gates_on_a_metric_its_template_reports(path: Path) -> None:
    manifest = load_manifest(path)
    check_manifest_against_template(manifest)  # raises ManifestError otherwise
    metrics = get_template(manifest.template).gate_metrics
    assert metrics[manifest.evaluation.metric] == manifest.evaluation.direction


def _remedy(**evaluation: object):
    data = load_manifests()[0].model_dump(mode="json")
    data["evaluation"] = {**data["evaluation"], **evaluation}
    return parse_manifest(data, "usecases/remedy.yaml")


def test_a_metric_the_template_does_not_report_is_rejected() -> None:
    with pytest.raises(ManifestError) as err:
        check_manifest_against_template(_remedy(metric="macro_f1"))
    assert err.value.message == (
        "usecases/remedy.yaml: evaluation.metric 'macro_f1' is not reported by template "
        "'remedy', so the gate could never pass"
    )
    assert "total_loss_auc (maximize)" in err.value.fix


def test_a_gate_in_the_wrong_direction_is_rejected() -> None:
    with pytest.raises(ManifestError) as err:
        check_manifest_against_template(_remedy(metric="wrong_write_off_rate"))
    assert "better when it is lower" in err.value.message
    assert err.value.fix == "set evaluation.direction: minimize"


def test_onboarding_refuses_a_gate_metric_the_template_does_not_report(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="'macro_f1' is not reported by template 'remedy'"):
        onboard(
            "claims-demo",
            "remedy",
            answers={"owner_email": OWNER, "eval_metric": "macro_f1"},
            out=tmp_path / "out",
            usecases_dir=tmp_path / "usecases",
        )
    assert not (tmp_path / "usecases").exists() and not (tmp_path / "out").exists()


def test_onboarding_takes_the_gate_direction_from_the_template(tmp_path: Path) -> None:
    result = onboard(
        "claims-demo",
        "remedy",
        answers={"owner_email": OWNER, "eval_metric": "repair_cost_mdape", "eval_threshold": 0.25},
        out=tmp_path / "out",
        usecases_dir=tmp_path / "usecases",
    )
    manifest = load_manifest(result.manifest)
    assert (manifest.evaluation.metric, manifest.evaluation.direction) == (
        "repair_cost_mdape",
        "minimize",
    )
