"""VOICE through AWS End User Messaging Voice: `VoiceMessage`, text spoken by Amazon Polly.

For one-time codes and urgent alerts: the call reads the rendered `MessageBody` in the
`VoiceId`'s voice; a `LanguageCode` (e.g. `fr-FR`) makes Polly read it in that language
(the body is sent as SSML `<lang>`, its text escaped). A call cannot be answered with
STOP, so a STOP texted to the same number opts the person out of calls too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from notify.domain.addresses import normalize_phone
from notify.domain.channels.channel import Channel, SenderList
from notify.domain.channels.phone_senders import listed_in, origination_identity
from notify.domain.compose import Delivery, carriable, text_body
from notify.domain.errors import INVALID_MESSAGE, PermanentError
from notify.domain.rendering import render
from notify.domain.templates import TemplateSource, TemplateUsed

BLOCK = "VoiceMessage"
VOICE_ORIGINATIONS = "VoiceOriginations"
DEFAULT_SENDER_PREFIX = "voice:"
# SendVoiceMessage's MessageBody: 3,000 characters of text, 6,000 of SSML with its tags.
TEXT_LIMIT = 3000
SSML_LIMIT = 6000


@dataclass(frozen=True)
class VoiceCall:
    to: str
    origination_identity: str
    body: str
    text_type: str  # TEXT, or SSML when a LanguageCode is named
    voice_id: str | None
    # Where the text came from (None: inline): recorded on the trace, not part of the call.
    template: TemplateUsed | None = field(default=None, compare=False)

    @property
    def sender(self) -> str:
        return self.origination_identity

    def details(self) -> dict[str, Any]:
        return {}


@carriable
def compose(delivery: Delivery, templates: TemplateSource, default_template: str) -> VoiceCall:
    block = delivery.block(BLOCK)
    to = normalize_phone(delivery.address)
    origination = block.get("OriginationNumber")
    if not origination:
        raise PermanentError(INVALID_MESSAGE, "VoiceMessage needs an OriginationNumber")
    body, used = text_body(delivery, block, templates, default_template)
    text = render(body, delivery.values(block))
    if len(text) > TEXT_LIMIT:
        raise PermanentError(
            INVALID_MESSAGE, f"the spoken text is {len(text)} characters; the limit is {TEXT_LIMIT}"
        )
    language = block.get("LanguageCode")
    if language:
        ssml = f"<speak><lang xml:lang={quoteattr(language)}>{escape(text)}</lang></speak>"
        if len(ssml) > SSML_LIMIT:
            raise PermanentError(
                INVALID_MESSAGE, f"the spoken text escaped as SSML is over {SSML_LIMIT} characters"
            )
        return VoiceCall(to, origination, ssml, "SSML", block.get("VoiceId"), used)
    return VoiceCall(to, origination, text, "TEXT", block.get("VoiceId"), used)


def default_sender(entry: str) -> tuple[str, str] | None:
    """`voice:<origination identity>`."""
    if entry.lower().startswith(DEFAULT_SENDER_PREFIX):
        return VOICE_ORIGINATIONS, origination_identity(entry[len(DEFAULT_SENDER_PREFIX) :])
    return None


VOICE = Channel(
    name="VOICE",
    block=BLOCK,
    sender_field="OriginationNumber",
    address_limit=32,
    canonical_address=normalize_phone,
    compose=compose,
    sender_lists=(
        SenderList(
            VOICE_ORIGINATIONS,
            "voice-origination",
            "voice origination identities",
            "VoiceMessage OriginationNumber: a voice-capable phone number or pool",
            origination_identity,
        ),
    ),
    allows=listed_in(VOICE_ORIGINATIONS, origination_identity),
    default_sender=default_sender,
    # A conservative default: set VoiceSendRate to the account's voice quota.
    send_rate=5,
    opted_out_by=("SMS",),
    budget_sender=origination_identity,
)
