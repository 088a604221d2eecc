"""Render every template over a matrix of answers (after databricks/mlops-stacks, stronger).

Each rendered repo: no Jinja left, every .py parses, `ruff check` passes with the repo's own
config, and the answers show up where they should. Unsupported combinations are dropped from the
matrix (`_supported`), never skipped inside a test.
"""

from __future__ import annotations

import itertools

import pytest
import yaml

from mlops.onboarding import discover

from .conftest import OWNER, jinja_leftovers, render, ruff, unparsable

KINDS = ("training", "inference")

# tabular-classification: model x metric x feature layout x region
FEATURE_LAYOUTS = {
    "mixed": {
        "numeric_features": "[tenure_months, monthly_spend]",
        "categorical_features": "[plan]",
    },
    "numeric-only": {"numeric_features": "[x1, x2, x3, x4]", "categorical_features": "[]"},
    "categorical-only": {"numeric_features": "[]", "categorical_features": "[region, product]"},
    "none": {"numeric_features": "[]", "categorical_features": "[]"},
}


def _supported(model: str, metric: str, layout: str, region: str) -> bool:
    """The combinations the template supports (the others are dropped from the matrix)."""
    # a model needs at least one feature (the template's validator rejects "none"; see
    # test_answers.py); everything else is a supported combination
    return layout != "none"


def _tabular_combos() -> list[tuple[str, str, str, str]]:
    """Every supported model x layout pair, metric and region rotating: each value of every
    dimension appears, at a fraction of the full product's cost."""
    pairs = [
        (model, layout)
        for model, layout in itertools.product(["lightgbm", "sklearn"], FEATURE_LAYOUTS)
        if _supported(model, "roc_auc", layout, "eu-west-2")
    ]
    metrics = ["roc_auc", "f1", "average_precision", "accuracy"]
    return [
        (model, metrics[i % 4], layout, ["eu-west-2", "us-east-1"][i % 2])
        for i, (model, layout) in enumerate(pairs)
    ]


TABULAR = [
    pytest.param(
        {
            "usecase_name": f"tc-{model[:3]}-{metric[:3]}-{layout[:3]}-{region[-1]}",
            "owner_email": OWNER,
            "model_family": model,
            "eval_metric": metric,
            "aws_region": region,
            "eval_threshold": 0.65,
            "tuning_max_jobs": 12,
            "tuning_max_parallel": 3,
            **FEATURE_LAYOUTS[layout],
        },
        kind,
        id=f"{model}-{metric}-{layout}-{region}-{kind}",
    )
    for (model, metric, layout, region), kind in itertools.product(_tabular_combos(), KINDS)
]

REMEDY = [
    pytest.param(
        {"usecase_name": f"claims-{j}", "owner_email": OWNER, "jurisdiction": j},
        kind,
        id=f"{j}-{kind}",
    )
    for j, kind in itertools.product(["uk", "us"], KINDS)
]


def test_matrix_covers_every_value() -> None:
    answers = [p.values[0] for p in TABULAR]
    assert {a["model_family"] for a in answers} == {"lightgbm", "sklearn"}
    assert {a["eval_metric"] for a in answers} == {"roc_auc", "f1", "average_precision", "accuracy"}
    assert {a["aws_region"] for a in answers} == {"eu-west-2", "us-east-1"}
    assert {a["numeric_features"] for a in answers} == {
        v["numeric_features"] for k, v in FEATURE_LAYOUTS.items() if k != "none"
    }
    assert len(answers) == 2 * 3 * len(KINDS)


def test_every_template_is_in_a_matrix() -> None:
    assert {t.name for t in discover()} == {"tabular-classification", "remedy"}


def _common_checks(root, answers: dict, kind: str) -> dict:
    assert jinja_leftovers(root) == []
    assert unparsable(root) == []
    lint = ruff(root)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    recorded = yaml.safe_load((root / ".copier-answers.yml").read_text())
    assert recorded["repo_kind"] == kind
    assert recorded["_commit"].startswith("v")
    for key, value in answers.items():
        expected = yaml.safe_load(value) if key.endswith("_features") else value
        assert recorded[key] == expected, key
    return recorded


@pytest.mark.parametrize(("answers", "kind"), TABULAR)
def test_tabular_renders_clean(store, tmp_path, answers: dict, kind: str) -> None:
    root = render(store, "tabular-classification", answers, kind, tmp_path / kind)
    recorded = _common_checks(root, answers, kind)
    assert recorded["_template"] == "tabular-classification"

    settings = (root / "src/tabular_core/usecase.py").read_text()
    name = answers["usecase_name"]
    assert f'USECASE_NAME = "{name}"' in settings
    assert f'MODEL_FAMILY = "{answers["model_family"]}"' in settings
    assert f'EVAL_METRIC = "{answers["eval_metric"]}"' in settings
    assert f'AWS_REGION = "{answers["aws_region"]}"' in settings
    assert "EVAL_THRESHOLD = 0.65" in settings
    for column in yaml.safe_load(answers["numeric_features"]):
        assert f'    "{column}",' in settings
    pyproject = (root / "pyproject.toml").read_text()
    assert f'name = "{name}-{kind}"' in pyproject
    assert '"mlops-platform>=0.1"' in pyproject  # the platform library, never a copy of it
    assert ('"lightgbm>=4.5"' in pyproject) == (answers["model_family"] == "lightgbm")
    assert not (root / "mlops").exists()
    # the shared module is byte-for-byte the template's single source
    core = store.checkout("tabular-classification", recorded["_commit"]) / "core/tabular_core"
    assert (root / "src/tabular_core/schema.py").read_bytes() == (core / "schema.py").read_bytes()
    if kind == "training":
        estimator = (root / "src/tabular_training/estimator.py").read_text()
        assert f'FAMILY = "{answers["model_family"]}"' in estimator
        readme = (root / "README.md").read_text()  # the budget is the manifest's, not the README's
        assert "Tune (Bayesian)" in readme and "come from the use case's manifest" in readme
        assert not (root / "src/tabular_inference").exists()
    else:
        assert (root / "Pulumi.yaml").read_text().startswith(f"name: {name}-inference\n")
        assert not (root / "src/tabular_training").exists()


@pytest.mark.parametrize(("answers", "kind"), REMEDY)
def test_remedy_renders_clean(store, tmp_path, answers: dict, kind: str) -> None:
    root = render(store, "remedy", answers, kind, tmp_path / kind)
    recorded = _common_checks(root, answers, kind)
    assert recorded["_template"] == "remedy"
    assert (root / "src/remedy_core/claims.py").is_file()
    assert (root / f"src/remedy_{kind}").is_dir()
    other = "inference" if kind == "training" else "training"
    assert not (root / f"src/remedy_{other}").exists()
