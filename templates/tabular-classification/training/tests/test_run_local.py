from tabular_core import usecase
from tabular_training import run_local


def test_local_flow_tunes_evaluates_and_gates(tmp_path) -> None:
    result = run_local.run(tmp_path, rows=800, trials=2)
    assert (tmp_path / "model" / "model.joblib").exists()
    assert (tmp_path / "evaluation" / "evaluation.json").exists()
    value = result["metrics"][usecase.EVAL_METRIC]["value"]
    assert result["gate"]["passed"] == (value >= usecase.EVAL_THRESHOLD)
