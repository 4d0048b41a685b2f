"""The channel registry: one entry per channel, read by everything that differs per channel.

Adding a channel is a module here (its block, address rule, renderer, sender rule and
budget), its provider under `notify.integration.providers`, its send function in the
template and its block in the API's model: docs/adding-a-channel.md walks through VOICE.
"""

from __future__ import annotations

from notify.domain.channels.channel import Channel, InvalidSender, Message, SenderList
from notify.domain.channels.email import EMAIL
from notify.domain.channels.sms import SMS
from notify.domain.channels.voice import VOICE
from notify.domain.channels.whatsapp import WHATSAPP

__all__ = [
    "CHANNELS",
    "DEFAULT_SENDER_ORDER",
    "Channel",
    "InvalidSender",
    "Message",
    "SenderList",
    "channel",
]

CHANNELS: dict[str, Channel] = {c.name: c for c in (EMAIL, SMS, WHATSAPP, VOICE)}
# A DefaultSenders entry is the first channel's that recognises its form; SMS, whose
# origination identities have no form of their own, takes what no other channel claims.
DEFAULT_SENDER_ORDER: tuple[Channel, ...] = (EMAIL, WHATSAPP, VOICE, SMS)


def channel(name: str) -> Channel:
    """The entry of the ChannelType `name`; KeyError naming the known ones."""
    try:
        return CHANNELS[name]
    except KeyError:
        raise KeyError(f"unknown channel {name!r}; one of {', '.join(sorted(CHANNELS))}") from None
