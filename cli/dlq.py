"""`messaging dlq list|redrive`: look into the dead-letter queue, and move it back."""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from botocore.exceptions import ClientError

from cli.aws import Unsupported, attempt, describe_client_error
from cli.errors import CommandError
from cli.output import cause_text, to_json
from cli.target import Context, Target
from notify.domain.outcomes import sqs_text

LIST_VISIBILITY = 60  # seconds each dead letter is hidden while the queue is read through
LIST_WAIT_SECONDS = 1  # a long poll: an empty answer means nothing is left to read
MOVE_VISIBILITY = 30  # seconds a message is hidden while being copied to the main queue
EMPTY = "the dead-letter queue is empty"


def summarise(message: dict[str, Any]) -> dict[str, Any]:
    """What an operator needs of a dead letter: whose request, for whom, and why."""
    attributes = {
        name: value.get("StringValue", "")
        for name, value in message.get("MessageAttributes", {}).items()
    }
    try:
        request = json.loads(message["Body"]).get("Request") or {}
    except (ValueError, AttributeError):  # dead-lettered as it arrived: maybe not JSON
        request = {}
    if not isinstance(request, dict):
        request = {}
    addresses = request.get("Addresses")
    trace_id = request.get("TraceId")
    # A lone surrogate in a request cannot be printed: show it escaped, as the letter holds it.
    return {
        "MessageId": message.get("MessageId"),
        "TraceId": sqs_text(trace_id) if isinstance(trace_id, str) else trace_id,
        "Recipients": [sqs_text(a) for a in addresses] if isinstance(addresses, dict) else [],
        "Error": attributes.get("Error"),
        "Cause": cause_text(attributes.get("Cause")) or None,
        "ExecutionArn": attributes.get("ExecutionArn"),
    }


def read_all(
    sqs: Any,
    queue_url: str,
    visibility: int = LIST_VISIBILITY,
    wait_seconds: int = LIST_WAIT_SECONDS,
) -> list[dict[str, Any]]:
    """Every message in the queue, each once, left in it.

    A receive returns at most 10 messages, and one that leaves them visible
    (VisibilityTimeout 0) may return the same ones again: on the local stack always the
    10 oldest. So each one read is hidden for `visibility` seconds while the rest are
    read, until a long poll (which asks every SQS server, unlike a short one) finds
    nothing new; then all are made visible again. Were the reading to take longer than
    `visibility`, the first ones would come back and end it early: a dead-letter queue
    is read far faster than that.
    """
    seen: dict[str, dict[str, Any]] = {}
    try:
        while True:
            messages = _receive(sqs, queue_url, visibility, wait_seconds)
            new = [message for message in messages if message["MessageId"] not in seen]
            # A message received again has a new receipt handle: only the latest one works.
            seen.update((message["MessageId"], message) for message in messages)
            if not new:
                break
    finally:
        make_visible(sqs, queue_url, [message["ReceiptHandle"] for message in seen.values()])
    return list(seen.values())


def make_visible(sqs: Any, queue_url: str, receipt_handles: list[str]) -> None:
    """End the hiding of messages received (10 a call, as SQS allows)."""
    for start in range(0, len(receipt_handles), 10):
        entries = [
            {"Id": str(n), "ReceiptHandle": handle, "VisibilityTimeout": 0}
            for n, handle in enumerate(receipt_handles[start : start + 10])
        ]
        # An entry that fails (its hiding already over) is visible anyway.
        sqs.change_message_visibility_batch(QueueUrl=queue_url, Entries=entries)


def render_summary(summary: dict[str, Any]) -> list[str]:
    fields = [
        ("recipients", ", ".join(summary["Recipients"]) or "-"),
        ("error", summary["Error"] or "-"),
        ("cause", summary["Cause"] or "-"),
        ("execution", summary["ExecutionArn"] or "-"),
    ]
    head = f"{summary['TraceId'] or '(no TraceId)'}  (message {summary['MessageId']})"
    return [head, *(f"  {name:<10}  {value}" for name, value in fields)]


def list_messages(args: argparse.Namespace, ctx: Context) -> int:
    target = ctx.target()
    summaries = [
        summarise(m) for m in read_all(target.client("sqs"), target.output("DeadLetterQueueUrl"))
    ]
    if args.json:
        print(to_json(summaries))
    elif not summaries:
        print(EMPTY)
    else:
        for summary in summaries:
            print("\n".join(render_summary(summary)))
        print(f"{len(summaries)} message(s) in the dead-letter queue (left there)")
    return 0


def _attributes_to_send(message: dict[str, Any]) -> dict[str, Any]:
    # SendMessage takes DataType with StringValue or BinaryValue; receive adds list fields.
    keep = ("DataType", "StringValue", "BinaryValue")
    attributes = {
        name: {key: value[key] for key in keep if key in value}
        for name, value in message.get("MessageAttributes", {}).items()
    }
    return {"MessageAttributes": attributes} if attributes else {}


def move_by_hand(
    sqs: Any, source_url: str, destination_url: str, limit: int, wait_seconds: int = 1
) -> int:
    """Copy up to `limit` messages to `destination_url`, deleting each only once copied.

    A failure between the send and the delete leaves a duplicate in the main queue, never
    a lost message; duplicates are harmless (the send functions are idempotent).
    """
    moved = 0
    while moved < limit:
        messages = sqs.receive_message(
            QueueUrl=source_url,
            MaxNumberOfMessages=min(10, limit - moved),
            VisibilityTimeout=MOVE_VISIBILITY,
            WaitTimeSeconds=wait_seconds,
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            break
        for message in messages:
            try:
                sqs.send_message(
                    QueueUrl=destination_url,
                    MessageBody=message["Body"],
                    **_attributes_to_send(message),
                )
                sqs.delete_message(QueueUrl=source_url, ReceiptHandle=message["ReceiptHandle"])
            except ClientError as exc:
                raise CommandError(
                    f"moved {moved} message(s), then {describe_client_error(exc)}"
                ) from exc
            moved += 1
    return moved


def move_natively(target: Target, source_arn: str, destination_arn: str, timeout: float) -> int:
    """SQS StartMessageMoveTask, polled until it ends; Unsupported if the local stack lacks it."""
    handle = attempt(
        target,
        "sqs",
        "start_message_move_task",
        SourceArn=source_arn,
        DestinationArn=destination_arn,
    ).get("TaskHandle")
    sqs = target.client("sqs")
    deadline = time.monotonic() + timeout
    while True:
        task = _move_task(sqs, source_arn, handle)
        if task["Status"] == "COMPLETED":
            return int(task.get("ApproximateNumberOfMessagesMoved", 0))
        if task["Status"] in ("FAILED", "CANCELLED"):
            reason = task.get("FailureReason", "no reason given")
            raise CommandError(f"the message move task ended {task['Status']}: {reason}")
        if time.monotonic() > deadline:
            raise CommandError(
                f"the message move task is still {task['Status']} after {timeout:g} s"
            )
        moved = task.get("ApproximateNumberOfMessagesMoved", 0)
        print(f"  {task['Status']}: {moved} message(s) moved so far", file=sys.stderr)
        time.sleep(1)


def _move_task(sqs: Any, source_arn: str, handle: str | None) -> dict[str, Any]:
    tasks = sqs.list_message_move_tasks(SourceArn=source_arn, MaxResults=10).get("Results", [])
    if not tasks:
        raise CommandError("the message move task is not listed")
    # Only a running task carries its handle; otherwise the most recent one is ours.
    mine = [task for task in tasks if handle and task.get("TaskHandle") == handle]
    return mine[0] if mine else max(tasks, key=lambda task: task.get("StartedTimestamp", 0))


def _queue_attribute(sqs: Any, url: str, name: str) -> str:
    return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=[name])["Attributes"][name]


def redrive(args: argparse.Namespace, ctx: Context) -> int:
    target = ctx.target()
    if args.message:
        if not move_one(target, args.message):
            raise CommandError(f"no dead letter {args.message} (`messaging dlq list` shows them)")
        print(f"moved dead letter {args.message} to the main queue")
        return 0
    moved, how = move_back(target, args.timeout)
    print(
        f"moved {moved} message(s) from the dead-letter queue to the main queue ({how})"
        if how
        else EMPTY
    )
    return 0


def move_back(target: Target, timeout: float) -> tuple[int, str]:
    """Move every dead letter to the main queue: (how many, how; "" when there were none)."""
    sqs = target.client("sqs")
    # Dead letters go back through the unbatched queue: any size fits one execution there.
    dlq_url, queue_url = target.output("DeadLetterQueueUrl"), target.output("LargeMessageQueueUrl")
    # Messages that fail again come back as new dead letters: moving only as many as
    # were there at the start keeps a by-hand move from chasing them.
    waiting = int(_queue_attribute(sqs, dlq_url, "ApproximateNumberOfMessages"))
    if waiting == 0:
        return 0, ""
    source_arn = _queue_attribute(sqs, dlq_url, "QueueArn")
    destination_arn = _queue_attribute(sqs, queue_url, "QueueArn")
    print(f"moving {waiting} message(s) back to the main queue …", file=sys.stderr)
    try:
        return move_natively(target, source_arn, destination_arn, timeout), "SQS message move task"
    except Unsupported:
        moved = move_by_hand(sqs, dlq_url, queue_url, waiting)
        return moved, "by hand: the local stack has no StartMessageMoveTask"


def move_one(target: Target, message_id: str) -> bool:
    """Move the dead letter `message_id` to the main queue (False: there is no such letter).

    Only that letter is copied, then deleted, so it is queued once; the others stay.
    """
    sqs = target.client("sqs")
    dlq_url, queue_url = target.output("DeadLetterQueueUrl"), target.output("LargeMessageQueueUrl")
    letter = _receive_until(sqs, dlq_url, message_id)
    if letter is None:
        return False
    sqs.send_message(QueueUrl=queue_url, MessageBody=letter["Body"], **_attributes_to_send(letter))
    sqs.delete_message(QueueUrl=dlq_url, ReceiptHandle=letter["ReceiptHandle"])
    return True


def _receive_until(sqs: Any, queue_url: str, message_id: str) -> dict[str, Any] | None:
    """Receive until `message_id` comes (hidden while it is moved); the others read are
    made visible again. None once a long poll finds nothing more to read."""
    others: list[str] = []
    try:
        while True:
            messages = _receive(sqs, queue_url, MOVE_VISIBILITY, LIST_WAIT_SECONDS)
            if not messages:
                return None
            letter = next((m for m in messages if m["MessageId"] == message_id), None)
            others += [m["ReceiptHandle"] for m in messages if m is not letter]
            if letter is not None:
                return letter
    finally:
        make_visible(sqs, queue_url, others)


def _receive(sqs: Any, queue_url: str, visibility: int, wait_seconds: int) -> list[dict[str, Any]]:
    """Up to 10 messages with their attributes, hidden for `visibility` seconds."""
    return sqs.receive_message(
        QueueUrl=queue_url,
        MaxNumberOfMessages=10,
        VisibilityTimeout=visibility,
        WaitTimeSeconds=wait_seconds,
        MessageAttributeNames=["All"],
    ).get("Messages", [])
