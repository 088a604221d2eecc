"""Model-health Lambda (scheduled, prod): the landed events in, the model-health metrics out.

The platform's ``ModelHealthJob`` (``mlops.components.analytics_health_job``) runs it on a
schedule in the VPC. The work is ``remedy_inference.health.run_cloud_job``; this is the adapter.
"""

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from remedy_inference.health import run_cloud_job

logger = Logger(service="remedy-model-health")


@logger.inject_lambda_context
def handler(event: dict, context: LambdaContext) -> dict:
    summary = run_cloud_job()
    logger.info("model health published", extra=summary)
    return summary
