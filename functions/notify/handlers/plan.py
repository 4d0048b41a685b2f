"""First step of the Delivery state machine: the pipe's records in, claimed deliveries out."""

import boto3
from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from notify.domain.plan import execution_plan, plan
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
    claimed, already_handled = [], []
    stale = stale_before(settings.execution_timeout_seconds)
    for record in event["Records"]:
        planned = plan(record["body"])
        logger.set_correlation_id(planned["TraceId"])
        if store.claim(planned["TraceId"], planned["Owner"], event["ExecutionArn"], stale):
            claimed.append(planned)
        else:  # running or completed elsewhere: nothing of it is sent here
            already_handled.append({"TraceId": planned["TraceId"], "Owner": planned["Owner"]})
    logger.info(
        "requests planned",
        extra={"claimed": len(claimed), "already_handled": len(already_handled)},
    )
    return execution_plan(claimed, settings.send_functions) | {"AlreadyHandled": already_handled}
