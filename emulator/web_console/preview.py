"""A stored template rendered with sample substitutions, by the send path's own code.

The channel's `compose` (notify/domain/channels/) renders it from the templates table, as
the send functions do, so what the console shows is what a recipient would get, and a
missing variable is refused with the same words. A preview API is another issue; until it
exists, this is the console's own call of that code.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cli.target import Target
from emulator.providers import SentMessage
from emulator.web_console.outbox import message_view
from notify.domain.channels import CHANNELS, Message
from notify.domain.compose import Delivery
from notify.domain.errors import PermanentError
from notify.domain.rendering import PLACEHOLDER
from notify.integration.template_store import DynamoTemplateStore

# Who the sample is sent to and from, per channel (the local stack's demo senders).
SAMPLE_ADDRESSES = {
    "EMAIL": ("user@example.com", "alerts@example.com"),
    "SMS": ("+16048621234", "your-pool-id"),
    "WHATSAPP": ("whatsapp:+447835065013", "whatsapp:+14155238886"),
    "VOICE": ("+16048621234", "+18005550100"),
}
PREVIEW = "console-preview"


@dataclass(frozen=True)
class Preview:
    """The rendered message's fields (as the outbox shows a message), or why it was refused."""

    message: dict[str, Any] | None
    refused: str = ""


def placeholders(item: dict[str, Any]) -> list[str]:
    """The `{name}`s of a template's every part, each once, in order."""
    found = [
        name
        for key in ("Subject", "MessageBody", "HtmlBody", "TextBody")
        for name in PLACEHOLDER.findall(str(item.get(key) or ""))
    ]
    return list(dict.fromkeys(found))


def parse_substitutions(text: str) -> dict[str, str]:
    """`name=value` lines (the form's textarea); a line without "=" is ignored."""
    pairs = (line.split("=", 1) for line in text.splitlines() if "=" in line)
    return {name.strip(): value.strip() for name, value in pairs if name.strip()}


def render_preview(
    target: Target, template: str, channel: str, substitutions: dict[str, str]
) -> Preview:
    entry = CHANNELS[channel]
    to, sender = SAMPLE_ADDRESSES[channel]
    block = {"TemplateName": template, entry.sender_field: sender, "Substitutions": substitutions}
    delivery = Delivery(
        trace_id=PREVIEW,
        owner=PREVIEW,
        recipient={"Address": to, "ChannelType": channel},
        messages={entry.block: block},
    )
    store = DynamoTemplateStore(
        target.client("dynamodb"), target.output("TemplatesTableName"), ttl_seconds=0
    )
    try:
        message = entry.compose(delivery, store, template)
    except PermanentError as refused:
        return Preview(None, str(refused))
    return Preview(message_view(as_sent(channel, message)))


def as_sent(channel: str, message: Message) -> SentMessage:
    """The composed message as the outbox would hold it once its provider took it."""
    return SentMessage(
        channel=channel,
        to=message.to,
        sender=message.sender,
        body=getattr(message, "body", None),
        subject=getattr(message, "subject", None),
        text=getattr(message, "text", None),
        html=getattr(message, "html", None),
        content_sid=getattr(message, "content_sid", None),
        content_variables=getattr(message, "content_variables", None),
    )


def default_channel(item: dict[str, Any]) -> str:
    """The channel a template is most likely written for: e-mail if it has e-mail parts."""
    return "EMAIL" if any(item.get(key) for key in ("Subject", "HtmlBody")) else "SMS"
