"""Status events: each change of a recipient's state on the traces table, as one event.

They come from the table's stream, not from the code that writes the states, so every
writer (the send functions, Record, the reconciler, delivery statuses from inbound)
publishes without knowing it, and a write the table refused (a delivery status the rank
rule drops as late, repeated or out of order) publishes nothing. A stream record is
delivered at least once; the event id is derived from what changed, so a record
processed twice yields events with the same id, which receivers use to drop repeats.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from notify.domain.test_keys import TEST_MARK

SOURCE = "messaging.status"
DETAIL_TYPE = "MessageStatus"
OUTCOME, DELIVERY = "Outcome", "Delivery"
# Fixed, so an event's id depends only on the change it reports.
_EVENT_IDS = uuid.UUID("5f0b7b7e-5a4e-4d3c-9a51-2f1c8d1e6a10")


def status_events(
    old: Mapping[str, Any] | None, new: Mapping[str, Any] | None, at: str
) -> list[dict[str, Any]]:
    """The events of one write of a traces-table item (none for headers and deletions).

    `at` is when the write happened (the stream record's time), used when the item
    carries no time of its own for the change.
    """
    if not new or not _is_recipient(new):
        return []
    before = old or {}
    events = []
    status = new.get("Status")
    if status and status != before.get("Status"):
        events.append(_event(new, OUTCOME, status, new.get("Error"), new.get("Reason"), at))
    delivery = new.get("DeliveryStatus")
    if delivery and delivery != before.get("DeliveryStatus"):
        events.append(_event(new, DELIVERY, delivery, new.get("DeliveryErrorCode"), None, at))
    return events


def _is_recipient(item: Mapping[str, Any]) -> bool:
    # A header's Sk is its owner; a recipient's is owner#CHANNEL#address and names both.
    return (
        bool(item.get("Owner"))
        and item.get("Sk") != item.get("Owner")
        and bool(item.get("ChannelType") and item.get("Address"))
    )


def _event(
    item: Mapping[str, Any], kind: str, status: str, error: Any, reason: Any, at: str
) -> dict[str, Any]:
    attempts = int(item.get("Attempts") or 0)
    # An outcome may repeat after a redrive (FAILED, then FAILED again on a later
    # attempt); a delivery status happens once per provider message.
    instance = attempts if kind == OUTCOME else item.get("ProviderMessageId", "")
    key = "\n".join((item["TraceId"], item["Sk"], kind, status, str(instance)))
    when = item.get("DeliveryUpdatedAt") if kind == DELIVERY else _outcome_time(item, status)
    event = {
        "EventId": str(uuid.uuid5(_EVENT_IDS, key)),
        "TraceId": item["TraceId"],
        "Tenant": item["Owner"],
        "Channel": item["ChannelType"],
        "Address": item["Address"],
        "Kind": kind,
        "Status": status,
        "ErrorCode": error or None,
        "Reason": reason or None,
        "ProviderMessageId": item.get("ProviderMessageId"),
        "Attempts": attempts,
        "At": when or at,
    }
    # Only test traffic is marked, so a live event's detail is as it was.
    return event | ({TEST_MARK: True} if item.get(TEST_MARK) else {})


def _outcome_time(item: Mapping[str, Any], status: str) -> Any:
    return item.get("SentAt") if status == "SENT" else item.get("UpdatedAt")


def plain(value: Any) -> Any:
    """A stream image's value as JSON can carry it (numbers arrive as Decimal)."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, Mapping):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list | set | tuple):
        return [plain(item) for item in value]
    return value
