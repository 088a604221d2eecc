"""Market-data Lambda: valuation API through the resilient client; failures become codes."""

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from remedy_inference.handlers.runtime import traced, valuation_source
from remedy_inference.steps import MarketEvent, market_step

logger = Logger(service="remedy-market")


@logger.inject_lambda_context
@traced("remedy-market")
def handler(event: dict, context: LambdaContext) -> dict:
    return market_step(MarketEvent.model_validate(event), valuation_source())
