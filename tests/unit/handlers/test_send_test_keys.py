"""A test key's recipient through the real send functions: nothing reaches a provider, and
the item ends as its address simulates (reusing test_send_handlers' stack)."""

from __future__ import annotations

import pytest

from notify.domain.errors import PROVIDER_REJECTED, AwaitingDelivery, PermanentError
from tests.unit.handlers import test_send_handlers as send_handlers
from tests.unit.handlers.test_send_handlers import CHANNELS, EACH_CHANNEL, delivery

# The send functions over moto and the local providers, as test_send_handlers starts them.
functions, providers = send_handlers.functions, send_handlers.providers

TEST_CALLER = {"sub": "u1", "customer_id": "cust456", "key_type": "test"}
BOUNCE_ADDRESS = {
    "EMAIL": "bounce@simulator.example.com",
    "SMS": "+15005550001",
    "WHATSAPP": "whatsapp:+15005550001",
}
BOUNCED = {
    "EMAIL": ("bounced", "Permanent/General"),
    "SMS": ("failed", "TEXT_UNREACHABLE"),
    "WHATSAPP": ("undelivered", "30003"),
}


def with_test_key(channel, address: str | None = None) -> dict:
    event = delivery(channel)
    event["Request"]["Caller"] = TEST_CALLER
    if address is not None:
        event["Delivery"]["Recipient"]["Address"] = address
    return event


@EACH_CHANNEL
def test_a_test_key_recipient_is_sent_and_delivered_with_nothing_in_the_outbox(
    functions, providers, channel, lambda_context
):
    event = with_test_key(channel)

    outcome = functions.send(channel, event, lambda_context)

    assert outcome["Status"] == "SENT"
    assert outcome["ProviderMessageId"].startswith("test-")
    assert providers.sent(event["Request"]["TraceId"]) == []
    item = functions.recipient_item(event)
    assert (item["Status"], item["Test"], item["DeliveryStatus"]) == ("SENT", True, "delivered")
    assert item["ProviderMessageId"] == outcome["ProviderMessageId"]


@EACH_CHANNEL
def test_the_bounce_address_ends_as_its_providers_bounce_would(
    functions, providers, channel, lambda_context
):
    event = with_test_key(channel, BOUNCE_ADDRESS[channel.name])

    assert functions.send(channel, event, lambda_context)["Status"] == "SENT"

    item = functions.recipient_item(event)
    assert (item["DeliveryStatus"], item["DeliveryErrorCode"]) == BOUNCED[channel.name]
    assert providers.sent(event["Request"]["TraceId"]) == []


def test_the_reject_address_is_rejected_by_the_test_provider_saying_why(
    functions, providers, lambda_context
):
    email = CHANNELS[0]
    event = with_test_key(email, "reject@simulator.example.com")

    with pytest.raises(PermanentError) as raised:
        functions.send(email, event, lambda_context)

    assert raised.value.reason == PROVIDER_REJECTED
    assert "reject@simulator.example.com is the test address that simulates a rejection" in str(
        raised.value
    )


def test_the_throttle_address_is_paced_once_then_sent_and_delivered(
    functions, providers, lambda_context
):
    sms = CHANNELS[1]
    event = with_test_key(sms, "+15005550003")

    paced = functions.send(sms, event, lambda_context)
    assert (paced["Status"], paced["Recipient"]["Throttled"]) == ("PACED", 1)

    event["Delivery"]["Recipient"] = paced["Recipient"]
    assert functions.send(sms, event, lambda_context)["Status"] == "SENT"
    assert functions.recipient_item(event)["DeliveryStatus"] == "delivered"
    assert providers.sent(event["Request"]["TraceId"]) == []


def test_a_test_recipient_whose_next_channel_waits_is_reported_delivered_before_the_wait(
    functions, providers, lambda_context
):
    sms = CHANNELS[1]
    event = with_test_key(sms)
    event["Delivery"]["Recipient"] |= {"AwaitDeliverySeconds": 30}

    with pytest.raises(AwaitingDelivery):
        functions.send(sms, event, lambda_context)

    # Its receipt is there, so the fallback is not tried.
    assert functions.recipient_item(event)["DeliveryStatus"] == "delivered"


@EACH_CHANNEL
def test_a_live_recipient_is_not_marked_test(functions, providers, channel, lambda_context):
    event = delivery(channel)

    functions.send(channel, event, lambda_context)

    assert "Test" not in functions.recipient_item(event)
    assert len(providers.sent(event["Request"]["TraceId"])) == 1
