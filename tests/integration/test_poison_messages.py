"""Content no provider can carry, queued past the API's schema (as an edited DLQ message is).

Such a recipient is REJECTED InvalidMessage at once: never retried, never dead-lettered,
and the other recipients of the same request are still sent.
"""

from __future__ import annotations

from typing import Any

import pytest
from conftest import dead_letters, trace_items

from emulator.local import LocalStack

LONE_SURROGATE = "\ud800"
PARENT = "whatsapp:+447835065013"
SANDBOX = "whatsapp:+14155238886"
PHONE = "+16048621234"
EMAIL = "user@example.com"


def recipient_item(local: LocalStack, trace_id: str, channel: str, address: str) -> dict[str, Any]:
    """The recipient's trace item, found by what it is rather than by its key's layout."""
    [item] = [
        item
        for item in trace_items(local, trace_id).values()
        if item.get("ChannelType") == channel and item.get("Address") == address
    ]
    return item


def whatsapp(trace_id: str, body: str) -> dict[str, Any]:
    return {
        "TraceId": trace_id,
        "WhatsAppMessage": {"FromNumber": SANDBOX, "MessageBody": body},
        "Addresses": {PARENT: {"ChannelType": "WHATSAPP"}},
    }


def sms(trace_id: str, body: str) -> dict[str, Any]:
    return {
        "TraceId": trace_id,
        "SMSMessage": {"MessageType": "TRANSACTIONAL", "MessageBody": body},
        "Addresses": {PHONE: {"ChannelType": "SMS"}},
    }


def email(trace_id: str, body: str) -> dict[str, Any]:
    return {
        "TraceId": trace_id,
        "EmailMessage": {"FromAddress": "alerts@example.com", "Subject": "Hi", "TextBody": body},
        "Addresses": {EMAIL: {"ChannelType": "EMAIL"}},
    }


@pytest.mark.parametrize(
    ("build", "channel", "address"),
    [
        pytest.param(whatsapp, "WHATSAPP", PARENT, id="whatsapp"),
        pytest.param(sms, "SMS", PHONE, id="sms"),
        pytest.param(email, "EMAIL", EMAIL, id="email"),
    ],
)
def test_a_lone_surrogate_in_the_body_is_rejected_as_invalid_message_without_retry(
    client, local, trace_id, build, channel, address
):
    execution = client.send(build(trace_id, f"Hi {LONE_SURROGATE} there"))

    assert execution.status == "SUCCEEDED"
    assert execution.sent == []
    # One attempt, failed permanently: no Retry, no second Map.
    assert [e["taskFailedEventDetails"]["error"] for e in execution.failed_attempts()] == [
        "PermanentError"
    ]
    item = recipient_item(local, trace_id, channel, address)
    assert (item["Status"], item["Error"]) == ("REJECTED", "PermanentError")
    assert item["Reason"].startswith("InvalidMessage: the ")
    assert "unpaired UTF-16 surrogate U+D800" in item["Reason"]
    assert dead_letters(local, trace_id) == []


def test_a_poisoned_substitution_rejects_only_its_recipient(client, local, trace_id):
    request = whatsapp(trace_id, "Hi {name}")
    request["Addresses"] = {
        PARENT: {"ChannelType": "WHATSAPP", "Substitutions": {"name": "Jane"}},
        "whatsapp:+447835065014": {
            "ChannelType": "WHATSAPP",
            "Substitutions": {"name": f"Sam{LONE_SURROGATE}"},
        },
    }

    execution = client.send(request)

    assert execution.status == "SUCCEEDED"
    assert [(m.to, m.body) for m in execution.sent] == [(PARENT, "Hi Jane")]
    assert recipient_item(local, trace_id, "WHATSAPP", PARENT)["Status"] == "SENT"
    poisoned = recipient_item(local, trace_id, "WHATSAPP", "whatsapp:+447835065014")
    assert poisoned["Status"] == "REJECTED"
    assert poisoned["Reason"].startswith("InvalidMessage: the WhatsApp body has an unpaired")
    assert dead_letters(local, trace_id) == []
