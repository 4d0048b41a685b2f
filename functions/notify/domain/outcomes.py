"""What happened to each recipient, and the dead-letter request for those that exhausted retries."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from notify.domain.fallback import AWAITING
from notify.domain.pacing import without_pacing
from notify.domain.steps import GivenUp, Outcome, Tried

SENT, REJECTED, FAILED = "SENT", "REJECTED", "FAILED"
# Cancelled by its sender before its send began: never sent, retried or dead-lettered.
CANCELLED = "CANCELLED"
# A trace (its header item) is RUNNING while an execution holds its claim, then one of these.
RUNNING, COMPLETED = "RUNNING", "COMPLETED"
# A trace waiting for its SendAt (an EventBridge Scheduler schedule sends it then).
SCHEDULED = "SCHEDULED"
# SQS caps a message attribute's value with the body; keep causes readable, not whole stacks.
MAX_CAUSE_CHARS = 2000
# What SQS refuses in a message body or a String attribute (XML 1.0's characters are allowed):
# SendMessage answers 400 InvalidMessageContents, and the letter would be lost.
_NOT_SQS_TEXT = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def sqs_text(text: str) -> str:
    """`text` with each character SQS refuses written as its JSON escape (`\\ud800`).

    Inside a JSON string the escape reads back as the same character, so a JSON body
    stays the same JSON; in plain text (an attribute) it reads as what it was.
    """
    return _NOT_SQS_TEXT.sub(lambda found: f"\\u{ord(found.group()):04x}", text)


def failure_reason(outcome: Outcome) -> str:
    """The error message of a caught Lambda error (its Cause is the runtime's JSON payload)."""
    cause = outcome.cause or ""
    try:
        return json.loads(cause)["errorMessage"]
    except (ValueError, KeyError, TypeError):
        return cause or outcome.error or ""


class RecipientsExhausted(Exception):  # the ASL catches it by this name
    """Some recipients exhausted their retries: the workflow tries them once more.

    Raised by Record after it wrote every outcome; the one path that does not end there.
    """


def by_trace(outcomes: Sequence[Outcome]) -> dict[tuple[str, str], list[Outcome]]:
    """The outcomes of each (TraceId, Owner) an execution delivered, in their order."""
    grouped: dict[tuple[str, str], list[Outcome]] = {}
    for outcome in outcomes:
        grouped.setdefault((outcome.trace_id, outcome.owner), []).append(outcome)
    return grouped


def exhausted(outcomes: Sequence[Outcome]) -> list[dict[str, Any]]:
    """The recipients whose sends exhausted their retries (and had no fallback left)."""
    return [o.recipient for o in outcomes if o.status == FAILED and not o.fell_back]


def with_tried(outcomes: Sequence[Outcome]) -> list[Outcome]:
    """The outcomes and, after each, those of the channels it fell back from (`Tried`).

    A channel given up on is REJECTED (a permanent error) or FAILED (retries exhausted),
    marked `fell_back`: a later channel took over, so it is neither retried nor
    dead-lettered on its own.
    """
    flat = []
    for outcome in outcomes:
        flat.append(replace(outcome, tried=Tried()))
        flat += [_fell_back(outcome, channel) for channel in outcome.tried.given_up]
    return flat


def _fell_back(outcome: Outcome, channel: GivenUp) -> Outcome:
    status = REJECTED if channel.error == "PermanentError" else FAILED
    return Outcome(
        outcome.trace_id,
        outcome.owner,
        channel.recipient,
        status,
        error=channel.error,
        cause=channel.cause,
        fell_back=True,
    )


def count_by_channel(outcomes: Sequence[Outcome]) -> Counter[tuple[str, str]]:
    # A recipient awaiting its receipt was sent.
    return Counter(
        (o.recipient["ChannelType"], SENT if o.status == AWAITING else o.status) for o in outcomes
    )


def dead_letter(
    trace_id: str,
    caller: dict[str, Any],
    messages: dict[str, Any],
    outcomes: Sequence[Outcome],
    execution_arn: str,
) -> dict[str, Any] | None:
    """An SQS SendMessage for just the exhausted recipients, or None when there are none.

    The body has the shape the API queues, so redriving it to the main queue re-sends
    what failed; recipients already sent are skipped by the send functions' idempotency.
    """
    failed = [o for o in outcomes if o.status == FAILED]
    if not failed:
        return None
    addresses = {}
    for outcome in failed:
        recipient = without_pacing(outcome.recipient)  # a redrive books afresh
        addresses[recipient.pop("Address")] = recipient
    request = {"TraceId": trace_id, **messages, "Addresses": addresses}
    reasons = "; ".join(f"{o.recipient['Address']}: {failure_reason(o)}" for o in failed)
    return {
        # ensure_ascii escapes every other character (a lone surrogate too): SQS takes it.
        "MessageBody": json.dumps({"Caller": caller, "Request": request}, ensure_ascii=True),
        "MessageAttributes": dead_letter_attributes(
            failed[0].error or "States.TaskFailed", reasons, execution_arn
        ),
    }


def as_it_arrived(body: str, error: str, cause: str, execution_arn: str) -> dict[str, Any]:
    """An SQS SendMessage of a queued body that could not be read or was never claimed."""
    return {
        "MessageBody": sqs_text(body),
        "MessageAttributes": dead_letter_attributes(error, cause, execution_arn),
    }


def dead_letter_attributes(error: str, cause: str, execution_arn: str) -> dict[str, Any]:
    """What every dead letter carries beside its body: why, and which execution."""
    values = {"Error": error, "Cause": cause[:MAX_CAUSE_CHARS], "ExecutionArn": execution_arn}
    # SQS refuses empty attribute values.
    return {
        name: {"DataType": "String", "StringValue": sqs_text(value) or "-"}
        for name, value in values.items()
    }
