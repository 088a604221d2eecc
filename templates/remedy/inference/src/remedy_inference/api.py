"""Local decision API (FastAPI): the same pydantic models and pure code as the Lambdas.

POST /v1/decisions                     decide one claim (422 naming the field on bad input)
GET  /v1/decisions/{id}                a decision made by this process
POST /v1/decisions/{id}/actions        the handler's action on it (accept, override, inspect)
GET  /v1/decisions/{id}/actions        the actions recorded on it
GET  /health                           liveness
OpenAPI at /docs and /openapi.json. Every status the API answers is in the OpenAPI with its
body: 400 (body is not JSON), 404, 405 (with ``Allow``), 408 (body too slow), 413 (body too
large), 422 (field errors), 503 (at capacity, with ``Retry-After``).

Run: ``python -m remedy_inference.api`` (see ``settings.py`` for the environment variables).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import anyio
from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from remedy_core.claims import ZONES, Claim
from remedy_core.decision import Decision
from remedy_inference.handler_view import ACTIONS, OVERRIDE_ONLY, create_handler_router
from remedy_inference.service import DecisionService

API_VERSION = "1.1.0"


class FieldError(BaseModel):
    field: str
    message: str


class ValidationErrorBody(BaseModel):
    detail: str
    errors: list[FieldError]


class ErrorBody(BaseModel):
    """Every other error: what was wrong, in one sentence."""

    detail: str


@dataclass(frozen=True)
class RequestLimits:
    """Bounds that keep one slow, huge or bursty client from tying up the server."""

    max_body_bytes: int = 64 * 1024  # a claim is about 1 KB
    body_timeout_s: float = 10.0  # the whole body must arrive within this
    max_in_flight: int = 64  # concurrent requests (health checks excepted)

    def __post_init__(self) -> None:
        if self.max_body_bytes < 1 or self.body_timeout_s <= 0 or self.max_in_flight < 1:
            raise ValueError(
                f"request limits must be positive, got {self} (max_body_bytes >= 1, "
                "body_timeout_s > 0, max_in_flight >= 1)"
            )


def _error(status: int, detail: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(ErrorBody(detail=detail).model_dump(), status_code=status, headers=headers)


class RequestGuard:
    """ASGI middleware: at most ``max_in_flight`` requests at once (503 + Retry-After beyond); a
    body must arrive within ``body_timeout_s`` (408) and stay within ``max_body_bytes`` (413: at
    once when Content-Length says so, else as soon as the bytes received pass the limit)."""

    def __init__(self, app: ASGIApp, limits: RequestLimits, exempt: frozenset[str]) -> None:
        self.app, self.limits, self.exempt = app, limits, exempt
        self.in_flight = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.exempt:
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.limits.max_body_bytes:  # refused unread
            await _error(413, _too_large(self.limits))(scope, receive, send)
            return
        if self.in_flight >= self.limits.max_in_flight:
            busy = _error(
                503,
                f"the decision API is at capacity ({self.limits.max_in_flight} requests in "
                "flight); retry after a second",
                headers={"Retry-After": "1"},
            )
            await busy(scope, receive, send)
            return
        self.in_flight += 1
        deadline = anyio.current_time() + self.limits.body_timeout_s
        received, body_done = 0, False

        async def receive_within_limits() -> Message:
            nonlocal received, body_done
            if body_done:  # later receives wait for a disconnect: no deadline on those
                return await receive()
            with anyio.move_on_after(max(0.0, deadline - anyio.current_time())) as waited:
                message = await receive()
            if waited.cancelled_caught:
                raise StarletteHTTPException(
                    408,
                    f"the request body did not arrive within {self.limits.body_timeout_s:g} s",
                )
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limits.max_body_bytes:  # no Content-Length, or a wrong one
                    raise StarletteHTTPException(413, _too_large(self.limits))
            body_done = message["type"] != "http.request" or not message.get("more_body", False)
            return message

        try:
            await self.app(scope, receive_within_limits, send)
        finally:
            self.in_flight -= 1


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _too_large(limits: RequestLimits) -> str:
    return f"the request body is larger than the {limits.max_body_bytes} bytes allowed"


def _field_error(error: dict[str, Any]) -> FieldError:
    """A pydantic error as the field it is about and a sentence (action tags left out)."""
    loc = list(error.get("loc", ()))
    if loc[:1] == ["body"]:  # FastAPI's prefix, not a field (a field may be called "body")
        loc = loc[1:]
    loc = [str(p) if p != "" else '""' for p in loc]  # a key with no name is shown as ""
    kind, message = error.get("type"), str(error.get("msg", "invalid"))
    if kind == "missing" and not loc:
        return FieldError(field="body", message="a JSON body is required")
    if kind in ("model_attributes_type", "dict_type") and not loc:
        return FieldError(field="body", message="the body must be a JSON object (application/json)")
    if kind in ("union_tag_not_found", "union_tag_invalid"):
        return FieldError(field="action", message=f"action must be one of {list(ACTIONS)}")
    if loc and loc[0] in ACTIONS:  # a handler action: the tag is not part of the field
        action, loc = loc[0], loc[1:]
        if kind == "extra_forbidden":
            message = (
                f"only allowed with action=override, not action={action}"
                if loc and loc[0] in OVERRIDE_ONLY
                else f"not a field of an action={action} request"
            )
    return FieldError(field=".".join(loc) or "body", message=message)


def _allowed_methods(app: FastAPI, path: str, found: str) -> list[str]:
    """Every method the path has: Starlette's Allow names only the first route it matched."""
    methods = {m.strip() for m in found.split(",") if m.strip()}
    for template, operations in app.openapi()["paths"].items():
        pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template))
        if re.fullmatch(pattern, path):
            methods |= {m.upper() for m in operations}
    return sorted(methods)


def _not_json(cause: BaseException | None) -> str:
    if isinstance(cause, RecursionError):
        return "the request body is not valid JSON: nested too deeply"
    reason = f": {cause}" if isinstance(cause, UnicodeDecodeError | ValueError) else ""
    return f"the request body is not valid JSON (UTF-8){reason}"[:300]


def create_app(service: DecisionService, limits: RequestLimits | None = None) -> FastAPI:
    limits = limits or RequestLimits()
    app = FastAPI(
        title="Remedy decision API",
        version=API_VERSION,
        description="Repair / write-off / investigate recommendations for motor claims, with "
        "the evidence behind each one. Local mode of the Step Functions workflow.\n\n"
        "Errors: 400 body is not JSON, 404 unknown decision, 405 method not allowed on the "
        "path (`Allow` lists the methods it has), 408 body too slow, 413 body larger than "
        f"{limits.max_body_bytes} bytes, 422 field errors (each naming the field), 503 at "
        "capacity (`Retry-After`). Every error body has a `detail` sentence.",
    )

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        unparsable = [e for e in exc.errors() if e.get("type") == "json_invalid"]
        if unparsable:  # not a JSON document at all: the syntax is wrong, not a field
            error = (unparsable[0].get("ctx") or {}).get("error", "JSON decode error")
            return _error(400, f"the request body is not valid JSON: {error}")
        errors = [_field_error(e) for e in exc.errors()]
        what = "claim" if request.url.path == "/v1/decisions" else "request"
        body = ValidationErrorBody(
            detail=f"invalid {what}: " + ", ".join(e.field for e in errors), errors=errors
        )
        return JSONResponse(status_code=422, content=body.model_dump())

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 405:
            allowed = _allowed_methods(app, request.url.path, (exc.headers or {}).get("Allow", ""))
            return _error(
                405,
                f"{request.method} is not allowed on {request.url.path}; use "
                + " or ".join(allowed),
                headers={"Allow": ", ".join(allowed)},
            )
        if exc.status_code == 400 and exc.detail == "There was an error parsing the body":
            return _error(400, _not_json(exc.__cause__))
        return _error(exc.status_code, str(exc.detail), headers=exc.headers)

    invalid: dict[int | str, dict[str, Any]] = {
        422: {"model": ValidationErrorBody, "description": "Invalid request"}
    }
    with_body: dict[int | str, dict[str, Any]] = {
        400: {"model": ErrorBody, "description": "The body is not valid JSON"},
        **invalid,
    }
    not_found: dict[int | str, dict[str, Any]] = {
        404: {"model": ErrorBody, "description": "No such decision in this service"},
        **invalid,
    }

    @app.post(
        "/v1/decisions",
        response_model=Decision,
        responses=with_body,
        summary="Decide one claim",
    )
    def post_decision(claim: Claim) -> Decision:
        return service.decide(claim)

    @app.get(
        "/v1/decisions/{decision_id}",
        response_model=Decision,
        responses=not_found,
        summary="Fetch a decision made by this service",
    )
    def get_decision(decision_id: str) -> Decision:
        decision = service.get(decision_id)
        if decision is None:
            raise HTTPException(status_code=404, detail=f"decision {decision_id} not found")
        return decision

    @app.get("/health", summary="Liveness")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    app.include_router(create_handler_router(service, not_found, with_body))
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    app.add_middleware(RequestGuard, limits=limits, exempt=frozenset({"/health"}))
    return app


# --- the OpenAPI document: what FastAPI generates, plus the rules the models check in code ------

_GUARD = {  # what RequestGuard answers, on every operation it guards
    "408": {
        "description": "The body did not arrive in time",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
    },
    "413": {
        "description": "The body is too large",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
    },
}
_BUSY = {
    "description": "At capacity: retry after `Retry-After` seconds",
    "headers": {"Retry-After": {"schema": {"type": "integer"}}},
    "content": {
        "application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}},
        # uvicorn's own connection cap (a backstop above the app's limit) answers in plain text
        "text/plain": {"schema": {"type": "string"}},
    },
}
# incident_date spans 1950-01-01..2100-12-31 (Claim._plausible_incident_date)
_DATE_IN_SPAN = r"^(19[5-9][0-9]|20[0-9][0-9]|2100)-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"
# pydantic strips Unicode White_Space (Rust's trim), not Python's str.isspace() set
_NOT_BLANK = (
    "[^\\t\\n\\x0b\\f\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]"
)


# JSON Schema cannot relate two fields' values in a form a generator can still use (tried: six
# if/then on `contains`, and one branch per incident year; schemathesis gives up on both), so these
# two are stated in words; the API answers 422 naming the fields.
CROSS_FIELD_RULES = {
    "Accident": "zone_severity may name only zones that are in zones_hit",
    "Claim": "vehicle.year is at most the year of incident_date + 1",
}


def _claim_rules(schemas: dict[str, Any]) -> None:
    """What the Claim's validators check, in its schema: every rule JSON Schema can state."""
    claim, accident = schemas["Claim"], schemas["Accident"]
    for name, rule in CROSS_FIELD_RULES.items():
        also = f"Also checked (422 naming the fields): {rule}."
        schemas[name]["description"] = "\n\n".join(
            filter(None, [schemas[name].get("description"), also])
        )
        schemas[name]["x-cross-field-rules"] = [rule]
    claim["properties"]["incident_date"]["pattern"] = _DATE_IN_SPAN
    zones = list(ZONES)
    accident["properties"]["zones_hit"]["items"] = {"type": "string", "enum": zones}
    severity = accident["properties"]["zone_severity"]
    severity["propertyNames"] = {"enum": zones}
    severity["additionalProperties"] = {"type": "number", "minimum": 0, "maximum": 1}
    # text is stripped before its length is checked: it must hold a non-space character
    for model, fields in ((claim, ("claim_id",)), (schemas["Vehicle"], ("make", "model"))):
        for name in fields:
            model["properties"][name]["pattern"] = _NOT_BLANK


def _openapi(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(
        title=app.title, version=app.version, description=app.description, routes=app.routes
    )
    schemas = schema["components"]["schemas"]
    _claim_rules(schemas)
    for path, operations in schema["paths"].items():
        for operation in operations.values():
            if path != "/health":
                operation["responses"].update({**_GUARD, "503": _BUSY})
    schema["components"]["responses"] = {
        "MethodNotAllowed": {
            "description": "The path exists but not with this method; `Allow` lists its methods",
            "headers": {"Allow": {"schema": {"type": "string"}}},
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
        }
    }  # fmt: skip
    app.openapi_schema = json.loads(json.dumps(schema))
    return app.openapi_schema


def main() -> None:  # pragma: no cover - manual entry point
    import uvicorn

    from remedy_inference.settings import build_service, load_settings, request_limits

    settings = load_settings()
    limits = request_limits(settings)
    uvicorn.run(
        create_app(build_service(settings), limits),
        host=settings.host,
        port=settings.port,
        # backstop above the app's own limit; bounded shutdown so a stop never hangs on a client
        limit_concurrency=limits.max_in_flight * 4,
        timeout_graceful_shutdown=5,
    )


if __name__ == "__main__":  # pragma: no cover
    main()
