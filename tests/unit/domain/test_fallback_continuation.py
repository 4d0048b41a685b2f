"""The continuation a trace keeps while its recipients' receipts are awaited."""

from __future__ import annotations

import json

from notify.domain.fallback import continuation, unreceived
from notify.domain.steps import DeliveryStep, Outcome, RequestEntry

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
        REQUEST, [awaiting(WHATSAPP, SMS | {"AwaitDeliverySeconds": 60}, EMAIL)], "due"
    )

    assert kept is not None
    assert kept.due == "due"
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
                    "Fallback": [{"ChannelType": "EMAIL", "Address": "jane@example.com"}],
                }
            },
            "FallbackAfterSeconds": 60,
            "FallbackOnOptOut": False,
            "AwaitedReceipts": {"SMS#+447835065107": "WHATSAPP#whatsapp:+447835065107"},
        },
    }


def test_nothing_awaiting_keeps_no_continuation():
    assert continuation(REQUEST, [], "due") is None


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
