"""First step of the Delivery state machine: the pipe's records in, claimed deliveries out."""

import boto3
from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from notify.domain.plan import execution_plan, opt_out_key, plan
from notify.domain.reconcile import stale_before
from notify.handlers.settings import PlanSettings
from notify.integration.dynamodb_table import DynamoTable
from notify.integration.opt_outs import OptOutStore
from notify.integration.trace_store import TraceStore

settings = PlanSettings.from_env()
logger = Logger()
tracer = Tracer()
dynamodb = boto3.client("dynamodb")
store = TraceStore(DynamoTable(dynamodb, settings.traces_table), settings.retention_days)
opt_outs = OptOutStore(dynamodb, settings.opt_outs_table)


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
    # Every recipient's opt-out in one read; a STOP that lands while this execution
    # runs holds from the next message on (Twilio refuses WhatsApp sends after it too).
    keys = [opt_out_key(r) for planned in claimed for r in planned["Deliveries"]]
    opted_out = opt_outs.opted_out(key for key in keys if key)
    planned = execution_plan(claimed, settings.send_functions, opted_out)
    logger.info(
        "requests planned",
        extra={
            "claimed": len(claimed),
            "already_handled": len(already_handled),
            "opted_out": len(planned["Rejected"]),
        },
    )
    return planned | {"AlreadyHandled": already_handled}
