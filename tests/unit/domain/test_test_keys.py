"""Which requests are test traffic, and how each documented test address ends."""

from __future__ import annotations

import pytest

from notify.domain.test_keys import (
    BOUNCE,
    REJECT,
    THROTTLE,
    SimulatedDelivery,
    behaviour,
    is_test,
    simulated_delivery,
)


@pytest.mark.parametrize(
    ("caller", "test"),
    [
        pytest.param({"sub": "u", "key_type": "test"}, True, id="test key"),
        pytest.param({"sub": "u"}, False, id="live token"),
        pytest.param({"sub": "k", "api_key_id": "k"}, False, id="api key"),
        pytest.param(None, False, id="no caller"),
    ],
)
def test_only_a_caller_with_key_type_test_is_test_traffic(caller, test):
    assert is_test(caller) is test


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        pytest.param("bounce@simulator.example.com", BOUNCE, id="email bounce"),
        pytest.param(" Bounce@Simulator.Example.COM ", BOUNCE, id="email in any case"),
        pytest.param("+15005550001", BOUNCE, id="phone bounce"),
        pytest.param("whatsapp:+15005550001", BOUNCE, id="whatsapp bounce"),
        pytest.param("reject@simulator.example.com", REJECT, id="email reject"),
        pytest.param("+15005550002", REJECT, id="phone reject"),
        pytest.param("throttle@simulator.example.com", THROTTLE, id="email throttle"),
        pytest.param("+15005550003", THROTTLE, id="phone throttle"),
        pytest.param("user@example.com", None, id="anyone else"),
    ],
)
def test_each_documented_test_address_names_what_it_simulates(address, expected):
    assert behaviour(address) == expected


@pytest.mark.parametrize(
    ("channel", "address", "expected"),
    [
        pytest.param(
            "EMAIL",
            "bounce@simulator.example.com",
            SimulatedDelivery("bounced", "Permanent/General"),
            id="an email bounces as SES reports a permanent bounce",
        ),
        pytest.param(
            "SMS",
            "+15005550001",
            SimulatedDelivery("failed", "TEXT_UNREACHABLE"),
            id="a text fails as End User Messaging reports an unreachable number",
        ),
        pytest.param(
            "VOICE",
            "+15005550001",
            SimulatedDelivery("failed", "VOICE_FAILED"),
            id="a call fails",
        ),
        pytest.param(
            "WHATSAPP",
            "whatsapp:+15005550001",
            SimulatedDelivery("undelivered", "30003"),
            id="a whatsapp message is undelivered as Twilio reports an unreachable handset",
        ),
        pytest.param("EMAIL", "user@example.com", SimulatedDelivery("delivered"), id="anyone else"),
        pytest.param(
            "SMS", "+15005550003", SimulatedDelivery("delivered"), id="a throttle recovers"
        ),
    ],
)
def test_a_sent_test_message_ends_bounced_for_the_bounce_address_else_delivered(
    channel, address, expected
):
    assert simulated_delivery(channel, address) == expected
