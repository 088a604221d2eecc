"""The request schema (pydantic only: used by the API and by the encode Lambda)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, create_model

from tabular_core import usecase


def request_model(
    numeric: tuple[str, ...] = usecase.NUMERIC_FEATURES,
    categorical: tuple[str, ...] = usecase.CATEGORICAL_FEATURES,
) -> type[BaseModel]:
    """One typed field per feature; unknown fields are rejected (errors name the field)."""
    fields: dict[str, Any] = {name: (float, Field(allow_inf_nan=False)) for name in numeric}
    fields.update({name: (str, Field(min_length=1, max_length=128)) for name in categorical})
    return create_model(  # type: ignore[call-overload]
        "PredictRequest", __config__=ConfigDict(extra="forbid"), **fields
    )


PredictRequest = request_model()
