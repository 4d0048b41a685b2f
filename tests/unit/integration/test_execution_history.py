"""The sends an execution started and never saw end, read from its history."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from notify.integration.executions import sends_started

AT = datetime(2026, 12, 7, 12, 0, 0, tzinfo=UTC)


def scheduled(event_id: int, address: str) -> dict:
    payload = {"Request": {}, "Recipient": {"Address": address, "ChannelType": "EMAIL"}}
    return {
        "id": event_id,
        "type": "TaskScheduled",
        "previousEventId": event_id - 1,
        "timestamp": AT,
        "taskScheduledEventDetails": {"parameters": json.dumps({"Payload": payload})},
    }


def event(event_id: int, kind: str, previous: int) -> dict:
    return {"id": event_id, "type": kind, "previousEventId": previous, "timestamp": AT}


def test_a_send_started_whose_task_never_ended_is_named_with_when_it_was_scheduled():
    history = [
        event(2, "TaskStateEntered", 1),
        {
            "id": 3,
            "type": "TaskScheduled",
            "previousEventId": 2,
            "timestamp": AT,
            "taskScheduledEventDetails": {"parameters": json.dumps({"Payload": {"Records": []}})},
        },
        scheduled(11, "ended@example.com"),
        event(12, "TaskStarted", 11),
        scheduled(15, "late@example.com"),
        event(16, "TaskStarted", 15),
        scheduled(20, "never-started@example.com"),
        event(21, "TaskStartFailed", 20),
        event(30, "TaskFailed", 12),
        event(31, "ExecutionAborted", 30),
    ]

    assert sends_started(history) == (("EMAIL", "late@example.com", "2026-12-07T12:00:00+00:00"),)
