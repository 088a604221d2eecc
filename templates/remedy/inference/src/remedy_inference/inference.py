"""SageMaker inference script: all 14 models (every head of the bundle) in ONE call.

The endpoint hosts one bundle directory (manifest.json + bundle.onnx + compiled/) and answers
with every model's output for each row, through the bundle's one compiled module
(``remedy_inference.compiled``: native, or the single-node ONNX graph as the portable fallback).

Request  (application/json): ``{"instances": [[f1, ..., fN], ...]}`` (encoded features, as the
         encode step produces) or ``{"claims": [{...Claim...}, ...]}`` (encoded here).
Response (application/json): ``{"bundle_id": ..., "outputs": [ModelOutputs as dict, ...]}``
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

import numpy as np

from remedy_core.bundle import Bundle, load_bundle
from remedy_core.features import N_FEATURES, encode_claims
from remedy_core.outputs import ModelOutputs
from remedy_inference.compiled import CompiledBundle

JSON = "application/json"


class InputError(ValueError):
    """The request body cannot be turned into a feature matrix (SageMaker answers 4xx)."""


def model_fn(model_dir: str) -> CompiledBundle:
    """Every head in one compiled module (native if shipped and loadable, else ONNX)."""
    return CompiledBundle(load_bundle(model_dir))


def input_fn(request_body: str | bytes, request_content_type: str = JSON) -> np.ndarray:
    if request_content_type.split(";")[0].strip() != JSON:
        raise InputError(f"content type {request_content_type!r} not supported; send {JSON}")
    try:
        payload: dict[str, Any] = json.loads(request_body)
    except ValueError as exc:
        raise InputError("body is not JSON") from exc
    if not isinstance(payload, dict):
        raise InputError('body must be an object with "instances" or "claims"')
    if "claims" in payload:
        # the request models (pydantic) only for this form of the request: the workflow sends
        # encoded features, and the script's import stays free of pydantic (cold start)
        from remedy_core.claims import Claim

        return encode_claims([Claim.model_validate(c) for c in payload["claims"]])
    rows = payload.get("instances")
    if not isinstance(rows, list) or not rows:
        raise InputError('"instances" must be a non-empty list of feature vectors')
    X = np.asarray(rows, dtype=np.float32)
    if X.ndim != 2 or X.shape[1] != N_FEATURES:
        raise InputError(f'"instances" must have shape (n, {N_FEATURES}), got {X.shape}')
    return X


def predict_fn(
    input_data: np.ndarray, model: Bundle | CompiledBundle
) -> tuple[list[ModelOutputs], str]:
    # one claim (the decision workflow's case) takes the plain-float path: the same numbers as
    # the in-process service, without numpy's per-call overhead
    if len(input_data) == 1:
        return [model.predict_one(input_data[0])], model.bundle_id
    return model.predict(input_data), model.bundle_id


def output_fn(prediction: tuple[list[ModelOutputs], str], accept: str = JSON) -> str:
    if accept not in (JSON, "*/*"):
        raise InputError(f"accept {accept!r} not supported; use {JSON}")
    outputs, bundle_id = prediction
    return json.dumps({"bundle_id": bundle_id, "outputs": [asdict(o) for o in outputs]})
