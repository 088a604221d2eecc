"""`mlops check` through the real typer app."""

from __future__ import annotations

import json
from pathlib import Path

import pulumi_aws as aws
import pytest
from typer.testing import CliRunner

import mlops.program
from mlops.cli import app
from mlops.errors import UsageError
from mlops.policy.base import REGISTRY
from mlops.policy.check import PolicyConfigError

from . import builders as b
from .conftest import record
from .test_check_stacks import EXPECTED, seeded_bad_stack
from .test_linters import BAD_CFN

runner = CliRunner()


@pytest.fixture
def bad_program(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make every stack build the seeded bad stack instead of the real program."""
    monkeypatch.setattr(mlops.program, "build_stack", lambda stack: record(seeded_bad_stack, stack))


def _compliant_stack() -> None:
    b.secure_bucket("data")
    b.kms_key()
    b.state_machine()


def test_check_passes_on_a_compliant_stack(monkeypatch: pytest.MonkeyPatch) -> None:
    """(The real program's three stacks are checked in test_check_stacks.py.)"""
    monkeypatch.setattr(mlops.program, "build_stack", lambda stack: record(_compliant_stack, stack))
    result = runner.invoke(app, ["check", "--stack", "dev"])
    assert result.exit_code == 0, result.output
    assert "stack dev: ok" in result.output
    assert "ok: 1 stack(s) pass" in result.output


def test_check_exits_non_zero_on_a_mandatory_violation(bad_program) -> None:
    result = runner.invoke(app, ["check", "--stack", "staging"])
    assert result.exit_code == 1, result.output
    assert "stack staging: FAILED" in result.output
    for rule in EXPECTED:
        assert f"] {rule}: " in result.output
    assert (
        "- ci-admin (aws:iam/policy:Policy): policy: statement Admin allows Action '*'"
        in result.output
    )
    assert "fix: name the actions the principal needs" in result.output


def test_demoting_every_rule_lets_the_bad_stack_pass(bad_program, tmp_path: Path) -> None:
    config = tmp_path / "policy.json"
    config.write_text(json.dumps({"all": "advisory"}))
    result = runner.invoke(app, ["check", "--stack", "dev", "--policy-config", str(config)])
    assert result.exit_code == 0, result.output
    assert "0 mandatory and 5 advisory violations" in result.output


def test_check_all_json(bad_program) -> None:
    result = runner.invoke(app, ["check", "--all", "--json"])
    assert result.exit_code == 1
    doc = json.loads(result.stdout)
    assert [d["stack"] for d in doc] == ["dev", "staging", "prod", "prod-eu-west-1"]
    assert all({v["rule"] for v in d["violations"]} == set(EXPECTED) for d in doc)


def test_check_needs_a_stack_or_all() -> None:
    result = runner.invoke(app, ["check"])
    assert isinstance(result.exception, UsageError)
    assert result.exception.message == "give exactly one of --stack <name> and --all"


def test_unknown_rule_in_config_is_named(tmp_path: Path) -> None:
    config = tmp_path / "policy.json"
    config.write_text(json.dumps({"s3-encryption": "advisory"}))
    result = runner.invoke(app, ["check", "--stack", "dev", "--policy-config", str(config)])
    assert isinstance(result.exception, PolicyConfigError)
    assert result.exception.message == "policy config names unknown rules: s3-encryption"


def test_list_rules_shows_every_rule_with_its_level() -> None:
    result = runner.invoke(app, ["check", "--list-rules"])
    assert result.exit_code == 0
    rows = {ln.split()[0]: ln.split()[1:4] for ln in result.output.splitlines() if ln.strip()}
    assert set(rows) == set(REGISTRY)
    assert rows["s3-sse-kms-bucket-key"] == ["resource", "mandatory", "critical"]
    assert rows["s3-bucket-has-controls"] == ["stack", "mandatory", "critical"]


def test_a_failed_lint_fails_the_check(monkeypatch: pytest.MonkeyPatch) -> None:
    def stack() -> None:
        _compliant_stack()
        aws.s3.BucketObjectv2("template", bucket="b", key="t.yaml", content=BAD_CFN, tags=b.TAGS)

    monkeypatch.setattr(mlops.program, "build_stack", lambda name: record(stack, name))
    result = runner.invoke(app, ["check", "--stack", "dev"])
    assert result.exit_code == 1, result.output
    assert "0 mandatory and 0 advisory violations, 2 lint runs (1 failed)" in result.output
    assert "[failed] cfn-lint template.content: 1 errors" in result.output
