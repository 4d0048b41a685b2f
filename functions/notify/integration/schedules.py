"""EventBridge Scheduler: the one-time schedules of scheduled sends, in the stack's group."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from notify.integration.aws_errors import classify_client_error

# How long Scheduler keeps retrying a send to the queue before the dead-letter queue.
MAXIMUM_EVENT_AGE_SECONDS = 86400


def schedule_exists(client: Any, group: str, name: str) -> bool:
    """Whether the group has a schedule of that name (one not yet run and deleted)."""
    try:
        client.get_schedule(Name=name, GroupName=group)
    except ClientError as exc:
        if _code(exc) == "ResourceNotFoundException":
            return False
        raise classify_client_error(exc) from exc
    return True


class SendSchedules:
    """Create and delete one-time schedules that put a message on one of the stack's queues."""

    def __init__(self, client: Any, group: str, role_arn: str, dead_letter_arn: str) -> None:
        self._client = client
        self._group = group
        self._role_arn = role_arn
        self._dead_letter_arn = dead_letter_arn

    def create(self, name: str, expression: str, queue_arn: str, body: str) -> None:
        """Schedule `body` onto the queue; a schedule of that name already there is kept.

        Deleted once it has run; what Scheduler cannot deliver in a day goes to the DLQ.
        """
        try:
            self._client.create_schedule(
                Name=name,
                GroupName=self._group,
                ScheduleExpression=expression,
                ScheduleExpressionTimezone="UTC",
                FlexibleTimeWindow={"Mode": "OFF"},
                ActionAfterCompletion="DELETE",
                Target={
                    "Arn": queue_arn,
                    "RoleArn": self._role_arn,
                    "Input": body,
                    "RetryPolicy": {"MaximumEventAgeInSeconds": MAXIMUM_EVENT_AGE_SECONDS},
                    "DeadLetterConfig": {"Arn": self._dead_letter_arn},
                },
            )
        except ClientError as exc:
            # A retried Plan finds the schedule it created: the name is per TraceId.
            if _code(exc) != "ConflictException":
                raise classify_client_error(exc) from exc

    def delete(self, name: str) -> bool:
        """Delete a schedule; False when there is none (it ran, or never was)."""
        try:
            self._client.delete_schedule(Name=name, GroupName=self._group)
        except ClientError as exc:
            if _code(exc) != "ResourceNotFoundException":
                raise classify_client_error(exc) from exc
            return False
        return True


def _code(exc: ClientError) -> str:
    return exc.response.get("Error", {}).get("Code", "")
