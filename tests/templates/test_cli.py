"""`mlops onboard`, `mlops update`, `mlops templates` through the real typer app."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import yaml
from typer.testing import CliRunner

from mlops.cli import app, main

from .conftest import OWNER

runner = CliRunner()


@pytest.fixture(autouse=True)
def _wide_console(monkeypatch: pytest.MonkeyPatch) -> None:
    """rich wraps at 80 columns when not on a terminal; compare whole lines instead."""
    from mlops import console

    for c in (console.out, console.err):
        monkeypatch.setattr(c, "_width", 400)


def test_templates_lists_both_templates_with_questions() -> None:
    result = runner.invoke(app, ["templates", "--json"])
    assert result.exit_code == 0, result.output
    doc = {t["name"]: t for t in json.loads(result.stdout)}
    assert set(doc) == {"remedy", "tabular-classification"}
    tabular = doc["tabular-classification"]
    assert tabular["version"] == "1.0.0"
    assert tabular["description"].startswith("Generic tabular binary classifier")
    questions = {q["name"]: q for q in tabular["questions"]}
    assert questions["model_family"]["choices"] == ["lightgbm", "sklearn"]
    assert questions["eval_threshold"] == {
        "name": "eval_threshold",
        "type": "float",
        "default": 0.7,
        "choices": [],
        "help": "A model is registered only if eval_metric >= this value.",
    }
    assert "repo_kind" not in questions and "template_version" not in questions


def test_templates_table() -> None:
    result = runner.invoke(app, ["templates"])
    assert result.exit_code == 0, result.output
    for text in ("use-case templates", "tabular-classification", "remedy", "lightgbm | sklearn"):
        assert text in result.stdout


def test_onboard_prints_where_things_are_and_next_steps(tmp_path) -> None:
    answers = tmp_path / "answers.yml"
    answers.write_text(yaml.safe_dump({"owner_email": OWNER, "model_family": "sklearn"}))
    out, usecases = tmp_path / "out", tmp_path / "usecases"
    result = runner.invoke(
        app,
        [
            "onboard",
            "claims-demo",
            "--template",
            "tabular-classification",
            "--answers",
            str(answers),
            "--out",
            str(out),
            "--usecases-dir",
            str(usecases),
        ],
    )
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[:5] == [
        "ok: onboarded claims-demo from template tabular-classification 1.0.0",
        f"  training repo:  {out / 'claims-demo-training'}",
        f"  inference repo: {out / 'claims-demo-inference'}",
        f"  manifest:       {usecases / 'claims-demo.yaml'}",
        "next steps:",
    ]
    assert lines[5].startswith(f"  1. cd {out / 'claims-demo-training'} && python -m pytest")
    assert (out / "claims-demo-training" / "src/tabular_training/estimator.py").is_file()


def _main(monkeypatch, capsys, *args: str) -> tuple[int, str]:
    monkeypatch.setattr(sys, "argv", ["mlops", *args])
    with pytest.raises(SystemExit) as exit_info:
        main()
    return exit_info.value.code, capsys.readouterr().err


def test_onboard_bad_name_exit_1_with_message(monkeypatch, capsys, tmp_path) -> None:
    code, err = _main(
        monkeypatch, capsys, "onboard", "Claims", "-t", "remedy", "--out", str(tmp_path)
    )
    assert code == 1
    assert err.splitlines()[0] == "error: invalid use-case name 'Claims'"
    assert "fix: use lower-case letters, digits and single hyphens" in err


def test_onboard_bad_answers_file_exit_1(monkeypatch, capsys, tmp_path) -> None:
    answers = tmp_path / "answers.yml"
    answers.write_text("eval_threshold: 3\nowner_email: nobody\n")
    code, err = _main(
        monkeypatch,
        capsys,
        "onboard",
        "claims",
        "-t",
        "tabular-classification",
        "--answers",
        str(answers),
        "--out",
        str(tmp_path / "out"),
    )
    assert code == 1
    assert err.splitlines()[:3] == [
        "error: invalid answers for template tabular-classification:",
        "  owner_email: must be an e-mail address such as jane.doe@example.com",
        "  eval_threshold: must be in (0, 1]",
    ]
    assert not (tmp_path / "out").exists()


def test_onboard_existing_use_case_exit_1(monkeypatch, capsys, tmp_path) -> None:
    (tmp_path / "out" / "claims-training").mkdir(parents=True)
    answers = tmp_path / "answers.yml"
    answers.write_text(f"owner_email: {OWNER}\n")
    code, err = _main(
        monkeypatch,
        capsys,
        "onboard",
        "claims",
        "-t",
        "tabular-classification",
        "--answers",
        str(answers),
        "--out",
        str(tmp_path / "out"),
        "--usecases-dir",
        str(tmp_path / "usecases"),
    )
    assert code == 1
    assert err.splitlines() == [
        f"error: already exists: {tmp_path / 'out' / 'claims-training'}",
        "  fix: choose another name or --out, or pass --force to replace them",
    ]


def test_update_of_a_folder_that_is_not_a_rendered_repo(monkeypatch, capsys, tmp_path) -> None:
    code, err = _main(monkeypatch, capsys, "update", str(tmp_path))
    assert code == 1
    assert err.splitlines()[0] == (
        f"error: {tmp_path} has no .copier-answers.yml: it was not rendered by `mlops onboard`"
    )


def test_update_up_to_date_repo(tmp_path) -> None:
    from mlops.onboarding import onboard

    result = onboard(
        "claims",
        "tabular-classification",
        answers={"owner_email": OWNER},
        out=tmp_path / "out",
        usecases_dir=tmp_path / "usecases",
    )
    cli = runner.invoke(app, ["update", str(result.repos["inference"])])
    assert cli.exit_code == 0, cli.output
    assert cli.stdout.strip() == (
        "ok: claims-inference is already at tabular-classification v1.0.0"
    )
    status = subprocess.run(
        ["git", "status", "--porcelain"],
        cwd=result.repos["inference"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert status.stdout == ""  # a no-op update leaves the repo untouched


@pytest.mark.parametrize("args", [["x", "--open-prs"], ["--all", "--dry-run", "--open-prs"]])
def test_update_open_prs_goes_with_all_and_no_dry_run(monkeypatch, capsys, args) -> None:
    code, err = _main(monkeypatch, capsys, "update", *args)
    assert code == 2
    assert err.splitlines()[0] == "error: --open-prs goes with --all and without --dry-run"


def test_update_open_prs_without_a_token_says_which_to_set(monkeypatch, capsys, tmp_path) -> None:
    for key in ("GH_TOKEN", "GITHUB_TOKEN", "MLOPS_GIT_TOKEN_SECRET"):
        monkeypatch.delenv(key, raising=False)
    code, err = _main(monkeypatch, capsys, "update", "--all", "--open-prs",
                      "--repos-dir", str(tmp_path))  # fmt: skip
    assert code == 1
    assert "no Git token" in err.splitlines()[0] and "export GH_TOKEN" in err
