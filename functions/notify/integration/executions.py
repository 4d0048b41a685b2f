"""Step Functions executions as the reconciler reads them, and the queue it dead-letters to."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from notify.domain.reconcile import ENDED_BADLY, Execution
from notify.integration.aws_errors import aws_errors

_TASK_ENDS = ("TaskSucceeded", "TaskFailed", "TaskTimedOut")
_TASK_NOT_STARTED = ("TaskStartFailed", "TaskSubmitFailed")


def describe_execution(sfn: Any, arn: str) -> Execution:
    with aws_errors():
        described = sfn.describe_execution(executionArn=arn)
    status = described["status"]
    return Execution(
        arn=arn,
        status=status,
        input=described.get("input", "[]"),
        error=described.get("error"),
        cause=described.get("cause"),
        sends_started=sends_started(_history(sfn, arn)) if status in ENDED_BADLY else (),
    )


def sends_started(events: list[dict[str, Any]]) -> tuple[tuple[str, str, str], ...]:
    """(ChannelType, Address, when it was scheduled) of each send task that never ended.

    Events name what they follow (`previousEventId`): an end follows its TaskStarted,
    which follows its TaskScheduled, whose parameters hold the recipient.
    """
    scheduled: dict[int, tuple[str, str, str]] = {}
    started: dict[int, int] = {}
    for event in events:
        kind, previous = event["type"], event.get("previousEventId")
        if kind == "TaskScheduled":
            recipient = _recipient(event["taskScheduledEventDetails"].get("parameters", ""))
            if recipient:
                scheduled[event["id"]] = (*recipient, _instant(event["timestamp"]).isoformat())
        elif kind == "TaskStarted":
            started[event["id"]] = previous
        elif kind in _TASK_ENDS:
            scheduled.pop(started.get(previous, -1), None)
        elif kind in _TASK_NOT_STARTED:
            scheduled.pop(previous, None)
    return tuple(scheduled.values())


def _recipient(parameters: str) -> tuple[str, str] | None:
    try:
        payload = json.loads(parameters)["Payload"]
        # A send task carries its delivery; one started before pacing, only its recipient.
        recipient = payload.get("Delivery", payload)["Recipient"]
        return recipient["ChannelType"], recipient["Address"]
    except (ValueError, KeyError, TypeError):
        return None  # Plan, Record: not a send


def _instant(value: Any) -> datetime:
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment.replace(tzinfo=moment.tzinfo or UTC).astimezone(UTC)


def _history(sfn: Any, arn: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    query: dict[str, Any] = {"executionArn": arn, "maxResults": 1000}
    with aws_errors():
        while True:
            page = sfn.get_execution_history(**query)
            events += page["events"]
            if not page.get("nextToken"):
                return events
            query["nextToken"] = page["nextToken"]


class DeadLetterQueue:
    def __init__(self, sqs: Any, queue_url: str) -> None:
        self._sqs = sqs
        self._queue_url = queue_url

    def send(self, message: dict[str, Any]) -> None:
        with aws_errors():
            self._sqs.send_message(QueueUrl=self._queue_url, **message)
