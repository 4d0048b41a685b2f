"""First step of the Delivery state machine: the pipe's records in, claimed deliveries out."""

import json
from datetime import UTC, datetime
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from notify.domain.errors import INVALID_MESSAGE, DeliveryError, PermanentError
from notify.domain.lanes import is_small_request
from notify.domain.outcomes import COMPLETED, as_it_arrived
from notify.domain.plan import (
    UNREADABLE_OWNER,
    chain,
    check_fallback_after,
    execution_plan,
    opt_out_key,
    plan,
    recipient_keys,
    rejected_all,
    unreadable_trace_id,
)
from notify.domain.reconcile import stale_before
from notify.domain.schedule import (
    at_expression,
    pointer_body,
    read_pointer,
    schedule_name,
    send_at,
    stamp,
)
from notify.handlers.settings import PlanSettings
from notify.integration.dynamodb_table import DynamoTable
from notify.integration.executions import DeadLetterQueue
from notify.integration.opt_outs import OptOutStore
from notify.integration.schedules import SendSchedules
from notify.integration.trace_store import Claim, TraceStore

settings = PlanSettings.from_env()
logger = Logger()
tracer = Tracer()
dynamodb = boto3.client("dynamodb")
store = TraceStore(DynamoTable(dynamodb, settings.traces_table), settings.retention_days)
opt_outs = OptOutStore(dynamodb, settings.opt_outs_table)
dead_letters = DeadLetterQueue(boto3.client("sqs"), settings.dead_letter_queue_url)
schedules = SendSchedules(
    boto3.client("scheduler"),
    settings.schedule_group,
    settings.scheduler_role_arn,
    settings.dead_letter_queue_arn,
)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def handler(event: dict, context: LambdaContext) -> dict:
    execution = event["ExecutionArn"]
    stale = stale_before(settings.execution_timeout_seconds)
    now = datetime.now(UTC)
    claimed, already_handled, held, refused = [], [], [], []
    for record in event["Records"]:
        try:
            body = queued_body(record["body"])
            planned = plan(body)
        except DeliveryError as exc:  # the batch's other requests go on
            dead_letter_unreadable(record, str(exc), execution, stale)
            continue
        logger.set_correlation_id(planned["TraceId"])
        claim, rejected = take(planned, body, execution, stale, now)
        if claim is Claim.CLAIMED:
            if rejected is None:
                claimed.append(planned)
            refused += rejected or []
            continue
        already_handled.append({"TraceId": planned["TraceId"], "Owner": planned["Owner"]})
        if claim is Claim.HELD:
            # A synchronous (EXPRESS) pipe gives it back to the queue: if the execution
            # holding it dies, the request is still there. STANDARD ignores this.
            held.append({"itemIdentifier": record["messageId"]})
    # Every recipient's opt-out in one read; a STOP that lands while this execution
    # runs holds from the next message on (Twilio refuses WhatsApp sends after it too).
    keys = [opt_out_key(c) for p in claimed for r in p["Deliveries"] for c in chain(r)]
    opted_out = opt_outs.opted_out(key for key in keys if key)
    planned = execution_plan(claimed, settings.send_functions, opted_out)
    planned["Rejected"] += refused
    logger.info(
        "requests planned",
        extra={
            "claimed": len(claimed),
            "already_handled": len(already_handled),
            "rejected": len(planned["Rejected"]),
        },
    )
    return planned | {"AlreadyHandled": already_handled, "batchItemFailures": held}


def take(
    planned: dict[str, Any], body: str, execution: str, stale: str, now: datetime
) -> tuple[Claim, list[dict[str, Any]] | None]:
    """Claim one request for this execution, or schedule it: (the claim, what it refused).

    None refused: deliver it now. A list: deliver nothing now, record these outcomes
    (every recipient REJECTED for a SendAt out of range; none for a scheduled request).
    """
    trace_id, owner = planned["TraceId"], planned["Owner"]
    try:
        when = send_at(planned["SendAt"], now)
        check_fallback_after(planned, settings.execution_timeout_seconds)
    except PermanentError as exc:
        claim = store.claim(trace_id, owner, execution, stale, recipient_keys(planned))
        return claim, rejected_all(planned, exc)
    if when is not None:
        return schedule_send(planned, body, when), []
    return store.claim(trace_id, owner, execution, stale, recipient_keys(planned)), None


def queued_body(body: str) -> str:
    """The queued request; for a schedule's pointer, the request kept on its trace."""
    pointer = read_pointer(body)
    if pointer is None:
        return body
    stored = store.scheduled_request(*pointer)
    if stored is None:
        raise PermanentError(INVALID_MESSAGE, "the scheduled request is no longer kept")
    return stored


def schedule_send(planned: dict[str, Any], body: str, when: datetime) -> Claim:
    """Keep the request on its trace, SCHEDULED, and a schedule to queue it again then."""
    trace_id, owner = planned["TraceId"], planned["Owner"]
    claim = store.schedule(trace_id, owner, stamp(when), body, recipient_keys(planned))
    if claim is Claim.CLAIMED:
        small = is_small_request(json.loads(body)["Request"])  # the lane the API chose
        queue = settings.message_queue_arn if small else settings.large_message_queue_arn
        name = schedule_name(owner, trace_id)
        schedules.create(name, at_expression(when), queue, pointer_body(trace_id, owner))
        logger.info("request scheduled", extra={"send_at": stamp(when)})
    return claim


def dead_letter_unreadable(record: dict, reason: str, execution: str, stale: str) -> None:
    """Dead-letter a queued body nothing can be read from, once (a retried Plan skips it)."""
    marker = unreadable_trace_id(record["messageId"])
    if store.claim(marker, UNREADABLE_OWNER, execution, stale) is not Claim.CLAIMED:
        return
    logger.warning("unreadable request dead-lettered", extra={"reason": reason})
    dead_letters.send(as_it_arrived(record["body"], INVALID_MESSAGE, reason, execution))
    store.finish(marker, UNREADABLE_OWNER, COMPLETED, execution)
