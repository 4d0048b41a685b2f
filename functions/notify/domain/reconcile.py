"""Reconcile a Delivery execution that ended badly: nothing it accepted is left behind.

An execution can end FAILED (a send failed its last retry, or a state without a Catch
failed), TIMED_OUT or ABORTED (an operator stopped it). Whatever the cause, its trace is
ended FAILED and exactly the recipients that are neither SENT nor REJECTED are put on
the dead-letter queue as one request, so a DLQ message always means "not delivered".
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from notify.domain.errors import DeliveryError, TransientError
from notify.domain.fallback import unreceived
from notify.domain.outcomes import (
    CANCELLED,
    COMPLETED,
    FAILED,
    REJECTED,
    RUNNING,
    SCHEDULED,
    SENT,
    as_it_arrived,
    dead_letter,
)
from notify.domain.plan import chain, plan
from notify.domain.schedule import read_pointer
from notify.domain.steps import Outcome, Planned

ENDED_BADLY = ("FAILED", "TIMED_OUT", "ABORTED")
# The longest a send task may run (the ASL's TimeoutSeconds), with a margin for the
# Lambda to see its own end.
SEND_TASK_SECONDS = 60 + 5
# How often sends still in flight are looked at again while waiting for them.
RECHECK_SECONDS = 2
# The sweep looks only at traces this long past the timeout: by then the status-change
# event of an execution that timed out has been handled (or all its retries failed), so
# the two never reconcile one execution at the same time.
SWEEP_GRACE_SECONDS = 900
# Cancelled recipients are done too: never dead-lettered, never alarmed on.
DONE = (SENT, REJECTED, CANCELLED)


@dataclass(frozen=True)
class Execution:
    """What DescribeExecution and the history say of a Delivery execution.

    `sends_started`: each send task the execution started and never saw end, as
    (ChannelType, Address, when it was scheduled). Stopping an execution does not stop a
    Lambda it invoked: until its time is up, such a send may still land.
    """

    arn: str
    status: str
    input: str
    error: str | None = None
    cause: str | None = None
    sends_started: tuple[tuple[str, str, str], ...] = ()

    def reason(self) -> str:
        if self.status == "ABORTED":
            return "the execution was stopped before this recipient was sent"
        if self.status == "TIMED_OUT":
            return "the execution timed out before this recipient was sent"
        if self.status == "SUCCEEDED":
            return "the execution ended without recording this recipient"
        return self.cause or self.error or "the execution failed"


class DeadLetterMarkers(Protocol):
    def claim_dead_letter(self, message_id: str, execution: str) -> bool:
        """True for `execution` (new, or already its own): it sends the queued record's letter."""

    def end_dead_letter(self, message_id: str, execution: str) -> None:
        """The queued record's letter is sent."""


class Traces(DeadLetterMarkers, Protocol):
    def read(self, trace_id: str, owner: str) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
        """The owner's header item and recipient items."""

    def finish(self, trace_id: str, owner: str, status: str, execution: str) -> bool:
        """End the run of `execution`; False when the trace is not in that run."""

    def record(self, trace_id: str, owner: str, outcomes: list[Outcome], execution: str) -> Any:
        """Write recipients' outcomes."""


class DeadLetters(Protocol):
    def send(self, message: dict[str, Any]) -> None:
        """Put one message (MessageBody, MessageAttributes) on the dead-letter queue."""


def stale_before(timeout_seconds: int, now: datetime | None = None) -> str:
    """Claims made before this instant belong to executions that must have ended."""
    instant = (now or datetime.now(UTC)) - timedelta(seconds=timeout_seconds)
    return instant.isoformat(timespec="microseconds")


def reconcile(
    execution: Execution,
    traces: Traces,
    dead_letters: DeadLetters,
    sleep: Callable[[float], None] = time.sleep,
    is_scheduled: Callable[[str, str], bool] | None = None,
    swept: bool = False,
) -> str:
    """Dead-letter what `execution` left unsent of each request it was given; say what was done.

    Each request alone: one that cannot be reconciled (a bug, a value a service refuses)
    is dead-lettered as it arrived, and the others go on. `is_scheduled(owner, trace_id)`
    says whether a SCHEDULED trace's schedule exists. `swept`: found by the sweep, RUNNING
    past the timeout; then even a SUCCEEDED execution left that trace unfinished.
    """
    if execution.status not in ENDED_BADLY and not (swept and execution.status == "SUCCEEDED"):
        return f"nothing to do: the execution is {execution.status}"
    results, transient = [], None
    for record in json.loads(execution.input):  # the pipe's batch of SQS records
        try:
            results.append(
                reconcile_record(record, execution, traces, dead_letters, sleep, is_scheduled)
            )
        except TransientError as exc:  # this record again on the retry; the others are done
            transient = exc
        except Exception as exc:  # about this request alone: it is dead-lettered, once
            cause = f"{type(exc).__name__}: {exc}"
            error = exc.reason if isinstance(exc, DeliveryError) else type(exc).__name__
            dead_letter_once(record, error, cause, execution.arn, traces, dead_letters)
            results.append(f"dead-lettered the request as it arrived ({cause})")
    if transient is not None:
        raise transient
    return "; ".join(results)


def dead_letter_once(
    record: dict[str, Any],
    error: str,
    cause: str,
    execution: str,
    markers: DeadLetterMarkers,
    dead_letters: DeadLetters,
) -> bool:
    """Dead-letter a queued record as it arrived, once however often this is retried.

    A marker under the record's SQS message id says it was: claimed before the letter is
    sent, ended after. Plan, a retried Plan and the reconciler of the same execution share
    it; another execution given the same message (at-least-once) finds it taken.
    """
    if not markers.claim_dead_letter(record["messageId"], execution):
        return False
    dead_letters.send(as_it_arrived(record["body"], error, cause, execution))
    markers.end_dead_letter(record["messageId"], execution)
    return True


def reconcile_record(
    record: dict[str, Any],
    execution: Execution,
    traces: Traces,
    dead_letters: DeadLetters,
    sleep: Callable[[float], None] = time.sleep,
    is_scheduled: Callable[[str, str], bool] | None = None,
) -> str:
    """One queued request of the execution: its unsent recipients to the DLQ, its trace ended.

    Stopping or timing out an execution does not stop a send function already calling
    its provider: that call may still deliver. So a recipient whose attempt is still in
    progress (at most until its function's timeout) is waited for before deciding.
    """
    body = record["body"]
    pointer = read_pointer(body)
    if pointer is not None:  # a scheduled request, kept on its trace's header
        header, _ = traces.read(*pointer)
        body = (header or {}).get("ScheduledRequest") or body
    try:
        planned = plan(body)
    except DeliveryError as exc:
        if not dead_letter_once(
            record, _error(execution), str(exc), execution.arn, traces, dead_letters
        ):
            return "the unreadable request was dead-lettered already"
        return "dead-lettered the unreadable request as it arrived"
    trace_id, owner = planned.trace_id, planned.owner
    header, items = traces.read(trace_id, owner)
    if header is None:
        # The execution failed before its claim landed: nothing of it was sent.
        if not dead_letter_once(
            record, _error(execution), execution.reason(), execution.arn, traces, dead_letters
        ):
            return "the unclaimed request was dead-lettered already"
        return "dead-lettered the unclaimed request as it arrived"
    continued = header.get("ExecutionArn") == execution.arn  # by its Record: see below
    if (
        header.get("Status") == SCHEDULED
        and not continued
        and is_scheduled
        and not is_scheduled(owner, trace_id)
    ):
        # Plan kept it, then failed before its schedule was made. A redrive schedules it
        # (Plan's scheduling is idempotent) and sends nothing before its time. (A trace
        # SCHEDULED by this execution's Record was continued: paced sends or a fallback's
        # wait, queued with a delay or scheduled, before a batch-mate failed the execution.)
        cause = f"the execution ended before it was scheduled for {header.get('SendAt')}"
        dead_letter_once(record, _error(execution), cause, execution.arn, traces, dead_letters)
        return "dead-lettered the request being scheduled as it arrived"
    if header.get("ExecutionArn") != execution.arn or header.get("Status") != RUNNING:
        return "nothing to do: the trace is not running in this execution"
    unsent = unsent_outcomes(planned, items, execution)
    while (in_flight := seconds_in_flight(items, unsent, execution.sends_started)) > 0:
        sleep(min(in_flight, RECHECK_SECONDS))
        _, items = traces.read(trace_id, owner)
        unsent = unsent_outcomes(planned, items, execution)
    if not unsent:
        traces.finish(trace_id, owner, COMPLETED, execution.arn)
        return "every recipient was sent or rejected: trace COMPLETED"
    message = dead_letter(trace_id, planned.caller, planned.messages, unsent, execution.arn)
    dead_letters.send(message)
    if traces.finish(trace_id, owner, FAILED, execution.arn):
        traces.record(trace_id, owner, unsent, execution.arn)
    return f"dead-lettered {len(unsent)} unsent recipient(s): trace FAILED"


def _due(planned: Planned, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The deliveries the request owed: a continuation's, only where no receipt came."""
    awaited = planned.awaited_receipts
    deliveries = list(planned.deliveries)
    return unreceived(deliveries, awaited, items) if awaited else deliveries


def unsent_outcomes(
    planned: Planned, items: list[dict[str, Any]], execution: Execution
) -> list[Outcome]:
    """A FAILED outcome for each delivery owed that is neither SENT nor REJECTED on the trace.

    Its error is the one recorded when the recipient exhausted its retries, else the
    execution's own (stopped, timed out, or a failed step).
    """
    recorded = {(item.get("ChannelType"), item.get("Address")): item for item in items}
    unsent = []
    for delivery in _due(planned, items):
        item = recorded.get((delivery["ChannelType"], delivery["Address"]), {})
        if _done(delivery, recorded):
            continue
        error = item.get("Error") or execution.error or f"States.{execution.status}"
        cause = item.get("Reason") or execution.reason()
        unsent.append(
            Outcome(planned.trace_id, planned.owner, delivery, FAILED, error=error, cause=cause)
        )
    return unsent


def _done(delivery: dict[str, Any], recorded: dict[Any, dict[str, Any]]) -> bool:
    """Sent or cancelled on some channel of its chain, or rejected on every one."""
    found = [
        recorded.get((c["ChannelType"], c["Address"]), {}).get("Status") for c in chain(delivery)
    ]
    return any(status in (SENT, CANCELLED) for status in found) or all(
        status in DONE for status in found
    )


def seconds_in_flight(
    items: list[dict[str, Any]],
    unsent: list[Outcome],
    sends_started: tuple[tuple[str, str, str], ...] = (),
    *,
    now: datetime | None = None,
) -> float:
    """How long until no unsent recipient's attempt can still be at the provider (0: none).

    A send marks its attempt in progress until its function's time runs out, and clears
    the mark when the attempt ends (SENT, or failed). Before it wrote that mark it is known
    only from the execution's history: a send task started that never ended, until its
    recipient's item shows an attempt made since (`LastAttemptAt`) or its time is up.
    """
    wanted = {(o.recipient["ChannelType"], o.recipient["Address"]) for o in unsent}
    found = {(item.get("ChannelType"), item.get("Address")): item for item in items}
    until = [
        datetime.fromisoformat(item["InProgressUntil"])
        for key, item in found.items()
        if key in wanted and item.get("InProgressUntil")
    ]
    for channel, address, scheduled in sends_started:
        at = datetime.fromisoformat(scheduled)
        attempted = found.get((channel, address), {}).get("LastAttemptAt")
        if (channel, address) in wanted and not (
            attempted and datetime.fromisoformat(attempted) >= at
        ):
            until.append(at + timedelta(seconds=SEND_TASK_SECONDS))
    if not until:
        return 0.0
    return max(0.0, (max(until) - (now or datetime.now(UTC))).total_seconds())


def _error(execution: Execution) -> str:
    return execution.error or f"States.{execution.status}"
