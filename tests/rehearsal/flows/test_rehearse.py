"""`mlops rehearse` on the real estate: every scenario runs, fails only as mlops/rehearsal/
expected.yaml says (each entry naming the issue that fixes it), and no entry outlives its failure.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from mlops.cli import app, main
from mlops.rehearsal import scenarios
from mlops.rehearsal.scenarios import EXPECTED_FILE, SCENARIOS, run_scenarios

pytestmark = pytest.mark.xdist_group("rehearsal")

ISSUES = ("[platform-up] #15", "[training-flow] #16", "[promotion-flow] #17", "[governance] #23")


@pytest.fixture(scope="module")
def rehearsal(estate):
    return run_scenarios(estate)


def test_every_scenario_runs_with_steps(rehearsal):
    results, _ = rehearsal
    assert [r.name for r in results] == list(SCENARIOS)
    for r in results:
        assert r.steps, f"scenario {r.name} has no steps"
    attacks = next(r for r in results if r.name == "attacks")
    assert attacks.steps and all(s.expect == "deny" for s in attacks.steps)


def test_no_step_fails_unless_listed_in_expected_yaml(rehearsal):
    results, _ = rehearsal
    failed = [
        f"{r.name} | {s.id}\n    {s.verdict.outcome}: {s.verdict.reason}"
        for r in results
        for s in r.failed
    ]
    assert not failed, (
        f"{len(failed)} rehearsal step(s) fail and are not in {EXPECTED_FILE.name} "
        "(fix them, or list them with the issue that fixes them):\n" + "\n".join(failed[:30])
    )


def test_no_expected_failure_outlives_its_failure(rehearsal):
    results, unused = rehearsal
    stale = [f"{r.name} | {s.id}" for r in results for s in r.stale]
    gone = [f"{e.id} (reason {e.reason!r})" for e in unused]
    assert not stale and not gone, (
        f"entries of {EXPECTED_FILE.name} no longer fail; remove them:\n"
        + "\n".join([*stale, *gone][:30])
    )


def test_expected_entries_name_the_issue_that_fixes_them():
    entries = yaml.safe_load(EXPECTED_FILE.read_text()) or []
    for entry in entries:
        assert entry["issue"] in ISSUES, f"{entry['match']}: issue {entry['issue']!r}"
        assert entry["why"].strip(), f"{entry['match']}: say why it fails"
        assert entry["match"].split(" | ")[0] in SCENARIOS, entry["match"]


def test_bad_expected_file_is_refused(tmp_path: Path):
    bad = tmp_path / "expected.yaml"
    bad.write_text(yaml.safe_dump([{"match": "x", "issue": "[platform-up] #15"}]))
    with pytest.raises(ValueError, match="missing \\['why'\\]"):
        scenarios.load_expected(bad)
    bad.write_text(yaml.safe_dump([{"match": "x", "issue": "i", "why": "w", "typo": 1}]))
    with pytest.raises(ValueError, match="unknown keys \\['typo'\\]"):
        scenarios.load_expected(bad)


def test_cli_json_reports_verdicts_and_exit_code(estate, monkeypatch):
    monkeypatch.setattr("mlops.rehearsal.commands.build", lambda usecase="remedy": estate)
    result = CliRunner().invoke(app, ["rehearse", "--scenario", "audit", "--json"])
    doc = json.loads(result.stdout)
    audit = doc["scenarios"]["audit"]
    assert audit["steps"], doc
    assert {s["verdict"] for s in audit["steps"]} <= {"allowed", "denied", "unreachable", "invalid"}
    expected_code = 0 if doc["passed"] else 1
    assert result.exit_code == expected_code, result.output


def test_cli_refuses_an_unknown_scenario(estate, monkeypatch, capsys):
    monkeypatch.setattr("mlops.rehearsal.commands.build", lambda usecase="remedy": estate)
    monkeypatch.setattr(sys, "argv", ["mlops", "rehearse", "--scenario", "platfrom-up"])
    with pytest.raises(SystemExit) as exit_info:
        main()
    err = capsys.readouterr().err
    assert exit_info.value.code == 1
    assert err.splitlines()[0] == "error: unknown scenario 'platfrom-up'"
    assert "fix: use one of: platform-up, onboarding" in err
