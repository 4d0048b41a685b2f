"""First step of the Delivery state machine: one SQS record in, its claim and deliveries out."""

import boto3
from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from notify.domain.plan import plan
from notify.domain.reconcile import stale_before
from notify.handlers.settings import PlanSettings
from notify.integration.trace_store import TraceStore

settings = PlanSettings.from_env()
logger = Logger()
tracer = Tracer()
store = TraceStore(boto3.resource("dynamodb").Table(settings.traces_table), settings.retention_days)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def handler(event: dict, context: LambdaContext) -> dict:
    planned = plan(event["Record"]["body"])
    logger.set_correlation_id(planned["TraceId"])
    claimed = store.claim(
        planned["TraceId"],
        planned["Owner"],
        event["ExecutionArn"],
        stale_before(settings.execution_timeout_seconds),
    )
    logger.info(
        "request planned", extra={"recipients": len(planned["Deliveries"]), "claimed": claimed}
    )
    return planned | {"Claimed": claimed}
