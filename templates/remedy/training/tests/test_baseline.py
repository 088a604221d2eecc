"""The Baseline step's script: Model Monitor statistics and constraints of the encoded inputs."""

from __future__ import annotations

import json

import numpy as np
import pytest

from remedy_core.features import FEATURE_NAMES
from remedy_core.synthetic import generate_claims
from remedy_training.baseline import baseline, main
from remedy_training.data import write_frame


def test_statistics_of_a_known_column():
    X = np.zeros((4, len(FEATURE_NAMES)))
    X[:, 0] = [1.0, 2.0, 3.0, np.nan]
    statistics, constraints = baseline(X)
    first = statistics["features"][0]
    assert first["name"] == FEATURE_NAMES[0]
    num = first["numerical_statistics"]
    assert num["common"] == {"num_present": 3, "num_missing": 1}
    assert (num["mean"], num["sum"], num["min"], num["max"]) == (2.0, 6.0, 1.0, 3.0)
    assert sum(b["count"] for b in num["distribution"]["kll"]["buckets"]) == 3
    assert first["inferred_type"] == "Integral"
    assert constraints["features"][0]["completeness"] == pytest.approx(0.75)
    assert constraints["monitoring_config"]["distribution_constraints"]["comparison_method"] == (
        "Robust"
    )
    assert statistics["dataset"] == {"item_count": 4}


def test_wrong_width_is_refused():
    with pytest.raises(ValueError, match="shape"):
        baseline(np.zeros((3, 2)))


def test_the_step_writes_both_files_from_the_train_split(tmp_path):
    write_frame(generate_claims(200, seed=4), tmp_path / "train")
    out = main(["--train", str(tmp_path / "train"), "--output", str(tmp_path / "baseline")])
    assert out == {"rows": 200, "features": len(FEATURE_NAMES)}
    stats = json.loads((tmp_path / "baseline" / "statistics.json").read_text())
    cons = json.loads((tmp_path / "baseline" / "constraints.json").read_text())
    assert [f["name"] for f in stats["features"]] == list(FEATURE_NAMES)
    assert [f["name"] for f in cons["features"]] == list(FEATURE_NAMES)
