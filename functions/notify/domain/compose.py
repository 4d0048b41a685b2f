"""Render one recipient's message from the request and, when named, a stored template."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar

from notify.domain.addresses import normalize_email, normalize_phone, normalize_whatsapp
from notify.domain.content import refuse_uncarriable
from notify.domain.errors import INVALID_MESSAGE, MISSING_MESSAGE, PermanentError
from notify.domain.html_text import html_to_text
from notify.domain.plan import MESSAGE_BLOCKS
from notify.domain.rendering import merge_substitutions, render
from notify.domain.sms_encoding import SmsSegments, sms_segments
from notify.domain.templates import Template, TemplateSource


@dataclass(frozen=True)
class Delivery:
    """One Map iteration: a recipient of a request, with the request's message blocks."""

    trace_id: str
    owner: str
    recipient: dict[str, Any]
    messages: dict[str, Any]

    @classmethod
    def from_event(cls, event: dict[str, Any]) -> Delivery:
        """A Send task's payload: its request (TraceId, Owner, Messages) and the recipient."""
        request = event["Request"]
        return cls(request["TraceId"], request["Owner"], event["Recipient"], request["Messages"])

    @property
    def address(self) -> str:
        return self.recipient["Address"]

    @property
    def channel(self) -> str:
        return self.recipient["ChannelType"]

    def block(self) -> dict[str, Any]:
        name = MESSAGE_BLOCKS[self.channel]
        if name not in self.messages:
            raise PermanentError(MISSING_MESSAGE, f"a {self.channel} recipient needs an {name}")
        return self.messages[name]

    def values(self) -> dict[str, str]:
        return merge_substitutions(
            self.block().get("Substitutions"), self.recipient.get("Substitutions")
        )


@dataclass(frozen=True)
class Email:
    sender: str
    to: str
    subject: str
    text: str
    html: str | None


@dataclass(frozen=True)
class Sms:
    to: str
    body: str
    message_type: str
    origination_identity: str | None
    segments: SmsSegments


@dataclass(frozen=True)
class WhatsApp:
    """A free-form `body`, or an approved template: `content_sid` with its variables."""

    to: str
    sender: str
    body: str | None
    content_sid: str | None = None
    content_variables: dict[str, str] | None = None


# Twilio refuses longer bodies (error 21617); refusing here saves a doomed call.
WHATSAPP_BODY_LIMIT = 1600

_P = ParamSpec("_P")
_M = TypeVar("_M")

# The message's free text; every other string field is a single line (header, address, id).
_MULTILINE_FIELDS = frozenset({"text", "html", "body", "content_variables"})


def _carriable(compose: Callable[_P, _M]) -> Callable[_P, _M]:
    """Compose, then refuse text no provider can carry, as PermanentError(INVALID_MESSAGE).

    The one place where content errors become permanent: a message is checked whole, once
    rendered, so a value substituted in or a stored template is covered as well as the
    request, and nothing uncarriable reaches a provider's client, where it would fail
    (UnicodeEncodeError) unclassified, be retried, dead-lettered and redriven forever.
    """

    @functools.wraps(compose)
    def checked(*args: _P.args, **kwargs: _P.kwargs) -> _M:
        try:
            message = compose(*args, **kwargs)
        except UnicodeError as exc:  # deterministic: the same content fails the same way
            detail = f"{type(exc).__name__}: {exc}".encode("utf-8", "backslashreplace").decode()
            raise PermanentError(INVALID_MESSAGE, detail) from None
        kind = type(message).__name__
        for field in dataclasses.fields(message):  # type: ignore[arg-type]
            value = getattr(message, field.name)
            one_line = field.name not in _MULTILINE_FIELDS
            if isinstance(value, str):
                refuse_uncarriable(f"the {kind} {field.name}", value, one_line=one_line)
            elif isinstance(value, dict):
                for key, item in value.items():
                    refuse_uncarriable(f"the {kind} {field.name} {key!r}", str(key), one_line=True)
                    refuse_uncarriable(f"the {kind} {field.name} {key!r}", item, one_line=one_line)
        return message

    return checked


@_carriable
def compose_email(delivery: Delivery, templates: TemplateSource, default_template: str) -> Email:
    block = delivery.block()
    to = normalize_email(delivery.address)
    values = delivery.values()
    if "HtmlBody" in block or "TextBody" in block:
        source = Template(
            "(inline)", html_body=block.get("HtmlBody"), text_body=block.get("TextBody")
        )
    else:
        source = templates.get(block.get("TemplateName") or default_template)
    subject = block.get("Subject") or source.subject
    if not subject:
        raise PermanentError(
            INVALID_MESSAGE, f"no Subject in the request or template {source.name}"
        )
    html = render(source.html_body, values, html=True) if source.html_body else None
    text_source = source.text_body or source.message_body
    if text_source:
        text = render(text_source, values)
    elif html:
        text = html_to_text(html)
    else:
        raise PermanentError(INVALID_MESSAGE, f"template {source.name} has no email body")
    sender = block.get("FromAddress")
    if not sender:
        raise PermanentError(INVALID_MESSAGE, "EmailMessage needs a FromAddress")
    return Email(sender, to, render(subject, values), text, html)


@_carriable
def compose_sms(delivery: Delivery, templates: TemplateSource, default_template: str) -> Sms:
    block = delivery.block()
    to = normalize_phone(delivery.address)
    body = _text_body(block, templates, default_template)
    text = render(body, delivery.values())
    return Sms(
        to=to,
        body=text,
        message_type=block.get("MessageType", "TRANSACTIONAL"),
        origination_identity=block.get("OriginationNumber"),
        segments=sms_segments(text),
    )


@_carriable
def compose_whatsapp(
    delivery: Delivery, templates: TemplateSource, default_template: str
) -> WhatsApp:
    """Render like an SMS; an approved template's ContentVariables are rendered the same way."""
    block = delivery.block()
    to = normalize_whatsapp(delivery.address)
    sender = _whatsapp_sender(block.get("FromNumber"))
    values = delivery.values()
    if block.get("ContentSid"):
        variables = {
            key: render(value, values) for key, value in block.get("ContentVariables", {}).items()
        }
        return WhatsApp(to, sender, None, block["ContentSid"], variables)
    body = _text_body(block, templates, default_template)
    text = render(body, values)
    if len(text) > WHATSAPP_BODY_LIMIT:
        raise PermanentError(
            INVALID_MESSAGE,
            f"the WhatsApp body is {len(text)} characters; the limit is {WHATSAPP_BODY_LIMIT}",
        )
    return WhatsApp(to, sender, text)


def _whatsapp_sender(number: str | None) -> str:
    if not number:
        raise PermanentError(INVALID_MESSAGE, "WhatsAppMessage needs a FromNumber")
    try:
        return normalize_whatsapp(number)
    except PermanentError as exc:
        raise PermanentError(INVALID_MESSAGE, f"FromNumber: {exc.detail}") from None


def _text_body(block: dict[str, Any], templates: TemplateSource, default_template: str) -> str:
    """An SMS or WhatsApp body: inline, else the named (or default) template's text."""
    if "MessageBody" in block:
        return block["MessageBody"]
    template = templates.get(block.get("TemplateName") or default_template)
    body = template.message_body or template.text_body
    if not body:
        raise PermanentError(INVALID_MESSAGE, f"template {template.name} has no MessageBody")
    return body
