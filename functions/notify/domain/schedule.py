"""Scheduled sends: when a request's `SendAt` is, and the one-time schedule that sends it then.

A request whose `SendAt` is in the future is not delivered by the execution that reads
it: Plan stores it on its trace (SCHEDULED) and creates an EventBridge Scheduler schedule
that puts a small pointer to it back on the request's queue at that time. The pointer
keeps every schedule's input small, whatever the request's size.
"""

from __future__ import annotations

import hashlib
import json
import math
from datetime import UTC, datetime, timedelta
from typing import Any

from notify.domain.errors import INVALID_MESSAGE, SEND_AT_OUT_OF_RANGE, PermanentError

# Sends may be scheduled at most this far ahead.
MAX_AHEAD = timedelta(days=365)
# A SendAt this close counts as now: a schedule that fires a moment early (clock skew)
# is delivered, never scheduled again.
DUE_TOLERANCE = timedelta(seconds=5)
# The queued body of a schedule: names the stored request (Owner, TraceId).
POINTER_KEY = "ScheduledRequest"


def send_at(value: object, now: datetime) -> datetime | None:
    """The instant a request is to be sent, or None for now (absent, past, or due).

    PermanentError(InvalidMessage) for a value that is not ISO 8601 with an offset,
    PermanentError(SendAtOutOfRange) for one more than MAX_AHEAD ahead.
    """
    if value is None:
        return None
    moment = _parse(value)
    if moment - now > MAX_AHEAD:
        raise PermanentError(
            SEND_AT_OUT_OF_RANGE,
            f"SendAt {value} is more than {MAX_AHEAD.days} days ahead",
        )
    return moment if moment - now > DUE_TOLERANCE else None


def stamp(moment: datetime) -> str:
    """One UTC format for every time compared as a string (as the trace store writes)."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def due_by(now: datetime) -> str:
    """A scheduled trace whose SendAt is before this may be claimed and sent."""
    return stamp(now + DUE_TOLERANCE)


def schedule_name(owner: str, trace_id: str, continued_at: str = "") -> str:
    """One name per (owner, TraceId): a retried Plan finds its schedule instead of a second.

    A fallback's continuation is named by its time too (`continued_at`): a trace may wait
    for receipts more than once. Scheduler names allow 64 characters of [0-9A-Za-z._-];
    TraceIds hold more, so a hash.
    """
    key = f"{owner}\n{trace_id}" + (f"\n{continued_at}" if continued_at else "")
    digest = hashlib.sha256(key.encode()).hexdigest()
    return f"send-{digest[:56]}"


def at_expression(moment: datetime) -> str:
    """Scheduler's one-time expression (UTC, whole seconds), never before `moment`."""
    utc = moment.astimezone(UTC)
    whole = datetime.fromtimestamp(math.ceil(utc.timestamp()), UTC)
    return f"at({whole.strftime('%Y-%m-%dT%H:%M:%S')})"


def pointer_body(trace_id: str, owner: str) -> str:
    """What the schedule puts on the queue: where Plan finds the stored request."""
    return json.dumps({POINTER_KEY: {"TraceId": trace_id, "Owner": owner}})


def read_pointer(body: str) -> tuple[str, str] | None:
    """(TraceId, Owner) of a schedule's pointer; None for any other queued body."""
    try:
        envelope: Any = json.loads(body)
    except (TypeError, ValueError):
        return None
    pointer = envelope.get(POINTER_KEY) if isinstance(envelope, dict) else None
    if not isinstance(pointer, dict):
        return None
    trace_id, owner = pointer.get("TraceId"), pointer.get("Owner")
    if not isinstance(trace_id, str) or not isinstance(owner, str):
        return None
    return trace_id, owner


def seconds_until(send_at_stamp: str, now: datetime) -> int:
    """Whole seconds until a scheduled send (0 when due)."""
    remaining = (datetime.fromisoformat(send_at_stamp) - now).total_seconds()
    return max(0, math.ceil(remaining))


def _parse(value: object) -> datetime:
    try:
        moment = datetime.fromisoformat(value)  # type: ignore[arg-type]
    except (TypeError, ValueError) as exc:
        raise PermanentError(INVALID_MESSAGE, f"SendAt {value!r} is not ISO 8601") from exc
    if moment.tzinfo is None:
        raise PermanentError(INVALID_MESSAGE, f"SendAt {value!r} has no UTC offset")
    return moment
