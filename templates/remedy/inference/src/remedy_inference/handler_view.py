"""Claims-handler view: one page per decision, and the handler's action recorded as an event.

The page shows what a handler needs to accept, override or inspect a recommendation: the
recommendation and its confidence, repair cost / PAV as a gauge with its interval and threshold,
both cost paths side by side, the PAV evidence, the predicted salvage category, the reasons in
plain words, the PAV at which the outcome flips, data-quality flags and model versions.

Actions are coded (UK GDPR Art. 22 human review): accept, override with a coded reason and the
handler's final recommendation, or request inspection. Each becomes one `HandlerActionEvent`
(no free text, handler id pseudonymised) on the same sink as the decision events, so overrides
reach the analytics warehouse. Server-rendered HTML with inline CSS/SVG: no CDN, works offline
and without JavaScript.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from fastapi import APIRouter, Form, HTTPException
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from mlops import events
from pydantic import BaseModel, Field, model_validator

from remedy_core.decision import Decision
from remedy_inference.service import DecisionService

_TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "web"),
    autoescape=select_autoescape(["html"]),
)
_TEMPLATES.filters["gbp"] = lambda v: f"−£{-v:,.0f}" if v < 0 else f"£{v:,.0f}"
RECOMMENDATION_TEXT = {
    "repair": "Repair",
    "write_off": "Write off",
    "investigate": "Investigate further",
}


class HandlerActionRequest(BaseModel):
    """A handler's decision on a recommendation (coded; no free text)."""

    handler_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._@-]+$")
    action: events.HandlerAction
    override_reason: events.OverrideReason | None = None
    final_recommendation: Literal["repair", "write_off", "investigate"] | None = None

    @model_validator(mode="after")
    def _override_is_complete(self) -> HandlerActionRequest:
        if self.action == "override" and (
            self.override_reason is None or self.final_recommendation is None
        ):
            raise ValueError("an override needs override_reason and final_recommendation")
        if self.action != "override" and self.override_reason is not None:
            raise ValueError("override_reason is only allowed with action=override")
        return self


class ActionLog:
    """Actions recorded by this process, per decision, newest last."""

    def __init__(self) -> None:
        self.by_decision: dict[str, list[events.HandlerActionEvent]] = {}

    def add(self, decision_id: str, event: events.HandlerActionEvent) -> None:
        self.by_decision.setdefault(decision_id, []).append(event)

    def of(self, decision_id: str) -> list[events.HandlerActionEvent]:
        return list(self.by_decision.get(decision_id, []))


def gauge(decision: Decision, width: int = 520, height: int = 64) -> dict[str, float] | None:
    """Geometry of the repair-cost / PAV gauge (pure; the template draws it as SVG)."""
    ratio = decision.ratio
    if ratio is None:
        return None
    top = max(1.2, ratio.p90 * 1.1, (ratio.threshold or 0) * 1.2)

    def x(value: float) -> float:
        return round(min(max(value, 0.0), top) / top * width, 1)

    return {
        "width": width,
        "height": height,
        "max": round(top, 2),
        "value_x": x(ratio.value),
        "low_x": x(ratio.p10),
        "high_x": x(ratio.p90),
        "threshold_x": x(ratio.threshold) if ratio.threshold is not None else -1.0,
    }


def record_action(
    service: DecisionService,
    log: ActionLog,
    decision: Decision,
    request: HandlerActionRequest,
    clock: Callable[[], datetime],
) -> events.HandlerActionEvent:
    event = events.HandlerActionEvent(
        claim_id_hash=events.pseudonymise(decision.claim_id, service.key),
        decision_event_id=decision.decision_id,
        acted_at=clock(),
        handler_id_hash=events.pseudonymise(request.handler_id, service.key),
        action=request.action,
        override_reason=request.override_reason,
        final_recommendation=(
            request.final_recommendation if request.action == "override" else None
        ),
    )
    service.sink.emit(event)
    log.add(decision.decision_id, event)
    return event


def create_handler_router(
    service: DecisionService,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> APIRouter:
    router = APIRouter()
    log = ActionLog()

    def _decision(decision_id: str) -> Decision:
        decision = service.get(decision_id)
        if decision is None:
            raise HTTPException(status_code=404, detail=f"decision {decision_id} not found")
        return decision

    @router.post(
        "/v1/decisions/{decision_id}/actions",
        status_code=201,
        response_model=events.HandlerActionEvent,
        summary="Record the handler's action on a decision (accept, override, inspect)",
    )
    def post_action(decision_id: str, request: HandlerActionRequest) -> events.HandlerActionEvent:
        return record_action(service, log, _decision(decision_id), request, clock)

    @router.get(
        "/v1/decisions/{decision_id}/actions",
        response_model=list[events.HandlerActionEvent],
        summary="Actions recorded on a decision",
    )
    def get_actions(decision_id: str) -> list[events.HandlerActionEvent]:
        _decision(decision_id)
        return log.of(decision_id)

    @router.get("/handler", response_class=HTMLResponse, include_in_schema=False)
    def index() -> HTMLResponse:
        recent = service.recent(200)
        html = _TEMPLATES.get_template("index.html").render(
            decisions=recent, text=RECOMMENDATION_TEXT, actions=log
        )
        return HTMLResponse(html)

    @router.get(
        "/handler/decisions/{decision_id}", response_class=HTMLResponse, include_in_schema=False
    )
    def page(decision_id: str, recorded: str | None = None) -> HTMLResponse:
        decision = _decision(decision_id)
        html = _TEMPLATES.get_template("decision.html").render(
            d=decision,
            text=RECOMMENDATION_TEXT,
            gauge=gauge(decision),
            actions=log.of(decision_id),
            reasons=events.OVERRIDE_REASONS,
            recorded=recorded,
        )
        return HTMLResponse(html)

    @router.post("/handler/decisions/{decision_id}/actions", include_in_schema=False)
    def form_action(
        decision_id: str,
        handler_id: str = Form(...),
        action: str = Form(...),
        override_reason: str | None = Form(None),
        final_recommendation: str | None = Form(None),
    ) -> RedirectResponse:
        decision = _decision(decision_id)
        try:
            request = HandlerActionRequest.model_validate(
                {
                    "handler_id": handler_id,
                    "action": action,
                    "override_reason": override_reason or None,
                    "final_recommendation": final_recommendation or None,
                }
            )
        except ValueError as exc:
            raise HTTPException(status_code=422, detail=str(exc)) from None
        record_action(service, log, decision, request, clock)
        return RedirectResponse(
            f"/handler/decisions/{decision_id}?recorded={request.action}", status_code=303
        )

    return router
