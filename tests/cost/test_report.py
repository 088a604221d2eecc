"""`mlops cost` through the real typer app."""

from __future__ import annotations

import json
import sys

import pytest
from typer.testing import CliRunner

from mlops.cli import app, main

runner = CliRunner()
_built: dict = {}


@pytest.fixture(autouse=True)
def _build_each_stack_once(monkeypatch):
    """The command runs the real program; build each stack once for this module (speed only)."""
    import mlops.program

    real = mlops.program.build_stack

    def cached(stack, *args, **kwargs):
        if stack not in _built:
            _built[stack] = real(stack, *args, **kwargs)
        return _built[stack]

    monkeypatch.setattr(mlops.program, "build_stack", cached)


def test_cost_table_for_one_stack(monkeypatch) -> None:
    from mlops import console

    monkeypatch.setattr(console.out, "width", 240)  # keeps table cells on one line
    result = runner.invoke(app, ["cost", "--stack", "prod"])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "prod: estimated monthly cost (eu-west-2, USD, list prices as of 2026-11-01)" in out
    assert "remedy: real-time ml.c6i.large x 2" in out
    assert "usage assumptions" in out and "requests_per_day" in out
    assert "all serverless" in out and "all real-time" in out
    assert "free (" in out and "Role x" in out  # zero-cost types are listed, not hidden


def test_cost_all_json_shows_dev_vs_prod_and_modes() -> None:
    result = runner.invoke(app, ["cost", "--all", "--json"])
    assert result.exit_code == 0, result.output
    docs = {d["stack"]: d for d in json.loads(result.stdout)}
    assert set(docs) == {"dev", "staging", "prod"}
    dev, prod = docs["dev"], docs["prod"]
    assert dev["assumptions"]["requests_per_day"] < prod["assumptions"]["requests_per_day"]
    # remedy: serverless in dev, two real-time instances in prod
    assert prod["monthly_endpoints"] > dev["monthly_endpoints"]
    modes = prod["endpoint_modes"]
    assert modes["serverless"]["monthly_endpoints"] < modes["realtime"]["monthly_endpoints"]
    for doc in docs.values():
        assert doc["monthly_total"] == pytest.approx(sum(i["monthly"] for i in doc["items"]),
                                                     abs=0.05)  # fmt: skip
        assert doc["not_priced"] == {}, doc["not_priced"]


def test_usage_options_change_the_estimate() -> None:
    def endpoints(*args: str) -> float:
        result = runner.invoke(app, ["cost", "--stack", "dev", "--json", *args])
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)["monthly_endpoints"]

    base = endpoints()
    assert endpoints("--requests-per-day", "5000") > base
    assert endpoints("--payload-kb", "400") > base
    assert endpoints("--endpoint-mode", "realtime") > 50  # an always-on instance
    doc = json.loads(runner.invoke(app, ["cost", "-s", "dev", "--json", "--requests-per-day",
                                         "7"]).stdout)  # fmt: skip
    assert doc["assumptions"]["requests_per_day"] == 7


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--endpoint-mode", "batch"], 2, "--endpoint-mode 'batch' is not a mode"),
        (["--stack", "qa"], 1, "unknown stack 'qa'"),
        (["--stack", "dev", "--all"], 2, "give either --stack or --all"),
        (["--requests-per-day", "-5"], 2, "--requests-per-day must not be negative"),
    ],
)
def test_bad_options_are_clear_errors(monkeypatch, capsys, args, code, message) -> None:
    monkeypatch.setattr(sys, "argv", ["mlops", "cost", *args])
    with pytest.raises(SystemExit) as exit_info:
        main()
    assert exit_info.value.code == code
    err = capsys.readouterr().err
    assert f"error: {message}" in err
    assert "fix: " in err
