"""`mlops preview`: the real program under mocks, as a tree and as JSON."""

from __future__ import annotations

import json
import sys

import pytest
from typer.testing import CliRunner

from mlops.cli import app, main
from mlops.config import ENVIRONMENTS
from mlops.preview import StackPreview

runner = CliRunner()


def test_program_builds_for_every_stack_without_duplicates(program) -> None:
    assert program.resources, "the program registered nothing"
    assert program.duplicate_keys() == []
    providers = program.of_type("pulumi:providers:aws")
    assert len(providers) == 1
    assert json.loads(providers[0].inputs["allowedAccountIds"]) == [program.account_id]
    default_tags = json.loads(providers[0].inputs["defaultTags"])["tags"]
    assert {"owner", "cost-centre", "data-classification", "environment"} <= set(default_tags)


def test_preview_json_lists_every_resource() -> None:
    result = runner.invoke(app, ["preview", "--stack", "staging", "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    expected = StackPreview.build("staging")
    assert doc["stack"] == "staging"
    assert doc["resource_count"] == len(expected.resources) == len(doc["resources"])
    assert sum(doc["counts_by_type"].values()) == doc["resource_count"]
    assert {(r["type"], r["name"]) for r in doc["resources"]} == {
        (r.type, r.name) for r in expected.resources
    }


def test_preview_tree_shows_counts() -> None:
    result = runner.invoke(app, ["preview", "--stack", "dev"])
    assert result.exit_code == 0, result.output
    assert "stack dev" in result.stdout
    assert "resources per type" in result.stdout


def test_preview_unknown_stack_is_a_clear_error(monkeypatch, capsys) -> None:
    monkeypatch.setattr(sys, "argv", ["mlops", "preview", "--stack", "qa"])
    with pytest.raises(SystemExit) as exit_info:
        main()
    assert exit_info.value.code == 1
    err = capsys.readouterr().err
    assert "error: unknown stack 'qa'" in err
    assert "fix: use one of dev, staging, prod" in err


def test_every_stack_previews() -> None:
    for env in ENVIRONMENTS:
        assert StackPreview.build(env).resources
