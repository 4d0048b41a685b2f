"""What the providers send back, whichever provider: the kinds their records are parsed into.

An inbound message, a delivery status update, or something to ignore. Each provider's
package parses its own records into them (`notify.integration.providers.parse_record`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from notify.domain.addresses import WHATSAPP_PREFIX, normalize_phone
from notify.domain.errors import PermanentError

# A later state never goes back; of two states of equal rank the first one recorded wins.
# A complaint always follows a delivery, so it ranks above it (with WhatsApp's "read").
DELIVERY_RANKS = {
    "queued": 1,
    "accepted": 1,
    "scheduled": 1,
    "sending": 2,
    "delayed": 2,
    "sent": 3,
    "delivered": 4,
    "undelivered": 4,
    "failed": 4,
    "canceled": 4,
    "bounced": 4,
    "complained": 5,
    "read": 5,
}


class RecipientNotRecorded(Exception):
    """A status for a message whose recipient is not on a trace yet: retry it later.

    Providers can report a delivery before the state machine has recorded the send.
    """


# ---------------------------------------------------------------- the parsed kinds
@dataclass(frozen=True)
class InboundMessage:
    """A message someone sent to one of our numbers."""

    message_sid: str
    sender: str  # as the provider gave it: "+E164" or "whatsapp:+E164"
    to: str
    body: str
    received_at: str
    media: tuple[str, ...] = ()
    profile_name: str | None = None

    @property
    def key(self) -> str:
        return f"twilio:{self.message_sid}"

    @property
    def channel(self) -> str:
        return sender_channel(self.sender)[1]

    @property
    def address(self) -> str:
        return sender_channel(self.sender)[0]

    def event_detail(self) -> dict[str, Any]:
        detail: dict[str, Any] = {
            "From": self.sender,
            "To": self.to,
            "Body": self.body,
            "Channel": self.channel,
            "Address": self.address,
            "MessageSid": self.message_sid,
            "ReceivedAt": self.received_at,
        }
        if self.media:
            detail["Media"] = list(self.media)
        if self.profile_name:
            detail["ProfileName"] = self.profile_name
        return detail


@dataclass(frozen=True)
class DeliveryUpdate:
    """A provider's word on one message we sent."""

    provider: str  # who reported it, as its parser in integration/providers names it: "ses", ...
    provider_message_id: str
    status: str
    at: str
    error_code: str | None = None
    event: str = ""  # the provider's own name for it, to tell duplicates from news
    # The TraceId the send attached (callback URL, email tag, message context): a status for
    # one of our sends is retried until its recipient is recorded; any other is dropped.
    trace_id: str | None = None
    complained: tuple[str, ...] = field(default=())  # email addresses that complained

    @property
    def rank(self) -> int:
        return DELIVERY_RANKS[self.status]

    @property
    def key(self) -> str:
        return f"{self.provider}:{self.provider_message_id}:{self.event or self.status}"


@dataclass(frozen=True)
class Ignored:
    """A record we understand but do not act on (an SES open, a registration event, ...)."""

    key: str
    why: str


InboundEvent = InboundMessage | DeliveryUpdate | Ignored


def sender_channel(sender: str) -> tuple[str, str]:
    """(address, channel) of a Twilio From: `whatsapp:+E164` is WHATSAPP, `+E164` is SMS."""
    raw = sender.strip()
    channel = "SMS"
    if raw.lower().startswith(WHATSAPP_PREFIX):
        raw, channel = raw[len(WHATSAPP_PREFIX) :], "WHATSAPP"
    try:
        return normalize_phone(raw), channel
    except PermanentError:
        return raw, channel  # a short code or sender id: kept as the provider wrote it
