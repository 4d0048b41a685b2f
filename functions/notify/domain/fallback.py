"""What a run leaves for later: fallbacks awaiting a receipt, and sends paced to their slot.

`FallbackAfterSeconds` gives a sent channel time to be reported delivered or read before
the recipient's next channel is tried. That wait never happens inside an execution: an
execution carries up to ten requests (other tenants' too) and a Map's concurrency slots
that other recipients need. The send answers `AwaitingDelivery`; Record keeps on the
trace a *continuation*, a request for each waiting recipient's next channel naming the
channel whose receipt decides, and a one-time schedule queues it when the wait is over.
Plan then sends each next channel whose earlier one was not reported delivered or read.
A send paced out of its execution (domain/pacing.py) joins the same continuation, which
is due at the earliest of its recipients' times.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from notify.domain.pacing import NOT_BEFORE, due_back
from notify.domain.recipients import channel_key
from notify.domain.schedule import stamp
from notify.domain.steps import AWAITED_RECEIPTS, Outcome, RequestEntry

# The outcome of a recipient sent on a channel whose next one waits for its receipt.
AWAITING = "AWAITING"
# Provider statuses that make the next channel unnecessary.
RECEIVED = ("delivered", "read")


@dataclass(frozen=True)
class Continuation:
    """A queued body to send at `due` (an ISO stamp): the next channels of waiting recipients."""

    body: str
    due: str


def continuation(
    request: RequestEntry,
    awaiting: Sequence[Outcome],
    due: datetime | None,
    paced: Sequence[Outcome] = (),
) -> Continuation | None:
    """The continuation of a request: what its run leaves for later, sent at the earliest.

    `awaiting`: sent, their next channel waits for the receipt until `due`; each outcome
    carries its delivery, whose `next` is the channel to try, marked not to be sent
    before `due`. `paced`: left for their send slot (or a throttle's backoff), each as its
    delivery names it, with its pacing fields (`NotBefore`). The continuation is due at
    the earliest of these times.
    """
    addresses: dict[str, Any] = {}
    receipts: dict[str, str] = {}
    times: list[float] = []
    for outcome in awaiting:
        first, *rest = outcome.delivery.next.chain()
        addresses[first["Address"]] = _spec(first | {NOT_BEFORE: due.timestamp()}, rest)
        receipts[channel_key(first)] = channel_key(outcome.recipient)
        times.append(due.timestamp())
    for outcome in paced:
        first, *rest = outcome.delivery.chain()
        addresses[first["Address"]] = _spec(first, rest)
        awaited = (request.awaited_receipts or {}).get(channel_key(first))
        if awaited:
            receipts[channel_key(first)] = awaited
        times.append(due_back(first))
    if not addresses:
        return None
    entry = request.to_json()
    settings = {
        k: entry[k] for k in ("FallbackAfterSeconds", "FallbackOnOptOut", "Priority") if k in entry
    }
    body = {
        "TraceId": request.trace_id,
        **request.messages,
        "Addresses": addresses,
        **settings,
    }
    if receipts:
        body[AWAITED_RECEIPTS] = receipts
    when = stamp(datetime.fromtimestamp(min(times), UTC))
    return Continuation(json.dumps({"Caller": request.caller, "Request": body}), when)


def merged(kept: Continuation, new: Continuation) -> Continuation:
    """Two continuations of one trace (a retried Record's and the one kept before) as one."""
    first, second = json.loads(kept.body), json.loads(new.body)
    request = first["Request"] | {
        "Addresses": first["Request"]["Addresses"] | second["Request"]["Addresses"]
    }
    receipts = first["Request"].get(AWAITED_RECEIPTS, {}) | second["Request"].get(
        AWAITED_RECEIPTS, {}
    )
    if receipts:
        request[AWAITED_RECEIPTS] = receipts
    body = json.dumps({"Caller": first["Caller"], "Request": request})
    return Continuation(body, min(kept.due, new.due))


def _spec(first: Mapping[str, Any], rest: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """A recipient of the continuation's Addresses: its channel, then its fallbacks."""
    spec = {k: v for k, v in first.items() if k not in ("Address", "AwaitDeliverySeconds")}
    if rest:
        spec["Fallback"] = [
            {"ChannelType": r["ChannelType"], "Address": r["Address"]} for r in rest
        ]
    return spec


def due_after(seconds: int, now: datetime) -> datetime:
    return now + timedelta(seconds=seconds)


def unreceived(
    deliveries: Sequence[dict[str, Any]],
    awaited: Mapping[str, str],
    items: Sequence[Mapping[str, Any]],
) -> list[dict[str, Any]]:
    """The recipients of a continuation whose earlier channel was not delivered or read."""
    statuses = {
        channel_key(item): item.get("DeliveryStatus") for item in items if "ChannelType" in item
    }
    return [d for d in deliveries if statuses.get(awaited.get(channel_key(d), "")) not in RECEIVED]
