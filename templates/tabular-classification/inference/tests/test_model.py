import json

import pytest

from tabular_core.schema import SchemaError, synthetic_frame
from tabular_inference.model import ModelNotFoundError, Predictor


def test_predictions_are_probabilities_with_labels(predictor, schema) -> None:
    records = synthetic_frame(schema, rows=50, seed=5)[list(schema.features)].to_dict("records")
    predictions = predictor.predict(records)
    assert len(predictions) == 50
    for p in predictions:
        assert 0.0 <= p.probability <= 1.0
        assert p.label == int(p.probability >= 0.5)
    assert predictor.version == "7"


def test_missing_feature_is_named(predictor, record, schema) -> None:
    dropped = schema.features[-1]
    record.pop(dropped)
    with pytest.raises(SchemaError, match=dropped):
        predictor.predict([record])


def test_model_folder_must_hold_a_model(tmp_path) -> None:
    with pytest.raises(ModelNotFoundError, match=r"no model\.joblib"):
        Predictor.load(tmp_path)


def test_model_trained_on_other_features_is_refused(model_dir, tmp_path) -> None:
    (tmp_path / "model.joblib").write_bytes((model_dir / "model.joblib").read_bytes())
    (tmp_path / "model.json").write_text(json.dumps({"features": ["something_else"]}))
    with pytest.raises(ValueError, match="trained on"):
        Predictor.load(tmp_path)
