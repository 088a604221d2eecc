"""backtest.py as the pipeline's Backtest step runs it: the candidate's model.tar.gz, the current
model (or the build's marker prefix: none) and the test split; backtest.json/.html out."""

import json
import sys

import pytest

from remedy_training import backtest, preprocess
from remedy_training.data import pack_model
from remedy_training.demo_bundle import build_demo_bundle

DECISIONS = ("repair", "write_off", "investigate")


@pytest.fixture(scope="module")
def step(tmp_path_factory, small_bundle):
    """The step's /opt/ml/processing as plain directories: model, current, marker, test."""
    base = tmp_path_factory.mktemp("backtest")
    preprocess.main(["--base-dir", str(base), "--claims", "900", "--seed", "5"])
    pack_model(small_bundle, base / "model" / "model.tar.gz")  # as the tuning job writes it
    other = build_demo_bundle(base / "other", claims=1200, rounds=5, seed=11)
    pack_model(other, base / "current" / "model.tar.gz")
    (base / "marker").mkdir()
    (base / "marker" / "SYNTHETIC").write_text("")  # the CurrentModelUri default's only object
    return base


def _run(step, current, out):
    result = backtest.main(
        ["--model", str(step / "model"), "--current", str(step / current),
         "--test", str(step / "test"), "--output", str(step / out)]
    )  # fmt: skip
    written = json.loads((step / out / "backtest.json").read_text())
    assert written == json.loads(json.dumps(result))
    return written, (step / out / "backtest.html").read_text()


@pytest.fixture(scope="module")
def against_current(step):
    return _run(step, "current", "vs-current")


def test_against_a_current_model_every_claim_lands_in_the_decision_change_matrix(
    against_current,
):
    result, page = against_current
    claims = result["claims"]
    assert claims == 135  # the 15% test split of 900
    matrix = result["change_matrix"]
    assert sum(sum(row.values()) for row in matrix.values()) == claims
    for d in DECISIONS:  # rows are the current model's decisions, columns the candidate's
        assert sum(matrix[d].values()) == result["mix"]["current"][d]
        assert sum(matrix[a][d] for a in DECISIONS) == result["mix"]["candidate"][d]
    off_diagonal = sum(matrix[a][b] for a in DECISIONS for b in DECISIONS if a != b)
    assert result["changed"] == off_diagonal > 0, "two different models must disagree somewhere"
    assert result["changed_rate"] == pytest.approx(off_diagonal / claims)
    assert result["current_model"] is True
    assert result["sides"]["candidate"]["model"] != result["sides"]["current"]["model"]
    assert "Decision changes" in page


def test_the_test_split_carries_outcomes_so_the_cost_impact_is_reported(against_current):
    result, _ = against_current
    assert result["outcomes_known"] is True
    o = result["outcomes"]
    assert result["cost_impact"] == pytest.approx(
        o["candidate"]["total_cost"] - o["current"]["total_cost"]
    )
    for by in ("region", "make"):
        rows = result["breakdown"][by]
        assert sum(r["claims"] for r in rows) == result["claims"]
        assert sum(r["changed"] for r in rows) == result["changed"]
        assert sum(r["cost_impact"] for r in rows) == pytest.approx(result["cost_impact"])


def test_the_same_model_on_both_sides_changes_nothing(step):
    result = backtest.backtest(step / "model", step / "model", step / "test", step / "same")[0]
    assert result["changed"] == 0 and result["cost_impact"] == 0
    assert all(result["change_matrix"][d][d] == result["mix"]["current"][d] for d in DECISIONS)


def test_without_a_current_model_the_candidate_is_reported_alone(step):
    result, page = _run(step, "marker", "alone")
    assert set(result["sides"]) == {"candidate"} and result["current_model"] is False
    assert result["change_matrix"] is None and result["changed"] is None
    assert result["cost_impact"] is None
    assert sum(result["mix"]["candidate"].values()) == result["claims"] == 135
    assert set(result["outcomes"]) == {"candidate"}
    assert result["outcomes"]["candidate"]["total_cost"] > 0
    rows = result["breakdown"]["region"]
    assert sum(r["claims"] for r in rows) == 135 and "changed" not in rows[0]
    assert "no current model" in page and "Decision changes" not in page


def test_a_current_input_that_is_no_model_is_refused_not_skipped(step, tmp_path):
    (tmp_path / "notes.txt").write_text("not a model")
    with pytest.raises(SystemExit, match=r"neither a model\.tar\.gz nor a bundle"):
        backtest.backtest(step / "model", tmp_path, step / "test", tmp_path / "out")


def test_without_matplotlib_the_report_has_its_tables_and_no_plots(step, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # the training image has none
    result, page = _run(step, "current", "no-plots")
    assert "<img" not in page and "No plots" in page
    assert "By region" in page and f"{result['claims']:,} claims" in page
