"""First step of the Delivery state machine: the pipe's records in, claimed deliveries out."""

import boto3
from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from notify.domain.errors import INVALID_MESSAGE, DeliveryError
from notify.domain.outcomes import COMPLETED, as_it_arrived
from notify.domain.plan import (
    UNREADABLE_OWNER,
    execution_plan,
    opt_out_key,
    plan,
    unreadable_trace_id,
)
from notify.domain.reconcile import stale_before
from notify.handlers.settings import PlanSettings
from notify.integration.dynamodb_table import DynamoTable
from notify.integration.executions import DeadLetterQueue
from notify.integration.opt_outs import OptOutStore
from notify.integration.trace_store import Claim, TraceStore

settings = PlanSettings.from_env()
logger = Logger()
tracer = Tracer()
dynamodb = boto3.client("dynamodb")
store = TraceStore(DynamoTable(dynamodb, settings.traces_table), settings.retention_days)
opt_outs = OptOutStore(dynamodb, settings.opt_outs_table)
dead_letters = DeadLetterQueue(boto3.client("sqs"), settings.dead_letter_queue_url)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def handler(event: dict, context: LambdaContext) -> dict:
    execution = event["ExecutionArn"]
    stale = stale_before(settings.execution_timeout_seconds)
    claimed, already_handled, held = [], [], []
    for record in event["Records"]:
        try:
            planned = plan(record["body"])
        except DeliveryError as exc:  # the batch's other requests go on
            dead_letter_unreadable(record, str(exc), execution, stale)
            continue
        logger.set_correlation_id(planned["TraceId"])
        claim = store.claim(planned["TraceId"], planned["Owner"], execution, stale)
        if claim is Claim.CLAIMED:
            claimed.append(planned)
            continue
        already_handled.append({"TraceId": planned["TraceId"], "Owner": planned["Owner"]})
        if claim is Claim.HELD:
            # A synchronous (EXPRESS) pipe gives it back to the queue: if the execution
            # holding it dies, the request is still there. STANDARD ignores this.
            held.append({"itemIdentifier": record["messageId"]})
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
    return planned | {"AlreadyHandled": already_handled, "batchItemFailures": held}


def dead_letter_unreadable(record: dict, reason: str, execution: str, stale: str) -> None:
    """Dead-letter a queued body nothing can be read from, once (a retried Plan skips it)."""
    marker = unreadable_trace_id(record["messageId"])
    if store.claim(marker, UNREADABLE_OWNER, execution, stale) is not Claim.CLAIMED:
        return
    logger.warning("unreadable request dead-lettered", extra={"reason": reason})
    dead_letters.send(as_it_arrived(record["body"], INVALID_MESSAGE, reason, execution))
    store.finish(marker, UNREADABLE_OWNER, COMPLETED, execution)
