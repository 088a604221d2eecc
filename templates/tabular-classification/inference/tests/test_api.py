import pytest
from fastapi.testclient import TestClient

from tabular_core import usecase
from tabular_inference.api import create_app


@pytest.fixture(scope="module")
def client(predictor) -> TestClient:
    return TestClient(create_app(predictor))


def test_health(client) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "model_version": "7"}


def test_predict_returns_probability_and_label(client, record, predictor) -> None:
    response = client.post("/predict", json=record)
    assert response.status_code == 200, response.text
    body = response.json()
    (expected,) = predictor.predict([record])
    assert body == {
        "usecase": usecase.USECASE_NAME,
        "model_version": "7",
        "probability": pytest.approx(expected.probability),
        "label": expected.label,
    }


def test_missing_field_is_a_422_naming_it(client, record, schema) -> None:
    missing = schema.features[0]
    record.pop(missing)
    response = client.post("/predict", json=record)
    assert response.status_code == 422
    (error,) = response.json()["detail"]
    assert error["loc"] == ["body", missing]
    assert error["type"] == "missing"


def test_unknown_field_is_rejected(client, record) -> None:
    response = client.post("/predict", json={**record, "surprise": 1})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "surprise"]
