"""Local decision API (FastAPI): the same pydantic models and pure code as the Lambdas.

POST /v1/decisions        decide one claim (422 naming the field on bad input)
GET  /v1/decisions/{id}   a decision made by this process
GET  /health              liveness
OpenAPI at /docs and /openapi.json.

Run: ``python -m remedy_inference.api`` (see ``settings.py`` for the environment variables).
"""

from __future__ import annotations

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from remedy_core.claims import Claim
from remedy_core.decision import Decision
from remedy_inference.handler_view import create_handler_router
from remedy_inference.service import DecisionService

API_VERSION = "1.0.0"


class FieldError(BaseModel):
    field: str
    message: str


class ValidationErrorBody(BaseModel):
    detail: str
    errors: list[FieldError]


class NotFoundBody(BaseModel):
    detail: str


def _field(loc: tuple | list) -> str:
    parts = [str(p) for p in loc if p not in ("body",)]
    return ".".join(parts) or "body"


def create_app(service: DecisionService) -> FastAPI:
    app = FastAPI(
        title="Remedy decision API",
        version=API_VERSION,
        description="Repair / write-off / investigate recommendations for motor claims, with "
        "the evidence behind each one. Local mode of the Step Functions workflow.",
    )

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            FieldError(field=_field(e.get("loc", ())), message=e.get("msg", "invalid"))
            for e in exc.errors()
        ]
        body = ValidationErrorBody(
            detail="invalid claim: " + ", ".join(e.field for e in errors), errors=errors
        )
        return JSONResponse(status_code=422, content=body.model_dump())

    @app.post(
        "/v1/decisions",
        response_model=Decision,
        responses={422: {"model": ValidationErrorBody}},
        summary="Decide one claim",
    )
    def post_decision(claim: Claim) -> Decision:
        return service.decide(claim)

    @app.get(
        "/v1/decisions/{decision_id}",
        response_model=Decision,
        responses={404: {"model": NotFoundBody}},
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

    # The handler routes answer validation errors through the same handler: document that body.
    app.include_router(
        create_handler_router(service), responses={422: {"model": ValidationErrorBody}}
    )
    return app


def main() -> None:  # pragma: no cover - manual entry point
    import uvicorn

    from remedy_inference.settings import build_service, load_settings

    settings = load_settings()
    uvicorn.run(create_app(build_service(settings)), host=settings.host, port=settings.port)


if __name__ == "__main__":  # pragma: no cover
    main()
