"""Decide Lambda: rules over model outputs + market evidence; one audit event per decision."""

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

# the decide step's own imports, loaded during Lambda's init phase rather than on the first event
import remedy_core.decision  # noqa: F401
import remedy_inference.audit  # noqa: F401
from remedy_inference.handlers.runtime import (
    audit_sink,
    pseudonymisation_key,
    rule_config,
    traced,
)
from remedy_inference.steps import DecideEvent, decide_step

logger = Logger(service="remedy-decide")


@logger.inject_lambda_context
@traced("remedy-decide")
def handler(event: dict, context: LambdaContext) -> dict:
    return decide_step(
        DecideEvent.model_validate(event),
        config=rule_config(),
        sink=audit_sink(),
        pseudonymisation_key=pseudonymisation_key(),
    )
