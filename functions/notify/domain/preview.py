"""A template's preview: what a send would render, by the send's own `compose`.

The channel's `compose` renders the template as its send function does, for a sample
recipient and sender (never checked or sent to), so a preview and a send cannot differ.
Before it, every placeholder the channel's parts hold without a value is named at once
(a send stops at the first part that lacks one).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from notify.domain.channels import channel as channel_entry
from notify.domain.compose import Delivery
from notify.domain.errors import MISSING_VARIABLE
from notify.domain.rendering import merge_substitutions
from notify.domain.templates import (
    LOCALE_FIELD,
    Template,
    TemplateSource,
    missing_variables,
)

# Whom a preview is composed for and from, per channel: valid forms, never contacted.
SAMPLE_ADDRESSES = {
    "EMAIL": ("user@example.com", "preview@example.com"),
    "SMS": ("+16048621234", "preview-pool"),
    "WHATSAPP": ("whatsapp:+16048621234", "whatsapp:+14155238886"),
    "VOICE": ("+16048621234", "+18005550100"),
}
PREVIEW_TRACE = "preview"


class MissingVariables(ValueError):
    """The template's parts name variables the preview was given no value for."""

    def __init__(self, missing: list[str]) -> None:
        super().__init__(f"{MISSING_VARIABLE}: no value for: {', '.join(missing)}")
        self.missing = missing


@dataclass(frozen=True)
class PreviewRequest:
    name: str
    channel: str | None = None  # None: e-mail for a template with e-mail parts, else SMS
    substitutions: Mapping[str, Any] | None = None
    version: int | None = None
    locale: str | None = None  # a recipient's language tag: the variant a send would choose


def default_channel(template: Template) -> str:
    return "EMAIL" if template.subject or template.html_body else "SMS"


def rendered_parts(channel: str, template: Template) -> list[str | None]:
    """The parts of `template` that a message of `channel` renders (as its compose reads them)."""
    if channel == "EMAIL":
        return [template.subject, template.html_body, template.text_body or template.message_body]
    return [template.message_body or template.text_body]


def preview(
    templates: TemplateSource, owner: str | None, request: PreviewRequest
) -> dict[str, Any]:
    """What a send of the template by `owner` (None: any tenant, shared templates only)
    renders: PermanentError as a send would fail (TemplateNotFound, InvalidMessage),
    MissingVariables naming every one missing."""
    template = templates.get(request.name, owner, request.version).for_locale(request.locale)
    channel = channel_entry(request.channel or default_channel(template))
    values = merge_substitutions(dict(request.substitutions or {}), None)
    missing = missing_variables(rendered_parts(channel.name, template), values)
    if missing:
        raise MissingVariables(missing)
    to, sender = SAMPLE_ADDRESSES[channel.name]
    block: dict[str, Any] = {
        "TemplateName": request.name,
        channel.sender_field: sender,
        "Substitutions": values,
    }
    if template.version is not None:  # the very version resolved above
        block["TemplateVersion"] = template.version
    recipient = {"Address": to, "ChannelType": channel.name}
    if request.locale:
        recipient[LOCALE_FIELD] = request.locale
    delivery = Delivery(PREVIEW_TRACE, owner or "", recipient, {channel.block: block})
    message = channel.compose(delivery, templates, request.name)
    variant = {LOCALE_FIELD: template.locale} if template.locale else {}  # absent: the default
    return {
        "Name": template.name,
        "Version": template.version,
        "Shared": template.shared,
        **variant,
        "ChannelType": channel.name,
        **message_view(message),
    }


def message_view(message: Any) -> dict[str, Any]:
    """The rendered message's content by its API names (no addresses: they are samples)."""
    view = {
        "Subject": getattr(message, "subject", None),
        "Html": getattr(message, "html", None),
        "Text": getattr(message, "text", None),
        "Body": getattr(message, "body", None),
    }
    segments = getattr(message, "segments", None)
    if segments is not None:  # an SMS: what it costs
        view |= {
            "Segments": segments.segments,
            "Encoding": segments.encoding,
            "Characters": segments.characters,
        }
    return {key: value for key, value in view.items() if value is not None}
