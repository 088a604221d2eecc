"""Market-data Lambda: valuation API through the resilient client; failures become codes."""

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext

from remedy_inference.handlers.runtime import valuation_source
from remedy_inference.steps import MarketEvent, market_step

logger = Logger(service="remedy-market")
tracer = Tracer(service="remedy-market")


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@event_parser(model=MarketEvent)
def handler(event: MarketEvent, context: LambdaContext) -> dict:
    return market_step(event, valuation_source())
