"""preprocess.py -> train.py -> evaluate.py end to end on a small sample, as plain Python."""

import contextlib
import io
import json

import pytest

from remedy_training import evaluate, preprocess, train


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    base = tmp_path_factory.mktemp("sm")
    sizes = preprocess.main(["--base-dir", str(base), "--claims", "1500", "--seed", "2"])
    assert sizes == {"train": 1050, "validation": 225, "test": 225}
    return base


@pytest.fixture(scope="module")
def trained(run_dir):
    """train.py as SageMaker runs it: channels and model dir from SM_* variables."""
    mp = pytest.MonkeyPatch()
    mp.setenv("SM_CHANNEL_TRAIN", str(run_dir / "train"))
    mp.setenv("SM_CHANNEL_VALIDATION", str(run_dir / "validation"))
    mp.setenv("SM_MODEL_DIR", str(run_dir / "model"))
    mp.setenv("SM_OUTPUT_DATA_DIR", str(run_dir / "output"))
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        result = train.main(["--num_boost_round", "15", "--num_leaves", "15"])
    mp.undo()
    return result, buf.getvalue()


@pytest.fixture(scope="module")
def evaluated(run_dir, trained):
    out = run_dir / "evaluation"
    res = evaluate.main(
        [
            "--model",
            str(run_dir / "model"),
            "--test",
            str(run_dir / "test"),
            "--output",
            str(out),
            "--eval-metric",
            "repair_cost_mdape",
            "--eval-threshold",
            "0.9",
        ]
    )
    return res, json.loads((out / "evaluation.json").read_text())


def test_train_reads_channels_and_emits_the_objective_line(run_dir, trained):
    result, out = trained
    assert "validation:repair_mdape=" in out
    assert result["hyperparameters"]["num_boost_round"] == 15
    assert (run_dir / "model" / "manifest.json").is_file()
    assert (run_dir / "model" / "bundle.onnx").is_file()
    assert json.loads((run_dir / "output" / "metrics.json").read_text())["repair_mdape"] > 0


def test_evaluate_writes_the_domain_metrics(run_dir):
    out = run_dir / "evaluation"
    res = evaluate.main(
        [
            "--model",
            str(run_dir / "model"),
            "--test",
            str(run_dir / "test"),
            "--output",
            str(out),
            "--eval-metric",
            "repair_cost_mdape",
            "--eval-threshold",
            "0.9",
        ]
    )
    data = json.loads((out / "evaluation.json").read_text())
    for key in (
        "repair_cost_mae",
        "repair_cost_mdape",
        "repair_cost_bias",
        "repair_cost_coverage_80",
        "pav_within_10pct",
        "wrong_write_off_rate",
        "investigate_rate",
        "ece_total_loss",
        "decision_cost_per_claim",
    ):
        assert key in data["metrics"], key
    confusion = data["decision"]["confusion_cost_gbp"]
    assert set(confusion) == {"repair", "write_off"}
    assert set(confusion["repair"]) == {"repair", "write_off", "investigate"}
    assert confusion["repair"]["repair"] == 0.0 and confusion["write_off"]["write_off"] == 0.0
    assert data["gate"]["passed"] is True and res["gate"]["metric"] == "repair_cost_mdape"


def test_evaluate_reads_a_sagemaker_model_tarball(run_dir, trained, tmp_path):
    from remedy_training.data import pack_model

    tar = pack_model(run_dir / "model", tmp_path / "model" / "model.tar.gz")
    res = evaluate.evaluate(tar.parent, run_dir / "test")
    assert res["n_claims"] == 225


def test_missing_channel_names_the_fix(tmp_path):
    with pytest.raises(FileNotFoundError, match="preprocess"):
        train.main(
            [
                "--train",
                str(tmp_path),
                "--validation",
                str(tmp_path),
                "--model-dir",
                str(tmp_path / "m"),
            ]
        )


def test_evaluation_sweeps_the_investigation_margin(evaluated):
    _, data = evaluated
    sweep = data["decision_margin_sweep"]
    assert sweep["0.00"]["investigate_rate"] == 0.0
    rates = [v["investigate_rate"] for v in sweep.values()]
    assert rates == sorted(rates)  # a wider band sends more claims to investigation


def test_preprocess_uses_supplied_claims_and_ignores_markers(tmp_path):
    from remedy_core.synthetic import generate_claims

    (tmp_path / "input").mkdir()
    (tmp_path / "input" / "SYNTHETIC").write_text("")
    assert sum(preprocess.run(tmp_path, claims=200, seed=1).values()) == 200
    generate_claims(300, seed=9).to_parquet(tmp_path / "input" / "claims.parquet")
    assert sum(preprocess.run(tmp_path, claims=200, seed=1).values()) == 300
