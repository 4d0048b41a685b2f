"""SMS through AWS End User Messaging SMS: `SMSMessage`, a text body sent in segments."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from notify.domain.addresses import normalize_phone
from notify.domain.channels.channel import Channel, SenderList
from notify.domain.channels.phone_senders import listed_in, origination_identity
from notify.domain.compose import Delivery, carriable, text_body
from notify.domain.rendering import render
from notify.domain.sms_encoding import SmsSegments, sms_segments
from notify.domain.templates import TemplateSource, TemplateUsed

BLOCK = "SMSMessage"
SMS_ORIGINATIONS = "SmsOriginations"


@dataclass(frozen=True)
class Sms:
    to: str
    body: str
    message_type: str
    origination_identity: str | None
    segments: SmsSegments
    # Where the text came from (None: inline): recorded on the trace, not part of the message.
    template: TemplateUsed | None = field(default=None, compare=False)

    @property
    def sender(self) -> str | None:
        return self.origination_identity

    def details(self) -> dict[str, Any]:
        return {"Segments": self.segments.segments, "Encoding": self.segments.encoding}


@carriable
def compose(delivery: Delivery, templates: TemplateSource, default_template: str) -> Sms:
    block = delivery.block(BLOCK)
    to = normalize_phone(delivery.address)
    body, used = text_body(delivery, block, templates, default_template)
    text = render(body, delivery.values(block))
    return Sms(
        to=to,
        body=text,
        message_type=block.get("MessageType", "TRANSACTIONAL"),
        origination_identity=block.get("OriginationNumber"),
        segments=sms_segments(text),
        template=used,
    )


def default_sender(entry: str) -> tuple[str, str]:
    """Any entry no other channel claims is an SMS origination identity."""
    return SMS_ORIGINATIONS, origination_identity(entry)


SMS = Channel(
    name="SMS",
    block=BLOCK,
    sender_field="OriginationNumber",
    address_limit=32,
    canonical_address=normalize_phone,
    compose=compose,
    sender_lists=(
        SenderList(
            SMS_ORIGINATIONS,
            "sms-origination",
            "SMS origination identities",
            "OriginationNumber: a phone number, pool id, sender id or ARN",
            origination_identity,
        ),
    ),
    allows=listed_in(SMS_ORIGINATIONS, origination_identity),
    default_sender=default_sender,
    # Per origination identity, in message parts: a toll-free number takes 3, 10DLC 1, a
    # short code 100; 20 suits a pool of numbers.
    send_rate=20,
    keywords=True,
    opted_out_by=("SMS",),
    # Without an OriginationNumber the account's own identity sends (End User Messaging picks).
    sender_optional=True,
    budget_sender=origination_identity,  # End User Messaging paces each identity
)
