"""`python -m bench`: discovery, one table, result files with the machine, failures reported."""

from __future__ import annotations

import io
import json
import textwrap

import pytest
from rich.console import Console

from bench.__main__ import main
from bench.common import check_rows, machine, row

OK = """
from bench.common import row

def run(quick):
    return [row("fast path", "vs slow path", 2.0, "ms", None),
            row("slow path", "vs fast path", 8.0, "ms", 4.0, note="quick" if quick else ""),
            row("target row", "goal", 3.0, "ms", target="<= 2.5")]
"""
BOOM = """
def run(quick):
    raise RuntimeError("valuation service unreachable")
"""
EMPTY = """
def run(quick):
    return []
"""


@pytest.fixture
def bench_dir(tmp_path):
    for name, body in (("ok", OK), ("boom", BOOM), ("empty", EMPTY)):
        (tmp_path / f"bench_{name}.py").write_text(textwrap.dedent(body))
    (tmp_path / "helpers.py").write_text("raise SystemExit('not a benchmark: never imported')\n")
    return tmp_path


def _run(args, bench_dir):
    out = io.StringIO()
    code = main(args, directory=bench_dir, results_dir=bench_dir / "results",
                console=Console(file=out, width=200))  # fmt: skip
    return code, out.getvalue()


def test_failing_benchmarks_are_reported_and_the_rest_still_run(bench_dir) -> None:
    code, out = _run(["--quick"], bench_dir)
    assert code == 1
    assert "fast path" in out and "4.00x" in out
    assert "RuntimeError: valuation service unreachable" in out
    assert "must return a non-empty list" in out
    assert "FAILED: boom, empty" in out
    ok = json.loads((bench_dir / "results" / "ok.quick.json").read_text())
    assert ok["ok"] and ok["quick"] and len(ok["rows"]) == 3
    assert ok["rows"][2]["target"] == "<= 2.5" and ok["rows"][2]["met"] is False
    assert "NOT MET" in out and "load average" in out
    assert ok["rows"][1]["note"] == "quick"
    expected = {"cores", "memory_gb", "cpu_model", "python", "date", "load_avg_1m"}
    assert expected <= set(ok["machine"])
    boom = json.loads((bench_dir / "results" / "boom.quick.json").read_text())
    assert boom["ok"] is False and "valuation service unreachable" in boom["error"]


def test_all_passing_exits_zero(bench_dir) -> None:
    code, out = _run(["--only", "ok"], bench_dir)
    assert code == 0, out
    assert (bench_dir / "results" / "ok.json").exists()  # full size: the committed evidence
    assert not (bench_dir / "results" / "boom.json").exists()


def test_nothing_selected_is_an_error(bench_dir) -> None:
    code, out = _run(["--only", "nope"], bench_dir)
    assert code == 1 and "no benchmarks found" in out


def test_rows_are_validated() -> None:
    assert check_rows([row("a", "b", 1, "s")])[0]["ratio"] is None
    with pytest.raises(ValueError, match="lacks unit, ratio"):
        check_rows([{"name": "a", "compared": "b", "value": 1}])
    with pytest.raises(ValueError, match="value must be a number"):
        check_rows([{"name": "a", "compared": "b", "value": "fast", "unit": "s", "ratio": None}])


def test_machine_description() -> None:
    info = machine()
    assert info["cores"] >= 1 and info["python"].startswith("3.")
    assert info["memory_gb"] is None or info["memory_gb"] > 0


@pytest.mark.parametrize(
    ("value", "target", "met"),
    [(300.0, "<= 300", True), (300.1, "<= 300", False), (8.0, ">= 8", True),
     (7.9, ">= 8", False), (20_000, ">= 20,000", True), (0.5, "< 0.5", False)],
)  # fmt: skip
def test_a_row_with_a_target_says_whether_it_was_met(value, target, met) -> None:
    r = row("x", "y", value, "ms", target=target)
    assert r["target"] == target and r["met"] is met
    assert "met" not in row("x", "y", value, "ms")


def test_a_malformed_target_is_refused_naming_the_form() -> None:
    with pytest.raises(ValueError, match="expected '<op> <number>'"):
        row("x", "y", 1.0, "ms", target="<= fast")
    with pytest.raises(ValueError, match="operator must be one of"):
        row("x", "y", 1.0, "ms", target="== 1")
