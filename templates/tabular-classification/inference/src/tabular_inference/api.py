"""HTTP API (FastAPI): the request model is generated from the use case's feature schema.

Run locally: `MODEL_DIR=work/model uvicorn tabular_inference.api:app_from_env --factory`.
No `from __future__ import annotations` here: FastAPI must see the generated request type.
"""

import os
from functools import lru_cache
from pathlib import Path

from fastapi import FastAPI
from pydantic import BaseModel

from tabular_core import usecase
from tabular_inference.model import Predictor
from tabular_inference.requests import request_model


class PredictResponse(BaseModel):
    usecase: str
    model_version: str
    probability: float
    label: int


def create_app(predictor: Predictor) -> FastAPI:
    app = FastAPI(title=f"{usecase.USECASE_NAME} inference", version=usecase.TEMPLATE_VERSION)
    request_type = request_model(predictor.schema.numeric, predictor.schema.categorical)

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok", "model_version": predictor.version}

    @app.post("/predict", response_model=PredictResponse)
    def predict(body: request_type) -> PredictResponse:  # type: ignore[valid-type]
        (result,) = predictor.predict([body.model_dump()])
        return PredictResponse(
            usecase=usecase.USECASE_NAME,
            model_version=predictor.version,
            probability=result.probability,
            label=result.label,
        )

    return app


@lru_cache(maxsize=1)
def app_from_env() -> FastAPI:
    """Settings come from the environment at call time (not at import)."""
    return create_app(Predictor.load(Path(os.environ.get("MODEL_DIR", "/opt/ml/model"))))


__all__ = ["app_from_env", "create_app"]
