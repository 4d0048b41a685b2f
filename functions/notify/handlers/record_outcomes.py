"""After each Map: record the outcomes on each trace, count them, flag the exhausted."""

import json
import math
from datetime import UTC, datetime
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from notify.domain.errors import TransientError
from notify.domain.fallback import AWAITING, Continuation, continuation, due_after, merged
from notify.domain.outcomes import (
    COMPLETED,
    FAILED,
    RUNNING,
    RecipientsExhausted,
    by_trace,
    count_by_channel,
    dead_letter,
    exhausted,
    with_tried,
)
from notify.domain.pacing import PACED
from notify.domain.schedule import at_expression, pointer_body, schedule_name
from notify.domain.steps import Outcome, RequestEntry
from notify.handlers.settings import RecordSettings
from notify.integration.dynamodb_table import DynamoTable
from notify.integration.executions import DeadLetterQueue
from notify.integration.traces.claims import ClaimStore
from notify.integration.traces.outcomes import OutcomeStore
from notify.integration.traces.reads import TraceReader

settings = RecordSettings.from_env()
logger = Logger()
tracer = Tracer()
traces_table = DynamoTable(boto3.client("dynamodb"), settings.traces_table)
store = OutcomeStore(traces_table, settings.retention_days)
claims = ClaimStore(traces_table, settings.retention_days)
reads = TraceReader(traces_table)
dead_letters = DeadLetterQueue(boto3.client("sqs"), settings.dead_letter_queue_url)
schedules = settings.send_schedules(boto3.client("scheduler"))
queued = boto3.client("sqs")
# SQS delays a message at most 15 minutes; a later continuation is a one-time schedule.
MAX_DELAY_SECONDS = 900


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def handler(event: dict, context: LambdaContext) -> dict:
    execution = event["ExecutionArn"]
    entries = [RequestEntry.from_json(r) for r in event.get("Requests", [])]
    requests = {(r.trace_id, r.owner): r for r in entries}
    outcomes = with_tried(_outcomes(event["Outcomes"])) + _outcomes(event.get("Rejected", []))
    traces = by_trace(outcomes)
    if not event.get("Retried"):  # every claimed request ends here, even one with no outcome
        traces = {key: [] for key in requests} | traces
    unrecorded = []
    for (trace_id, owner), recorded in traces.items():
        logger.set_correlation_id(trace_id)
        try:
            request = requests.get((trace_id, owner))
            record_trace(request, trace_id, owner, recorded, execution, bool(event.get("Retried")))
        except TransientError:
            raise  # Record is retried whole: its writes are idempotent
        except Exception:  # about this request alone: the batch's others go on
            logger.exception("outcomes not recorded: the request is dead-lettered alone")
            settle_alone(requests.get((trace_id, owner)), recorded, execution)
            unrecorded.append((trace_id, owner))
    count(outcomes)
    failed = exhausted([o for o in outcomes if (o.trace_id, o.owner) not in unrecorded])
    if failed:
        raise RecipientsExhausted(f"{len(failed)} recipient(s) exhausted their retries")
    # The execution's output: what a synchronous (EXPRESS) pipe must give back to the queue.
    return {"batchItemFailures": event.get("BatchItemFailures", [])}


def _outcomes(payloads: list[dict[str, Any]]) -> list[Outcome]:
    return [Outcome.from_json(payload) for payload in payloads]


def record_trace(
    request: RequestEntry | None,
    trace_id: str,
    owner: str,
    recorded: list[Outcome],
    execution: str,
    retried: bool = False,
) -> None:
    """One trace's outcomes; what waits (a receipt, a send slot) is continued later."""
    kept = None
    if request is not None:
        awaiting = [o for o in recorded if o.status == AWAITING]
        due = due_after(request.fallback_after_seconds or 0, datetime.now(UTC))
        kept = continuation(request, awaiting, due, [o for o in recorded if o.status == PACED])
    if kept is not None and retried:
        kept = with_the_kept_one(trace_id, owner, kept)
    status, scheduled = store.record(trace_id, owner, recorded, execution, kept)
    if scheduled is not None:
        continue_later(trace_id, owner, scheduled)
    logger.info("outcomes recorded", extra={"status": status, "recipients": len(recorded)})


def with_the_kept_one(trace_id: str, owner: str, new: Continuation) -> Continuation:
    """A retried run's continuation, with the one its first Record kept on the trace."""
    header, _ = reads.read(trace_id, owner)
    if header and header.get("Continuation"):
        return merged(Continuation(header["Continuation"], header["ContinueAt"]), new)
    return new


def continue_later(trace_id: str, owner: str, kept: Continuation) -> None:
    """Queue the trace's continuation for when it is due: delayed on its queue when that is
    within SQS's 15 minutes (to the second, and cheaper), else a one-time schedule."""
    due = datetime.fromisoformat(kept.due)
    lane = json.loads(kept.body)["Request"]  # the queue the API chose, by its size
    # Whole seconds, never after it is due (Plan claims it up to DUE_TOLERANCE early).
    delay = math.floor((due - datetime.now(UTC)).total_seconds())
    if delay <= MAX_DELAY_SECONDS:
        queued.send_message(
            QueueUrl=settings.queue_url_for(lane),
            MessageBody=pointer_body(trace_id, owner),
            DelaySeconds=max(0, delay),
        )
        logger.info("continued later", extra={"send_at": kept.due, "delay": delay})
        return
    name = schedule_name(owner, trace_id, kept.due)
    schedules.create(
        name, at_expression(due), settings.queue_for(lane), pointer_body(trace_id, owner)
    )
    logger.info("continuation scheduled", extra={"send_at": kept.due})


def settle_alone(request: RequestEntry | None, recorded: list[Outcome], execution: str) -> None:
    """Dead-letter what one request left unsent (its trace ends FAILED), once."""
    if not recorded or request is None:
        return
    trace_id, owner = request.trace_id, request.owner
    header, _ = reads.read(trace_id, owner)
    if not header or header.get("ExecutionArn") != execution or header.get("Status") != RUNNING:
        return  # ended already (a retried Record): its letter, if any, was sent then
    unsent = [o for o in recorded if o.status == FAILED and not o.fell_back]
    letter = dead_letter(trace_id, request.caller, request.messages, unsent, execution)
    if letter is not None:
        dead_letters.send(letter)
    claims.finish(trace_id, owner, FAILED if letter else COMPLETED, execution)


def count(outcomes: list[Outcome]) -> None:
    for (channel, outcome), number in count_by_channel(outcomes).items():
        # One metric set per channel (its dimension); honours POWERTOOLS_METRICS_DISABLED.
        metrics = EphemeralMetrics(namespace=settings.metrics_namespace)
        metrics.add_dimension(name="Channel", value=channel)
        metrics.add_metric(name=f"Recipients{outcome.title()}", unit=MetricUnit.Count, value=number)
        metrics.flush_metrics()
