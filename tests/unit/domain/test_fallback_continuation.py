"""The continuation a trace keeps while its recipients' receipts are awaited."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from notify.domain.fallback import Continuation, continuation, merged, unreceived
from notify.domain.pacing import COME_BACK_EARLY, NOT_BEFORE, SLOT_HELD
from notify.domain.schedule import stamp
from notify.domain.steps import DeliveryStep, Outcome, RequestEntry

DUE = datetime(2026, 12, 7, 12, 0, 30, tzinfo=UTC)

CALLER = {"sub": "user-1"}
WHATSAPP = {
    "Address": "whatsapp:+447835065107",
    "ChannelType": "WHATSAPP",
    "AwaitDeliverySeconds": 60,
}
SMS = {"Address": "+447835065107", "ChannelType": "SMS", "Substitutions": {"name": "Jane"}}
EMAIL = {"Address": "jane@example.com", "ChannelType": "EMAIL", "Substitutions": {"name": "Jane"}}
REQUEST = RequestEntry(
    "t-1",
    "user:user-1",
    CALLER,
    {"WhatsAppMessage": {"MessageBody": "Hi"}, "SMSMessage": {"MessageBody": "Hi"}},
    fallback_after_seconds=60,
)


def awaiting(first: dict, *rest: dict) -> Outcome:
    """An AWAITING outcome: its delivery, with each next channel nested as `next`."""
    delivery = None
    for recipient in reversed((first, *rest)):
        delivery = DeliveryStep(0, f"arn:{recipient['ChannelType']}", recipient, delivery)
    return Outcome(REQUEST.trace_id, REQUEST.owner, first, "AWAITING", delivery=delivery)


def test_the_continuation_is_a_request_for_each_next_channel_naming_the_receipt_it_awaits():
    kept = continuation(
        REQUEST, [awaiting(WHATSAPP, SMS | {"AwaitDeliverySeconds": 60}, EMAIL)], DUE
    )

    assert kept is not None
    assert kept.due == stamp(DUE)
    body = json.loads(kept.body)
    assert body == {
        "Caller": CALLER,
        "Request": {
            "TraceId": "t-1",
            "WhatsAppMessage": {"MessageBody": "Hi"},
            "SMSMessage": {"MessageBody": "Hi"},
            "Addresses": {
                "+447835065107": {
                    "ChannelType": "SMS",
                    "Substitutions": {"name": "Jane"},
                    # Not before its wait is over, however early the continuation runs.
                    NOT_BEFORE: DUE.timestamp(),
                    "Fallback": [{"ChannelType": "EMAIL", "Address": "jane@example.com"}],
                }
            },
            "FallbackAfterSeconds": 60,
            "FallbackOnOptOut": False,
            "AwaitedReceipts": {"SMS#+447835065107": "WHATSAPP#whatsapp:+447835065107"},
        },
    }


def test_nothing_awaiting_keeps_no_continuation():
    assert continuation(REQUEST, [], DUE) is None


def paced(recipient: dict, *rest: dict) -> Outcome:
    """A PACED outcome: the delivery as it was sent, its recipient with its slot."""
    delivery = None
    for each in reversed((recipient, *rest)):
        delivery = DeliveryStep(0, f"arn:{each['ChannelType']}", each, delivery)
    return Outcome(REQUEST.trace_id, REQUEST.owner, recipient, "PACED", delivery=delivery)


def test_paced_sends_continue_on_their_own_channel_due_back_early_for_the_earliest_slot():
    slot = DUE.timestamp()
    later = SMS | {NOT_BEFORE: slot + 2, SLOT_HELD: True}
    first = WHATSAPP | {NOT_BEFORE: slot, SLOT_HELD: True}

    kept = continuation(REQUEST, [], DUE, [paced(later), paced(first, EMAIL)])

    assert kept is not None
    # Back before its earliest slot, to wait for it in the function rather than miss it.
    assert kept.due == stamp(DUE - timedelta(seconds=COME_BACK_EARLY))
    addresses = json.loads(kept.body)["Request"]["Addresses"]
    assert addresses == {
        "+447835065107": {
            "ChannelType": "SMS",
            "Substitutions": {"name": "Jane"},
            NOT_BEFORE: slot + 2,
            SLOT_HELD: True,
        },
        "whatsapp:+447835065107": {
            "ChannelType": "WHATSAPP",
            NOT_BEFORE: slot,
            SLOT_HELD: True,
            "Fallback": [{"ChannelType": "EMAIL", "Address": "jane@example.com"}],
        },
    }
    assert "AwaitedReceipts" not in json.loads(kept.body)["Request"]


def test_a_paced_send_that_awaited_a_receipt_still_awaits_it():
    request = RequestEntry(
        "t-1",
        "user:user-1",
        CALLER,
        REQUEST.messages,
        60,
        awaited_receipts={"SMS#+447835065107": "WHATSAPP#whatsapp:+447835065107"},
    )
    kept = continuation(request, [], DUE, [paced(SMS | {NOT_BEFORE: 1.0, SLOT_HELD: False})])

    assert json.loads(kept.body)["Request"]["AwaitedReceipts"] == {
        "SMS#+447835065107": "WHATSAPP#whatsapp:+447835065107"
    }


def test_two_continuations_of_a_trace_merge_into_one_due_at_the_earlier():
    one = continuation(REQUEST, [], DUE, [paced(SMS | {NOT_BEFORE: 5.0, SLOT_HELD: True})])
    two = continuation(REQUEST, [], DUE, [paced(EMAIL | {NOT_BEFORE: 3.0, SLOT_HELD: True})])

    both = merged(one, two)

    assert isinstance(both, Continuation)
    assert both.due == two.due
    assert set(json.loads(both.body)["Request"]["Addresses"]) == {SMS["Address"], EMAIL["Address"]}


def test_only_recipients_whose_earlier_channel_was_not_delivered_or_read_go_on():
    deliveries = [SMS, EMAIL]
    awaited = {
        "SMS#+447835065107": "WHATSAPP#whatsapp:+447835065107",
        "EMAIL#jane@example.com": "SMS#+1",
    }
    items = [
        {"ChannelType": "WHATSAPP", "Address": "whatsapp:+447835065107", "DeliveryStatus": "read"},
        {"ChannelType": "SMS", "Address": "+1", "DeliveryStatus": "sent"},
    ]

    assert unreceived(deliveries, awaited, items) == [EMAIL]
