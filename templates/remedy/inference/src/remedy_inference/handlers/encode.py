"""Encode Lambda: validate the claim and build the model input and valuation request."""

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

# the encode step's own imports, loaded during Lambda's init phase rather than on the first event
import remedy_core.claims
import remedy_core.features  # noqa: F401
from remedy_inference.handlers.runtime import traced
from remedy_inference.steps import EncodeEvent, encode_step

logger = Logger(service="remedy-encode")


@logger.inject_lambda_context
@traced("remedy-encode")
def handler(event: dict, context: LambdaContext) -> dict:
    return encode_step(EncodeEvent.model_validate(event))
