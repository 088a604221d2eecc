"""Encode Lambda: validate the claim and build the model input and valuation request."""

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext

from remedy_inference.steps import EncodeEvent, encode_step

logger = Logger(service="remedy-encode")
tracer = Tracer(service="remedy-encode")


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@event_parser(model=EncodeEvent)
def handler(event: EncodeEvent, context: LambdaContext) -> dict:
    return encode_step(event)
