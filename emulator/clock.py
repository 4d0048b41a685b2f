"""Fast-forward the emulated AWS: what it remembers is moved into the past.

Waiting out a queue's 300 s visibility timeout, or for a claim to grow stale, would
make a test sleep for minutes. Moving every instant the emulator holds `seconds`
earlier is the same as that much time passing: a message received with a visibility
timeout becomes visible when its timeout is over, a claim's `ClaimedAt` is that much
older. What moves: SQS messages (visibility, delay, sent and first-receive times) and
DynamoDB string attributes holding an ISO 8601 instant with a UTC offset, outside the
table's key. What does not: Step Functions executions, schedules, and the clocks of
the Lambda code itself, so pass time while no execution is running.

It reaches into moto's models, so like emulator/moto_patches.py it refuses a moto
version it was not written for.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import moto
from moto.dynamodb.models import dynamodb_backends
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.sqs.models import sqs_backends

from emulator.moto_patches import WRITTEN_FOR


def pass_time(seconds: float) -> None:
    """Make `seconds` go by for every queue and table of every emulated account and region."""
    if moto.__version__ != WRITTEN_FOR:
        raise RuntimeError(f"emulator/clock.py was written for moto {WRITTEN_FOR}")
    for backend in _backends(sqs_backends):
        for queue in backend.queues.values():
            with queue._messages_lock:
                for message in queue._messages:
                    _sqs_message_earlier(message, int(seconds * 1000))
    for backend in _backends(dynamodb_backends):
        for table in backend.tables.values():
            keys = {table.hash_key_attr, table.range_key_attr}
            for item in table.all_items():
                for name, value in item.attrs.items():
                    if name not in keys:
                        _dynamodb_value_earlier(value, seconds)


def earlier(text: str, seconds: float) -> str | None:
    """The ISO 8601 instant `text`, `seconds` earlier in the same form; None if not one."""
    try:
        instant = datetime.fromisoformat(text)
    except ValueError:
        return None
    if instant.tzinfo is None:  # a date, or a local time: not an instant
        return None
    timespec = "microseconds" if "." in text else "seconds"
    moved = (instant - timedelta(seconds=seconds)).isoformat(timespec=timespec)
    return moved.replace("+00:00", "Z") if text.endswith("Z") else moved


def _backends(backend_dict: Any) -> list[Any]:
    return [backend for regions in backend_dict.values() for backend in regions.values()]


def _sqs_message_earlier(message: Any, milliseconds: int) -> None:
    message.visible_at -= milliseconds
    message.delayed_until -= milliseconds
    if message.sent_timestamp:
        message.sent_timestamp -= milliseconds
    if message.approximate_first_receive_timestamp:
        message.approximate_first_receive_timestamp -= milliseconds


def _dynamodb_value_earlier(value: DynamoType, seconds: float) -> None:
    if value.type == "S":
        value.value = earlier(value.value, seconds) or value.value
    elif value.type == "M":
        for item in value.value.values():
            _dynamodb_value_earlier(item, seconds)
    elif value.type == "L":
        for item in value.value:
            _dynamodb_value_earlier(item, seconds)
