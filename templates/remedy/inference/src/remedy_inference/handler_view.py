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
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Form, HTTPException
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from remedy_core import events
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


HandlerId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._@-]+$")]


class _Action(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    handler_id: HandlerId


class AcceptAction(_Action):
    """The handler accepts the recommendation."""

    action: Literal["accept"]


class InspectAction(_Action):
    """The handler sends the claim for a physical inspection."""

    action: Literal["inspect"]


class OverrideAction(_Action):
    """The handler decides otherwise, with a coded reason (no free text)."""

    action: Literal["override"]
    override_reason: events.OverrideReason
    final_recommendation: Literal["repair", "write_off", "investigate"]


# Discriminated by `action`, so the schema says what the code checks: a reason and a final
# recommendation with an override, and neither with accept or inspect.
HandlerActionRequest = Annotated[
    AcceptAction | OverrideAction | InspectAction, Field(discriminator="action")
]
ACTIONS: tuple[str, ...] = ("accept", "override", "inspect")
OVERRIDE_ONLY: tuple[str, ...] = ("override_reason", "final_recommendation")
_ACTION_REQUEST: TypeAdapter[AcceptAction | OverrideAction | InspectAction] = TypeAdapter(
    HandlerActionRequest
)


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
    request: AcceptAction | OverrideAction | InspectAction,
    clock: Callable[[], datetime],
) -> events.HandlerActionEvent:
    override = request if isinstance(request, OverrideAction) else None
    event = events.HandlerActionEvent(
        claim_id_hash=events.pseudonymise(decision.claim_id, service.key),
        decision_event_id=decision.decision_id,
        acted_at=clock(),
        handler_id_hash=events.pseudonymise(request.handler_id, service.key),
        action=request.action,
        override_reason=override.override_reason if override else None,
        final_recommendation=override.final_recommendation if override else None,
    )
    service.sink.emit(event)
    log.add(decision.decision_id, event)
    return event


def create_handler_router(
    service: DecisionService,
    not_found: dict[int | str, dict[str, Any]] | None = None,
    with_body: dict[int | str, dict[str, Any]] | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> APIRouter:
    """The handler routes; ``not_found`` / ``with_body``: the error responses to document."""
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
        responses={**(not_found or {}), **(with_body or {})},
        summary="Record the handler's action on a decision (accept, override, inspect)",
    )
    def post_action(decision_id: str, request: HandlerActionRequest) -> events.HandlerActionEvent:
        return record_action(service, log, _decision(decision_id), request, clock)

    @router.get(
        "/v1/decisions/{decision_id}/actions",
        response_model=list[events.HandlerActionEvent],
        responses=not_found or {},
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
        # one form, three buttons: the override fields count only when they were filled in
        fields = {"override_reason": override_reason, "final_recommendation": final_recommendation}
        try:
            request = _ACTION_REQUEST.validate_python(
                {
                    "handler_id": handler_id,
                    "action": action,
                    **{k: v for k, v in fields.items() if v},
                }
            )
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc'][1:]) or 'action'}: {e['msg']}"
                for e in exc.errors()
            )
            raise HTTPException(status_code=422, detail=problems) from None
        record_action(service, log, decision, request, clock)
        return RedirectResponse(
            f"/handler/decisions/{decision_id}?recorded={request.action}", status_code=303
        )

    return router
