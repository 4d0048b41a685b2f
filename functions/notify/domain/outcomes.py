"""What happened to each recipient, and the dead-letter request for those that exhausted retries."""

from __future__ import annotations

import json
import re
from collections import Counter
from typing import Any

from notify.domain.fallback import AWAITING

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


def failure_reason(outcome: dict[str, Any]) -> str:
    """The error message of a caught Lambda error (its Cause is the runtime's JSON payload)."""
    cause = outcome.get("Cause") or ""
    try:
        return json.loads(cause)["errorMessage"]
    except (ValueError, KeyError, TypeError):
        return cause or outcome.get("Error", "")


class RecipientsExhausted(Exception):  # the ASL catches it by this name
    """Some recipients exhausted their retries: the workflow tries them once more.

    Raised by Record after it wrote every outcome; the one path that does not end there.
    """


def by_trace(outcomes: list[dict[str, Any]]) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """The outcomes of each (TraceId, Owner) an execution delivered, in their order."""
    grouped: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for outcome in outcomes:
        grouped.setdefault((outcome["TraceId"], outcome["Owner"]), []).append(outcome)
    return grouped


def exhausted(outcomes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The recipients whose sends exhausted their retries (and had no fallback left)."""
    return [o["Recipient"] for o in outcomes if o["Status"] == FAILED and not o.get("FellBack")]


def _given_up_status(error: dict[str, Any]) -> str:
    return REJECTED if error.get("Error") == "PermanentError" else FAILED


def with_tried(outcomes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The outcomes and, after each, those of the channels it fell back from.

    The workflow keeps them as nested `[recipient, error, earlier]` triples (`Tried`);
    a channel given up on is REJECTED (a permanent error) or FAILED (retries exhausted),
    marked `FellBack`: a later channel took over, so it is neither retried nor
    dead-lettered on its own.
    """
    flat = []
    for outcome in outcomes:
        flat.append({key: value for key, value in outcome.items() if key != "Tried"})
        tried = outcome.get("Tried") or []
        while tried:
            recipient, error, tried = tried
            flat.append(
                {
                    "TraceId": outcome["TraceId"],
                    "Owner": outcome["Owner"],
                    "Recipient": recipient,
                    "Status": _given_up_status(error),
                    "Error": error.get("Error"),
                    "Cause": error.get("Cause"),
                    "FellBack": True,
                }
            )
    return flat


def count_by_channel(outcomes: list[dict[str, Any]]) -> Counter[tuple[str, str]]:
    # A recipient awaiting its receipt was sent.
    return Counter(
        (o["Recipient"]["ChannelType"], SENT if o["Status"] == AWAITING else o["Status"])
        for o in outcomes
    )


def dead_letter(
    trace_id: str,
    caller: dict[str, Any],
    messages: dict[str, Any],
    outcomes: list[dict[str, Any]],
    execution_arn: str,
) -> dict[str, Any] | None:
    """An SQS SendMessage for just the exhausted recipients, or None when there are none.

    The body has the shape the API queues, so redriving it to the main queue re-sends
    what failed; recipients already sent are skipped by the send functions' idempotency.
    """
    failed = [o for o in outcomes if o["Status"] == FAILED]
    if not failed:
        return None
    addresses = {}
    for outcome in failed:
        recipient = dict(outcome["Recipient"])
        addresses[recipient.pop("Address")] = recipient
    request = {"TraceId": trace_id, **messages, "Addresses": addresses}
    reasons = "; ".join(f"{o['Recipient']['Address']}: {failure_reason(o)}" for o in failed)
    return {
        # ensure_ascii escapes every other character (a lone surrogate too): SQS takes it.
        "MessageBody": json.dumps({"Caller": caller, "Request": request}, ensure_ascii=True),
        "MessageAttributes": dead_letter_attributes(
            failed[0].get("Error") or "States.TaskFailed", reasons, execution_arn
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
