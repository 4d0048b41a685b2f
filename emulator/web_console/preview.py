"""A shared template rendered with sample substitutions: the templates API's preview.

`notify.domain.preview` composes it with the channel's own `compose`, as a send does, so
what the console shows is what a recipient would get; every missing variable is named.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cli.target import Target
from emulator.providers import SentMessage
from emulator.web_console.outbox import message_view
from notify.domain.errors import PermanentError
from notify.domain.preview import SAMPLE_ADDRESSES, MissingVariables, PreviewRequest, preview
from notify.domain.rendering import PLACEHOLDER
from notify.integration.template_store import DynamoTemplateStore


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
    store = DynamoTemplateStore(
        target.client("dynamodb"), target.output("TemplatesTableName"), ttl_seconds=0
    )
    try:
        shown = preview(store, None, PreviewRequest(template, channel, substitutions))
    except (MissingVariables, PermanentError) as refused:
        return Preview(None, str(refused))
    to, sender = SAMPLE_ADDRESSES[channel]
    sent = SentMessage(
        channel=channel,
        to=to,
        sender=sender,
        body=shown.get("Body"),
        subject=shown.get("Subject"),
        text=shown.get("Text"),
        html=shown.get("Html"),
    )
    return Preview(message_view(sent))


def default_channel(item: dict[str, Any]) -> str:
    """The channel a template is most likely written for: e-mail if it has e-mail parts."""
    return "EMAIL" if any(item.get(key) for key in ("Subject", "HtmlBody")) else "SMS"
