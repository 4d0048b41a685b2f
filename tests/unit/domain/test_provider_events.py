"""The kinds every provider's records are parsed into: a sender's channel, the status ranks.

Each provider's parsing is tested with its package (tests/unit/integration/providers/).
"""

from __future__ import annotations

import pytest

from notify.domain.provider_events import DELIVERY_RANKS, sender_channel


@pytest.mark.parametrize(
    ("sender", "expected"),
    [
        pytest.param("whatsapp:+16048621234", ("+16048621234", "WHATSAPP"), id="whatsapp"),
        pytest.param("WhatsApp:+16048621234", ("+16048621234", "WHATSAPP"), id="prefix case"),
        pytest.param("+16048621234", ("+16048621234", "SMS"), id="sms"),
        pytest.param("+1 604-862-1234", ("+16048621234", "SMS"), id="sms normalised"),
        pytest.param("12345", ("12345", "SMS"), id="short code kept"),
    ],
)
def test_the_sender_gives_the_address_and_channel(sender, expected):
    assert sender_channel(sender) == expected


def test_a_complaint_ranks_above_a_delivery_and_read_is_last():
    assert DELIVERY_RANKS["queued"] < DELIVERY_RANKS["sending"] < DELIVERY_RANKS["sent"]
    assert DELIVERY_RANKS["sent"] < DELIVERY_RANKS["delivered"] == DELIVERY_RANKS["failed"]
    assert DELIVERY_RANKS["delivered"] < DELIVERY_RANKS["complained"] == DELIVERY_RANKS["read"]
