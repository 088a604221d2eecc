import json

from tabular_core import usecase
from tabular_training import evaluate, preprocess, train


def test_model_learns_the_signal(schema, frame) -> None:
    parts = preprocess.split(frame, schema)
    model = train.fit(parts["train"], schema, {})
    metrics = evaluate.compute_metrics(model, parts["test"], schema)
    assert set(metrics) == set(evaluate.METRICS)
    assert metrics["roc_auc"] > 0.75, metrics


def test_gate_follows_the_threshold() -> None:
    metrics = {name: 0.8 for name in evaluate.METRICS}
    assert evaluate.passes_gate(metrics, threshold=0.8)
    assert not evaluate.passes_gate(metrics, threshold=0.81)
    assert evaluate.report(metrics, 0.9)["gate"] == {
        "metric": usecase.EVAL_METRIC,
        "threshold": 0.9,
        "passed": False,
    }


def test_train_cli_saves_model_and_prints_tuner_metric(tmp_path, capsys) -> None:
    written = preprocess.run(None, tmp_path / "data", synthetic_rows=600)
    metrics = train.main(
        [
            "--train",
            str(written["train"]),
            "--validation",
            str(written["validation"]),
            "--model-dir",
            str(tmp_path / "model"),
        ]
    )
    assert (tmp_path / "model" / train.MODEL_FILE).exists()
    saved = json.loads((tmp_path / "model" / train.METADATA_FILE).read_text())
    assert saved["usecase"] == usecase.USECASE_NAME
    out = capsys.readouterr().out
    assert f"validation:{usecase.EVAL_METRIC}={metrics[usecase.EVAL_METRIC]:.6f}" in out

    result = evaluate.run(tmp_path / "model", written["test"], tmp_path / "evaluation")
    on_disk = json.loads((tmp_path / "evaluation" / evaluate.REPORT_FILE).read_text())
    assert on_disk == result
    assert on_disk["metrics"][usecase.EVAL_METRIC]["value"] > 0.5
