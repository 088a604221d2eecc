"""Bad names, bad answers and malformed templates are rejected with messages that say what to do."""

from __future__ import annotations

import pytest

from mlops.onboarding import (
    AnswersError,
    TemplateError,
    get_template,
    load_template,
    onboard,
    validate_answers,
)

from .conftest import OWNER, copy_template


@pytest.fixture(scope="module")
def tabular():
    return get_template("tabular-classification")


def _problems(tabular, answers: dict) -> list[str]:
    with pytest.raises(AnswersError) as err:
        validate_answers(tabular, {"usecase_name": "churn", "owner_email": OWNER, **answers})
    assert err.value.fix == (
        "fix the answers (see `mlops templates` for tabular-classification's questions and "
        "defaults)"
    )
    header, *lines = err.value.message.splitlines()
    assert header == "invalid answers for template tabular-classification:"
    return [line.strip() for line in lines]


@pytest.mark.parametrize(
    ("answers", "problem"),
    [
        (
            {"usecase_name": "Churn_Risk"},
            "usecase_name: use lower-case letters, digits and single hyphens, starting with a "
            "letter (e.g. churn-risk)",
        ),
        ({"usecase_name": "a" * 33}, "usecase_name: must be at most 32 characters"),
        (
            {"owner_email": "jane"},
            "owner_email: must be an e-mail address such as jane.doe@example.com",
        ),
        ({"aws_region": "london"}, "aws_region: must be an AWS region code such as eu-west-2"),
        ({"eval_threshold": 1.5}, "eval_threshold: must be in (0, 1]"),
        ({"eval_threshold": "high"}, "eval_threshold: must be a number, got 'high'"),
        ({"tuning_max_jobs": 2.5}, "tuning_max_jobs: must be a whole number, got 2.5"),
        (
            {"tuning_max_jobs": 5, "tuning_max_parallel": 6},
            "tuning_max_parallel: must not exceed tuning_max_jobs (5)",
        ),
        ({"model_family": "xgboost"}, "model_family: 'xgboost' is not one of lightgbm, sklearn"),
        (
            {"numeric_features": "[]", "categorical_features": "[]"},
            "categorical_features: give at least one feature",
        ),
        (
            {"numeric_features": "[label]"},
            "categorical_features: must not contain the target column label",
        ),
        (
            {"numeric_features": "[Age]"},
            "numeric_features: must contain only snake_case column names",
        ),
        (
            {"numeric_features": "[a, b]", "categorical_features": "[b]"},
            "categorical_features: a column is listed twice across numeric_features and "
            "categorical_features",
        ),
        ({"color": "blue"}, "color: is not a question of this template"),
        (
            {"template_version": "9.9.9"},
            "template_version: is template metadata and cannot be answered",
        ),
        ({"repo_kind": "training"}, "repo_kind: is set by mlops onboard"),
    ],
)
def test_bad_answer_is_named_with_the_fix(tabular, answers: dict, problem: str) -> None:
    assert _problems(tabular, answers) == [problem]


def test_every_problem_is_reported_at_once(tabular) -> None:
    problems = _problems(tabular, {"owner_email": "x", "eval_threshold": 0, "surprise": 1})
    assert [p.split(":")[0] for p in problems] == ["surprise", "owner_email", "eval_threshold"]


def test_required_answer_without_default(tabular) -> None:
    with pytest.raises(AnswersError) as err:
        validate_answers(tabular, {"usecase_name": "churn"})
    assert "owner_email: is required (E-mail of the accountable lead data scientist.)" in str(
        err.value
    )


def test_good_answers_are_completed_with_typed_defaults(tabular) -> None:
    full = validate_answers(
        tabular, {"usecase_name": "churn", "owner_email": OWNER, "eval_threshold": "0.9"}
    )
    assert full["eval_threshold"] == 0.9
    assert full["description"] == "Tabular binary classifier for churn"  # Jinja default
    assert full["numeric_features"] == ["tenure_months", "monthly_spend", "support_calls"]
    assert full["tuning_max_jobs"] == 20
    assert "repo_kind" not in full and "template_version" not in full


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("Claims", "invalid use-case name 'Claims'"),
        ("claims--demo", "invalid use-case name 'claims--demo'"),
        ("9claims", "invalid use-case name '9claims'"),
        ("c" * 33, f"invalid use-case name '{'c' * 33}'"),
    ],
)
def test_bad_use_case_name(tmp_path, name: str, message: str) -> None:
    with pytest.raises(AnswersError) as err:
        onboard(name, "tabular-classification", answers={"owner_email": OWNER}, out=tmp_path)
    assert err.value.message == message
    assert err.value.fix.startswith("use lower-case letters, digits and single hyphens")
    assert list(tmp_path.iterdir()) == []


def test_unknown_template_lists_the_known_ones(tmp_path) -> None:
    with pytest.raises(TemplateError) as err:
        onboard("claims", "tabular-regression", answers={"owner_email": OWNER}, out=tmp_path)
    assert err.value.message == "unknown template 'tabular-regression'"
    assert err.value.fix == (
        "use one of: remedy, tabular-classification (list them with `mlops templates`)"
    )


def test_answers_name_must_match_the_command(tmp_path) -> None:
    with pytest.raises(AnswersError, match="usecase_name is 'other' but the use case is 'claims'"):
        onboard(
            "claims",
            "tabular-classification",
            answers={"owner_email": OWNER, "usecase_name": "other"},
            out=tmp_path,
        )


def test_manifest_fields_are_validated_before_rendering(tmp_path) -> None:
    from mlops.errors import ManifestError

    with pytest.raises(ManifestError, match="data_classification"):
        onboard(
            "claims",
            "tabular-classification",
            answers={"owner_email": OWNER, "manifest": {"data_classification": "secret"}},
            out=tmp_path / "out",
            usecases_dir=tmp_path / "usecases",
        )
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda text: text.replace("template_version:", "version_of_template:"),
            "templates/tabular-classification/copier.yml lacks the question(s) template_version",
        ),
        (
            lambda text: text.replace('default: "1.0.0"', 'default: "1.0"'),
            "templates/tabular-classification/copier.yml: template_version '1.0' is not "
            "MAJOR.MINOR.PATCH",
        ),
        (
            lambda text: text.replace("default: tabular-classification", "default: tabular"),
            "templates/tabular-classification/copier.yml: template_name is 'tabular' but the "
            "folder is 'tabular-classification'",
        ),
        (
            lambda text: text.replace("type: float", "type: decimal", 1),
            "templates/tabular-classification/copier.yml: question 'eval_threshold' has unknown "
            "type 'decimal'",
        ),
    ],
)
def test_malformed_template_is_reported(tmp_path, edit, message: str) -> None:
    folder = copy_template("tabular-classification", tmp_path)
    conf = folder / "copier.yml"
    conf.write_text(edit(conf.read_text()))
    with pytest.raises(TemplateError) as err:
        load_template(folder)
    assert err.value.message == message
