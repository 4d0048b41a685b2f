"""EventBridge Scheduler's one-time schedules, fired locally at their time.

moto keeps the schedules (create, get, delete) but runs none. This fires each due
`at(...)` schedule of the stack's groups as Scheduler does with an SQS target: its
`Input` is sent to the target queue, and with `ActionAfterCompletion` DELETE the
schedule is deleted. Schedules are polled, so a send is late by at most the interval.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

_AT = re.compile(r"^at\((\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\)$")
POLL_SECONDS = 0.5


def fire_time(expression: str) -> datetime | None:
    """When a one-time schedule fires (UTC); None for rate and cron schedules."""
    match = _AT.match(expression.strip())
    if not match:
        return None
    return datetime.fromisoformat(match.group(1)).replace(tzinfo=UTC)


def queue_name(arn: str) -> str:
    """An SQS queue ARN's name (arn:aws:sqs:region:account:name)."""
    return arn.rsplit(":", 1)[-1]


class LocalScheduler:
    """Fires the due one-time schedules with SQS targets, in the background or on demand."""

    def __init__(
        self,
        scheduler: Any,
        sqs: Any,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        interval: float = POLL_SECONDS,
    ) -> None:
        self._scheduler = scheduler
        self._sqs = sqs
        self._clock = clock
        self._interval = interval
        self._stopping = threading.Event()
        self._lock = threading.Lock()  # a poll and a test's fire_due never fire one twice

    def fire_due(self, now: datetime | None = None, only: str | None = None) -> list[str]:
        """Fire the schedules due at `now` (default: the clock), or just `only`; the names fired."""
        moment = now or self._clock()
        fired = []
        with self._lock:
            for summary in self._all():
                if only is not None and summary["Name"] != only:
                    continue
                schedule = self._scheduler.get_schedule(
                    Name=summary["Name"], GroupName=summary["GroupName"]
                )
                at = fire_time(schedule["ScheduleExpression"])
                if schedule.get("State") == "ENABLED" and at is not None and at <= moment:
                    self._fire(schedule)
                    fired.append(schedule["Name"])
        return fired

    def run(self) -> threading.Thread:
        thread = threading.Thread(target=self._poll, name="local-scheduler", daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        self._stopping.set()

    def _poll(self) -> None:
        while not self._stopping.wait(self._interval):
            self.fire_due()

    def _all(self) -> list[dict[str, Any]]:
        found, token = [], None
        while True:
            page = self._scheduler.list_schedules(**({"NextToken": token} if token else {}))
            found += page.get("Schedules", [])
            token = page.get("NextToken")
            if not token:
                return found

    def _fire(self, schedule: dict[str, Any]) -> None:
        target = schedule["Target"]
        url = self._sqs.get_queue_url(QueueName=queue_name(target["Arn"]))["QueueUrl"]
        self._sqs.send_message(QueueUrl=url, MessageBody=target.get("Input", "{}"))
        if schedule.get("ActionAfterCompletion") == "DELETE":
            self._scheduler.delete_schedule(Name=schedule["Name"], GroupName=schedule["GroupName"])
