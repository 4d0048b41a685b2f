"""Test keys: requests that run everything but reach no provider.

A token with the claim `"key_type": "test"` marks its requests as test traffic: the
queued Caller carries the claim, and the send path hands such a request's messages to
the test provider (`notify.integration.providers.simulator`), which calls out to no
one. Each recipient then ends as its address says: one of the test addresses below
simulates what a real provider would report, every other address is delivered.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from notify.domain.addresses import WHATSAPP_PREFIX

KEY_TYPE = "key_type"
TEST, LIVE = "test", "live"
KEY_TYPES = (TEST, LIVE)
# What the traces table and the status events carry beside a test recipient.
TEST_MARK = "Test"

# The documented test addresses (docs/api.md): the email domain is reserved (RFC 2606) and
# the numbers are in +1 500 555, the range Twilio's own test credentials use.
BOUNCE, REJECT, THROTTLE = "bounce", "reject", "throttle"
TEST_ADDRESSES: dict[str, str] = {
    "bounce@simulator.example.com": BOUNCE,
    "+15005550001": BOUNCE,
    "reject@simulator.example.com": REJECT,
    "+15005550002": REJECT,
    "throttle@simulator.example.com": THROTTLE,
    "+15005550003": THROTTLE,
}
# A bounce per channel, as its provider's events are parsed (integration/providers/*/events.py):
# SES's permanent bounce, End User Messaging's failed text or call (its event type as the
# code), Twilio's undelivered message (30003: unreachable handset).
_BOUNCES = {
    "EMAIL": ("bounced", "Permanent/General"),
    "SMS": ("failed", "TEXT_UNREACHABLE"),
    "VOICE": ("failed", "VOICE_FAILED"),
    "WHATSAPP": ("undelivered", "30003"),
}


@dataclass(frozen=True)
class SimulatedDelivery:
    """The delivery status a test recipient ends with, as a provider's event would set it."""

    status: str
    error_code: str | None = None


def is_test(caller: Mapping[str, Any] | None) -> bool:
    """Whether a queued Caller (or an authorizer context) is a test key's."""
    return caller is not None and caller.get(KEY_TYPE) == TEST


def behaviour(address: str) -> str | None:
    """BOUNCE, REJECT or THROTTLE for a documented test address, else None (delivered)."""
    bare = address.strip().lower().removeprefix(WHATSAPP_PREFIX)
    return TEST_ADDRESSES.get(bare)


def simulated_delivery(channel: str, address: str) -> SimulatedDelivery:
    """The delivery status a sent test message ends with: bounced or delivered."""
    if behaviour(address) == BOUNCE:
        return SimulatedDelivery(*_BOUNCES[channel])
    return SimulatedDelivery("delivered")
