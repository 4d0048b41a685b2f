"""WHATSAPP through Twilio: `WhatsAppMessage`, free-form text or an approved template."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from notify.domain.addresses import WHATSAPP_PREFIX, normalize_whatsapp
from notify.domain.channels.channel import Channel, SenderList
from notify.domain.channels.phone_senders import listed_in, whatsapp_number
from notify.domain.compose import Delivery, carriable, text_body
from notify.domain.errors import INVALID_MESSAGE, PermanentError
from notify.domain.rendering import render
from notify.domain.templates import TemplateSource, TemplateUsed

BLOCK = "WhatsAppMessage"
WHATSAPP_NUMBERS = "WhatsAppNumbers"
# Twilio refuses longer bodies (error 21617); refusing here saves a doomed call.
BODY_LIMIT = 1600


@dataclass(frozen=True)
class WhatsApp:
    """A free-form `body`, or an approved template: `content_sid` with its variables."""

    to: str
    from_number: str
    body: str | None
    content_sid: str | None = None
    content_variables: dict[str, str] | None = None
    # Where the text came from (None: inline): recorded on the trace, not part of the message.
    template: TemplateUsed | None = field(default=None, compare=False)

    @property
    def sender(self) -> str:
        return self.from_number

    def details(self) -> dict[str, Any]:
        return {}


@carriable
def compose(delivery: Delivery, templates: TemplateSource, default_template: str) -> WhatsApp:
    """Render like an SMS; an approved template's ContentVariables are rendered the same way."""
    block = delivery.block(BLOCK)
    to = normalize_whatsapp(delivery.address)
    sender = _from_number(block.get("FromNumber"))
    values = delivery.values(block)
    if block.get("ContentSid"):
        variables = {
            key: render(value, values) for key, value in block.get("ContentVariables", {}).items()
        }
        return WhatsApp(to, sender, None, block["ContentSid"], variables)
    body, used = text_body(delivery, block, templates, default_template)
    text = render(body, values)
    if len(text) > BODY_LIMIT:
        raise PermanentError(
            INVALID_MESSAGE,
            f"the WhatsApp body is {len(text)} characters; the limit is {BODY_LIMIT}",
        )
    return WhatsApp(to, sender, text, template=used)


def _from_number(number: str | None) -> str:
    if not number:
        raise PermanentError(INVALID_MESSAGE, "WhatsAppMessage needs a FromNumber")
    try:
        return normalize_whatsapp(number)
    except PermanentError as exc:
        raise PermanentError(INVALID_MESSAGE, f"FromNumber: {exc.detail}") from None


def default_sender(entry: str) -> tuple[str, str] | None:
    """`whatsapp:+E164`."""
    if entry.lower().startswith(WHATSAPP_PREFIX):
        return WHATSAPP_NUMBERS, whatsapp_number(entry)
    return None


WHATSAPP = Channel(
    name="WHATSAPP",
    block=BLOCK,
    sender_field="FromNumber",
    address_limit=32,
    canonical_address=normalize_whatsapp,
    compose=compose,
    sender_lists=(
        SenderList(
            WHATSAPP_NUMBERS,
            "whatsapp",
            "WhatsApp numbers",
            "FromNumber whatsapp:+E164",
            whatsapp_number,
        ),
    ),
    allows=listed_in(WHATSAPP_NUMBERS, whatsapp_number),
    default_sender=default_sender,
    send_rate=80,  # Twilio's WhatsApp throughput per sender
    keywords=True,
    opted_out_by=("WHATSAPP",),
    budget_sender=whatsapp_number,  # Twilio paces each sender
)
