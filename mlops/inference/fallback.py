"""What a decision service answers when it cannot decide: the use case's wording, never a 5xx.

Three answers, each in the document that carries it:

- ``decide_failed``: the workflow's answer when its decide step fails after its retries (the
  ``DecideFailed`` Pass state of ``mlops.inference.workflow``, a JSON document);
- ``incomplete_template``: API Gateway's answer when the execution neither succeeded nor rejected
  the request (timed out, aborted): the body of the integration response's ``#else`` branch
  (``mlops.inference.serving_docs.start_sync_response_template``), JSON in which ``$r.status`` is
  the execution's status;
- ``invalid_request_detail``: the ``detail`` of API Gateway's 400 when the body fails the request
  model (``serving_docs.bad_request_template``).

The defaults are generic error documents; a use case passes its own (Remedy: an ``investigate``
recommendation a handler picks up) through ``InferenceServiceArgs.fallback``. Pure, no Pulumi.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

EXECUTION_STATUS = "$r.status"
"""The one VTL reference an ``incomplete_template`` may use: the execution's status."""
_STATUSES = ("FAILED", "TIMED_OUT", "ABORTED")


def _generic_decide_failed() -> dict[str, Any]:
    return {"error": "DECISION_SERVICE_ERROR", "detail": "the decision service failed"}


GENERIC_INCOMPLETE_TEMPLATE = (
    '{"error": "WORKFLOW_$r.status", "detail": "the decision workflow did not complete"}'
)


@dataclass(frozen=True, kw_only=True)
class FallbackResponses:
    """The decision API's answers when it cannot decide (see the module docstring)."""

    decide_failed: Mapping[str, Any] = field(default_factory=_generic_decide_failed)
    """The workflow's answer when the decide step fails: a non-empty JSON object."""
    incomplete_template: str = GENERIC_INCOMPLETE_TEMPLATE
    """API Gateway's answer when the workflow did not complete: a JSON object once
    ``$r.status`` is filled in, with no other VTL."""
    invalid_request_detail: str = "invalid request"
    """The ``detail`` of the 400 answered for a body that fails the request model."""

    def __post_init__(self) -> None:
        name = type(self).__name__
        body = self.decide_failed
        if not isinstance(body, Mapping) or not body:
            raise ValueError(f"{name}.decide_failed must be a non-empty JSON object, got {body!r}")
        try:
            json.dumps(body, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{name}.decide_failed is not JSON: {exc}") from None
        self._check_incomplete(name)
        detail = self.invalid_request_detail
        if not isinstance(detail, str) or not detail.strip() or len(detail) > 200:
            raise ValueError(f"{name}.invalid_request_detail must be 1..200 characters: {detail!r}")
        if any(c in detail for c in '$#"\\') or not detail.isprintable():
            raise ValueError(
                f"{name}.invalid_request_detail {detail!r}: plain text only (no $, #, quotes, "
                "backslashes or control characters: it is placed in a VTL template)"
            )

    def _check_incomplete(self, name: str) -> None:
        template = self.incomplete_template
        if not isinstance(template, str):
            raise ValueError(f"{name}.incomplete_template must be a string, got {template!r}")
        bare = template.replace(EXECUTION_STATUS, "")
        if "$" in bare or "#" in bare:
            raise ValueError(
                f"{name}.incomplete_template: the only VTL it may use is {EXECUTION_STATUS} "
                "(no other $ reference or # directive)"
            )
        for status in _STATUSES:
            try:
                answer = json.loads(template.replace(EXECUTION_STATUS, status))
            except ValueError as exc:
                raise ValueError(
                    f"{name}.incomplete_template is not JSON once {EXECUTION_STATUS} is "
                    f"{status}: {exc}"
                ) from None
            if not isinstance(answer, dict) or not answer:
                raise ValueError(f"{name}.incomplete_template must be a non-empty JSON object")
