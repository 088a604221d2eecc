import json

import pytest

from tabular_inference import serve


def test_handler_round_trip(model_dir, record) -> None:
    predictor = serve.model_fn(str(model_dir))
    records = serve.input_fn(json.dumps({"instances": [record, record]}), "application/json")
    body, content_type = serve.output_fn(serve.predict_fn(records, predictor), "application/json")
    assert content_type == "application/json"
    predictions = json.loads(body)["predictions"]
    assert len(predictions) == 2
    assert predictions[0] == predictions[1]
    assert set(predictions[0]) == {"probability", "label"}


def test_single_object_is_accepted(record) -> None:
    assert serve.input_fn(json.dumps(record)) == [record]


def test_other_content_types_are_refused(record) -> None:
    with pytest.raises(ValueError, match="unsupported content type 'text/csv'"):
        serve.input_fn("a,b", "text/csv")
    with pytest.raises(ValueError, match="instances"):
        serve.input_fn(json.dumps([1, 2]))
