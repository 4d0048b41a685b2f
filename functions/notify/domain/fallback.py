"""Falling back after a wait: what a trace keeps while its delivery receipts are awaited.

`FallbackAfterSeconds` gives a sent channel time to be reported delivered or read before
the recipient's next channel is tried. That wait never happens inside an execution: an
execution carries up to ten requests (other tenants' too) and a Map's concurrency slots
that other recipients need. The send answers `AwaitingDelivery`; Record keeps on the
trace a *continuation*, a request for each waiting recipient's next channel naming the
channel whose receipt decides, and a one-time schedule queues it when the wait is over.
Plan then sends each next channel whose earlier one was not reported delivered or read.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from notify.domain.recipients import channel_key
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
    request: RequestEntry, awaiting: Sequence[Outcome], due: str
) -> Continuation | None:
    """The continuation of a request whose `awaiting` outcomes wait for a receipt.

    `request` is the execution's entry for it (TraceId, Caller, Messages and the fallback
    settings); each outcome carries its delivery, whose `next` is the channel to try.
    """
    addresses: dict[str, Any] = {}
    receipts: dict[str, str] = {}
    for outcome in awaiting:
        first, *rest = outcome.delivery.next.chain()
        spec = {k: v for k, v in first.items() if k not in ("Address", "AwaitDeliverySeconds")}
        if rest:
            spec["Fallback"] = [
                {"ChannelType": r["ChannelType"], "Address": r["Address"]} for r in rest
            ]
        addresses[first["Address"]] = spec
        receipts[channel_key(first)] = channel_key(outcome.recipient)
    if not addresses:
        return None
    entry = request.to_json()
    settings = {k: entry[k] for k in ("FallbackAfterSeconds", "FallbackOnOptOut") if k in entry}
    body = {
        "TraceId": request.trace_id,
        **request.messages,
        "Addresses": addresses,
        **settings,
        AWAITED_RECEIPTS: receipts,
    }
    return Continuation(json.dumps({"Caller": request.caller, "Request": body}), due)


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
