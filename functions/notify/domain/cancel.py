"""Cancelling a trace: which channels of which recipients to stop, and the answer.

A cancel never stops an execution (a batched one carries other requests, other
tenants' too): it marks each channel whose send has not begun CANCELLED on its trace
item, and the send function then answers CANCELLED instead of sending. A scheduled
trace is cancelled whole: its schedule is deleted and every recipient CANCELLED.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from notify.domain.outcomes import CANCELLED, FAILED, SENT
from notify.domain.recipients import split_channel_key

# What a cancel did for one recipient (all its channels).
IN_FLIGHT = "IN_FLIGHT"  # a send is at the provider: it may still arrive
ENDED = "ENDED"  # rejected, failed for good or cancelled before: nothing to stop

Channel = tuple[str, str]  # (ChannelType, Address)


def channel_chains(
    header: Mapping[str, Any], items: Sequence[Mapping[str, Any]]
) -> list[list[Channel]]:
    """Each recipient's channels, first the one it was sent to, then its fallbacks.

    From the header's list; a trace recorded before it was kept has its items only.
    """
    listed = header.get("Recipients")
    if listed:
        return [[split_channel_key(key) for key in chain] for chain in listed]
    return [[(item["ChannelType"], item["Address"])] for item in items]


def statuses(items: Sequence[Mapping[str, Any]]) -> dict[Channel, str | None]:
    return {(item["ChannelType"], item["Address"]): item.get("Status") for item in items}


def cancellable(chain: list[Channel], known: Mapping[Channel, str | None]) -> list[Channel]:
    """The channels of one recipient still to stop; none once one of them was sent."""
    if any(known.get(channel) == SENT for channel in chain):
        return []
    return [channel for channel in chain if known.get(channel) in (None, FAILED)]


def verdict(chain: list[Channel], known: Mapping[Channel, str | None], done: list[str]) -> str:
    """SENT, CANCELLED, IN_FLIGHT or ENDED for a recipient, from what each channel's cancel did."""
    if any(known.get(channel) == SENT for channel in chain):
        return SENT
    if IN_FLIGHT in done:
        return IN_FLIGHT
    return CANCELLED if CANCELLED in done else ENDED


def answer(
    trace_id: str, status: str, verdicts: list[tuple[Channel, str]], unscheduled: bool = False
) -> tuple[int, dict[str, Any]]:
    """200 with what was cancelled and what was sent; 409 when nothing was left to cancel.

    `unscheduled`: a schedule of the trace was cancelled (a SendAt, or the fallbacks of
    recipients sent and waiting for their receipts): something was cancelled.
    """
    lists: dict[str, list[dict[str, str]]] = {
        CANCELLED: [],
        SENT: [],
        IN_FLIGHT: [],
        ENDED: [],
    }
    for (channel, address), outcome in verdicts:
        lists[outcome].append({"Address": address, "ChannelType": channel})
    body = {
        "TraceId": trace_id,
        "Status": status,
        "Cancelled": lists[CANCELLED],
        "Sent": lists[SENT],
        "InFlight": lists[IN_FLIGHT],
        "Ended": lists[ENDED],
    }
    if lists[CANCELLED] or unscheduled:
        return 200, body
    reason = f"nothing left to cancel in trace {trace_id!r}: every recipient was sent or has ended"
    return 409, {"message": "Conflict", "reason": reason} | body
