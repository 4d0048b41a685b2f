"""The test provider answers as a provider would for each test address, and reaches no one."""

from __future__ import annotations

import pytest

from notify.domain.errors import PROVIDER_REJECTED, THROTTLED, PermanentError, TransientError
from notify.integration.providers.simulator import SimulatedProvider

BOUNCES, REJECTS = "bounce@simulator.example.com", "reject@simulator.example.com"


def send(address: str, **recipient_fields: object) -> str:
    provider = SimulatedProvider({"Address": address, **recipient_fields})
    return provider.send(message=object(), trace_id="t-1")


@pytest.mark.parametrize("address", ["user@example.com", "bounce@simulator.example.com"])
def test_a_sendable_test_address_gets_a_test_message_id(address):
    assert send(address).startswith("test-")
    assert send(address) != send(address)


def test_the_reject_address_is_a_permanent_provider_rejection_saying_so():
    with pytest.raises(PermanentError) as raised:
        send("reject@simulator.example.com")

    assert raised.value.reason == PROVIDER_REJECTED
    assert "simulates a rejection" in raised.value.detail


def test_the_throttle_address_is_throttled_once_then_sent():
    with pytest.raises(TransientError) as raised:
        send("+15005550003")

    assert raised.value.reason == THROTTLED
    assert send("+15005550003", Throttled=1).startswith("test-")


def test_a_sent_test_message_reports_the_delivery_status_its_address_simulates():
    provider = SimulatedProvider(
        {"Address": "bounce@simulator.example.com", "ChannelType": "EMAIL"}
    )
    message_id = provider.send(message=object(), trace_id="t-1")

    update = provider.status_event("t-1")

    assert (update.provider, update.provider_message_id, update.trace_id) == (
        "test",
        message_id,
        "t-1",
    )
    assert (update.status, update.error_code) == ("bounced", "Permanent/General")


def test_a_test_message_not_sent_reports_nothing():
    provider = SimulatedProvider(
        {"Address": "reject@simulator.example.com", "ChannelType": "EMAIL"}
    )
    with pytest.raises(PermanentError):
        provider.send(message=object(), trace_id="t-1")

    assert provider.status_event("t-1") is None
