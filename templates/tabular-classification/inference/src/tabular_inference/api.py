"""HTTP API (FastAPI): the request model is generated from the use case's feature schema.

Run locally: `MODEL_DIR=work/model uvicorn tabular_inference.api:app_from_env --factory`.
No `from __future__ import annotations` here: FastAPI must see the generated request type.
"""

import os
from functools import lru_cache
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict, Field, create_model

from tabular_core import usecase
from tabular_core.schema import FeatureSchema, default_schema
from tabular_inference.model import Predictor


def request_model(schema: FeatureSchema) -> type[BaseModel]:
    """One typed field per feature; unknown fields are rejected (422 names them)."""
    fields: dict[str, Any] = {name: (float, Field(allow_inf_nan=False)) for name in schema.numeric}
    fields.update({name: (str, Field(min_length=1, max_length=128)) for name in schema.categorical})
    return create_model(  # type: ignore[call-overload]
        "PredictRequest", __config__=ConfigDict(extra="forbid"), **fields
    )


class PredictResponse(BaseModel):
    usecase: str
    model_version: str
    probability: float
    label: int


def create_app(predictor: Predictor) -> FastAPI:
    app = FastAPI(title=f"{usecase.USECASE_NAME} inference", version=usecase.TEMPLATE_VERSION)
    request_type = request_model(predictor.schema)

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


__all__ = ["create_app", "default_schema", "request_model"]
