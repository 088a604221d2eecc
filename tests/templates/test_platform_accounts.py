"""Rendered inference repos take their account ids and region from the platform's
configuration (its `Pulumi.<stack>.yaml` files), not from ids fixed in the template."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from mlops.config import REPO_ROOT, load_stack_config
from mlops.onboarding import (
    AnswersError,
    get_template,
    platform_answers,
    templates,
    validate_answers,
)
from mlops.onboarding import answers as answers_module
from mlops.onboarding.templates import PLATFORM_FILE

from .conftest import OWNER, render

STAGES = ("dev", "staging", "prod")
OTHER = {
    "aws_region": "eu-central-1",
    "dev_account_id": "444444444444",
    "staging_account_id": "555555555555",
    "prod_account_id": "666666666666",
}


def test_platform_answers_are_read_from_the_stack_files(tmp_path: Path) -> None:
    cfg = load_stack_config("dev")
    assert platform_answers() == {
        "aws_region": cfg.region,
        "dev_account_id": cfg.accounts.dev,
        "staging_account_id": cfg.accounts.staging,
        "prod_account_id": cfg.accounts.prod,
    }
    # another platform's files: its own ids
    for env in STAGES:
        text = (REPO_ROOT / f"Pulumi.{env}.yaml").read_text()
        for old, new in (("111111111111", "444444444444"), ("222222222222", "555555555555"),
                         ("333333333333", "666666666666")):  # fmt: skip
            text = text.replace(old, new)
        (tmp_path / f"Pulumi.{env}.yaml").write_text(text)
    shutil.copy(REPO_ROOT / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    other = platform_answers(tmp_path)
    assert [other[f"{e}_account_id"] for e in STAGES] == [OTHER[f"{e}_account_id"] for e in STAGES]


@pytest.mark.parametrize("template", ["remedy", "tabular-classification"])
def test_rendered_stack_files_name_the_platforms_accounts_and_region(
    store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, template: str
) -> None:
    """With a platform whose accounts differ from every example id, each stage's stack file names
    that platform's account and region (fails with ids fixed in the template)."""
    monkeypatch.setattr(answers_module, "platform_answers", lambda root=REPO_ROOT: dict(OTHER))
    repo = render(store, template, {"usecase_name": "claims", "owner_email": OWNER}, "inference",
                  tmp_path / "inference")  # fmt: skip
    for env in STAGES:
        config = yaml.safe_load((repo / f"Pulumi.{env}.yaml").read_text())["config"]
        assert config["claims-inference:accountId"] == OTHER[f"{env}_account_id"], env
        assert config["aws:region"] == OTHER["aws_region"], env
        assert config["claims-inference:platformStack"] == f"organization/mlops-platform/{env}"


def test_a_given_account_id_is_validated() -> None:
    info = get_template("remedy")
    with pytest.raises(AnswersError, match="dev_account_id: must be a 12-digit AWS account id"):
        validate_answers(
            info, {"usecase_name": "claims", "owner_email": OWNER, "dev_account_id": "1234"}
        )


def test_update_of_a_repo_rendered_before_the_account_questions(tmp_path, monkeypatch) -> None:
    """`mlops update` of a repo rendered from a template version without the account questions:
    the new version's questions are answered from the platform's config (copier runs with
    defaults, and these questions have none)."""
    from mlops.onboarding import TemplateStore, onboard, update

    from .conftest import copy_template
    from .test_update import _bump

    root = tmp_path / "templates"
    folder = copy_template("tabular-classification", root)
    conf = root / PLATFORM_FILE  # the platform questions every template includes
    current = conf.read_text()
    start = current.index("dev_account_id:")
    conf.write_text(current[:start])  # the template before the questions (they come last)
    stacks = {
        p.name: p.read_text()
        for p in (folder / "inference").glob("Pulumi.*.yaml.jinja")
        if p.name != "Pulumi.yaml.jinja"
    }
    for name in stacks:
        (folder / "inference" / name).unlink()
    monkeypatch.setenv("MLOPS_TEMPLATES_DIR", str(root))
    older = tuple(q for q in templates.PLATFORM_QUESTIONS if not q.endswith("_account_id"))
    with monkeypatch.context() as m:
        m.setattr(templates, "PLATFORM_QUESTIONS", older)
        result = onboard("churn", "tabular-classification", answers={"owner_email": OWNER},
                         out=tmp_path / "out", usecases_dir=tmp_path / "usecases",
                         store=TemplateStore(str(tmp_path / "store")))  # fmt: skip
    repo = result.repos["inference"]
    assert not (repo / "Pulumi.dev.yaml").exists()
    conf.write_text(current)
    for name, text in stacks.items():
        (folder / "inference" / name).write_text(text)
    _bump(folder, "1.1.0")

    update(repo)

    expected = platform_answers()
    answers = yaml.safe_load((repo / ".copier-answers.yml").read_text())
    for env in STAGES:
        assert answers[f"{env}_account_id"] == expected[f"{env}_account_id"], env
        config = yaml.safe_load((repo / f"Pulumi.{env}.yaml").read_text())["config"]
        assert config["churn-inference:accountId"] == expected[f"{env}_account_id"], env
