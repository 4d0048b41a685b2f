"""First step of the Delivery state machine: one SQS record in, the deliveries out."""

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from notify.domain.plan import plan

logger = Logger()
tracer = Tracer()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def handler(event: dict, context: LambdaContext) -> dict:
    planned = plan(event["body"])
    logger.set_correlation_id(planned["TraceId"])
    logger.info("request planned", extra={"recipients": len(planned["Deliveries"])})
    return planned
