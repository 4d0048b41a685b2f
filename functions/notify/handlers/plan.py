"""First step of the Delivery state machine: the pipe's records in, claimed deliveries out."""

import json
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from notify.domain.errors import INVALID_MESSAGE, DeliveryError, PermanentError, TransientError
from notify.domain.fallback import unreceived
from notify.domain.jobs import JOB, batch_records
from notify.domain.outcomes import CANCELLED, FAILED
from notify.domain.pacing import (
    JOB_WAIT_IN_FUNCTION,
    WAIT_IN_FUNCTION,
    Booking,
    interval,
    with_bookings,
)
from notify.domain.plan import (
    chain,
    check_fallback_after,
    execution_plan,
    opt_out_key,
    plan,
    recipient_keys,
    rejected_all,
)
from notify.domain.reconcile import dead_letter_once, stale_before
from notify.domain.schedule import (
    at_expression,
    pointer_body,
    read_pointer,
    schedule_name,
    send_at,
    stamp,
)
from notify.domain.steps import Outcome, Planned
from notify.domain.test_keys import is_test
from notify.handlers.settings import PlanSettings
from notify.integration.budgets import BudgetStore
from notify.integration.dynamodb_table import DynamoTable
from notify.integration.executions import DeadLetterQueue
from notify.integration.job_store import JobStore
from notify.integration.opt_outs import OptOutStore
from notify.integration.traces.claims import Claim, ClaimStore
from notify.integration.traces.reads import TraceReader

settings = PlanSettings.from_env()
logger = Logger()
tracer = Tracer()
dynamodb = boto3.client("dynamodb")
traces_table = DynamoTable(dynamodb, settings.traces_table)
store = ClaimStore(traces_table, settings.retention_days)
reads = TraceReader(traces_table)
opt_outs = OptOutStore(dynamodb, settings.opt_outs_table)
dead_letters = DeadLetterQueue(boto3.client("sqs"), settings.dead_letter_queue_url)
schedules = settings.send_schedules(boto3.client("scheduler"))
budgets = BudgetStore(DynamoTable(dynamodb, settings.budgets_table))
jobs = JobStore(DynamoTable(dynamodb, settings.jobs_table))
job_statuses: dict[tuple[str, str], str] = {}  # (owner, JobId) -> CANCELLED, once read so


@dataclass
class Batch:
    """What Plan found for the records of one execution, request by request."""

    claimed: list[Planned] = field(default_factory=list)
    already_handled: list[dict[str, str]] = field(default_factory=list)
    held: list[dict[str, str]] = field(default_factory=list)
    refused: list[Outcome] = field(default_factory=list)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def handler(event: dict, context: LambdaContext) -> dict:
    execution = event["ExecutionArn"]
    batch = Batch()
    records, wait, run = event["Records"], WAIT_IN_FUNCTION, None
    if isinstance(records, dict):  # a job's batch of rows (a Distributed Map's child)
        records, wait, run = (
            batch_records(records),
            JOB_WAIT_IN_FUNCTION,
            records["BatchInput"]["Run"],
        )
    for record in records:
        try:
            plan_record(record, execution, datetime.now(UTC), batch, run)
        except TransientError:
            raise  # Plan is retried whole: every claim is idempotent for its execution
        except Exception as exc:  # about this request alone: the batch's others go on
            logger.exception("request dead-lettered alone")
            settle_alone(record, exc, execution)
    # Every recipient's opt-out in one read; a STOP that lands while this execution
    # runs holds from the next message on (Twilio refuses WhatsApp sends after it too).
    keys = [opt_out_key(c) for p in batch.claimed for r in p.deliveries for c in chain(r)]
    opted_out = opt_outs.opted_out(key for key in keys if key)
    planned = with_bookings(
        execution_plan(batch.claimed, settings.send_functions, opted_out),
        book_slots,
        time.time(),
        wait,
    )
    answer = replace(
        planned,
        rejected=(*planned.rejected, *batch.refused),
        already_handled=tuple(batch.already_handled),
        held=tuple(batch.held),
    )
    logger.info(
        "requests planned",
        extra={
            "claimed": len(batch.claimed),
            "already_handled": len(answer.already_handled),
            "rejected": len(answer.rejected),
        },
    )
    return answer.to_json()


def book_slots(channel: str, budget: str, lane: str, count: int) -> list[Booking]:
    """Slots for `count` sends of one request on one budget (`pacing.with_bookings`)."""
    default = interval(float(settings.send_rates[channel]))
    return budgets.book(budget, lane, time.time(), default, count)


def plan_record(
    record: dict[str, Any], execution: str, now: datetime, batch: Batch, run: str | None = None
) -> None:
    """Plan one queued record into `batch`; it touches `batch` only once it has succeeded.

    `run`: the job run whose batch this record is a row of (`ClaimStore.claim`).
    """
    logger.set_correlation_id(None)
    planned = plan(queued_body(record["body"]))
    logger.set_correlation_id(planned.trace_id)
    if job_cancelled(planned):
        batch.already_handled.append({"TraceId": planned.trace_id, "Owner": planned.owner})
        return
    claim, rejected = take(planned, record["body"], execution, now, run)
    if claim is Claim.CLAIMED:
        if rejected is None:
            batch.claimed.append(awaited_only(planned))
        batch.refused += rejected or []
        return
    batch.already_handled.append({"TraceId": planned.trace_id, "Owner": planned.owner})
    if claim is Claim.HELD:
        # A synchronous (EXPRESS) pipe gives it back to the queue: if the execution
        # holding it dies, the request is still there. STANDARD ignores this.
        batch.held.append({"itemIdentifier": record["messageId"]})


def job_cancelled(planned: Planned) -> bool:
    """A row of a job cancelled since: not sent (the job counts it Cancelled)."""
    job = next((d[JOB] for d in planned.deliveries if JOB in d), None)
    if job is None:
        return False
    if (planned.owner, job) not in job_statuses:  # one read per job and cold start at most
        found = jobs.get(planned.owner, job)
        if found is None or found.get("Status") == CANCELLED:
            job_statuses[planned.owner, job] = CANCELLED
        else:
            return False  # read again for the next batch: it may be cancelled meanwhile
    return True


def take(
    planned: Planned, body: str, execution: str, now: datetime, run: str | None = None
) -> tuple[Claim, list[Outcome] | None]:
    """Claim one request for this execution, or schedule it: (the claim, what it refused).

    None refused: deliver it now. A list: deliver nothing now, record these outcomes
    (every recipient REJECTED for a SendAt out of range; none for a scheduled request).
    """
    trace_id, owner = planned.trace_id, planned.owner
    stale = stale_before(settings.execution_timeout_seconds, now)
    keys = recipient_keys(planned)
    claim_args = (trace_id, owner, execution, stale, keys, run, is_test(planned.caller))
    try:
        when = send_at(planned.send_at, now)
        check_fallback_after(planned)
    except PermanentError as exc:
        return store.claim(*claim_args), rejected_all(planned, exc)
    if when is not None:
        return schedule_send(planned, body, when), []
    return store.claim(*claim_args), None


def awaited_only(planned: Planned) -> Planned:
    """A fallback's continuation keeps only recipients whose earlier channel had no receipt."""
    awaited = planned.awaited_receipts
    if not awaited:
        return planned
    _, items = reads.read(planned.trace_id, planned.owner)
    return replace(planned, deliveries=tuple(unreceived(planned.deliveries, awaited, items)))


def queued_body(body: str) -> str:
    """The queued request; for a schedule's pointer, the request kept on its trace."""
    pointer = read_pointer(body)
    if pointer is None:
        return body
    stored = store.scheduled_request(*pointer)
    if stored is None:
        raise PermanentError(INVALID_MESSAGE, "the scheduled request is no longer kept")
    return stored


def schedule_send(planned: Planned, body: str, when: datetime) -> Claim:
    """Keep the request on its trace, SCHEDULED, and a schedule to queue it again then."""
    trace_id, owner = planned.trace_id, planned.owner
    claim = store.schedule(trace_id, owner, stamp(when), body, recipient_keys(planned))
    if claim is Claim.CLAIMED:
        name = schedule_name(owner, trace_id)
        queue = settings.queue_for(json.loads(body)["Request"])  # the lane the API chose
        schedules.create(name, at_expression(when), queue, pointer_body(trace_id, owner))
        logger.info("request scheduled", extra={"send_at": stamp(when)})
    return claim


def settle_alone(record: dict[str, Any], exc: Exception, execution: str) -> None:
    """Dead-letter one record that could not be planned, once, and end its trace if claimed."""
    error = exc.reason if isinstance(exc, DeliveryError) else type(exc).__name__
    cause = str(exc) if isinstance(exc, DeliveryError) else f"{type(exc).__name__}: {exc}"
    dead_letter_once(record, error, cause, execution, store, dead_letters)
    try:
        planned = plan(queued_body(record["body"]))
        store.finish(planned.trace_id, planned.owner, FAILED, execution)  # if this run held it
    except Exception:  # unreadable, or never claimed: the dead letter is what counts
        logger.exception("the trace of the dead-lettered request was not ended")
