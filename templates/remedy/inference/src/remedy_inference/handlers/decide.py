"""Decide Lambda: rules over model outputs + market evidence; one audit event per decision."""

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext

from remedy_inference.handlers.runtime import audit_sink, pseudonymisation_key, rule_config
from remedy_inference.steps import DecideEvent, decide_step

logger = Logger(service="remedy-decide")
tracer = Tracer(service="remedy-decide")


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@event_parser(model=DecideEvent)
def handler(event: DecideEvent, context: LambdaContext) -> dict:
    return decide_step(
        event, config=rule_config(), sink=audit_sink(), pseudonymisation_key=pseudonymisation_key()
    )
