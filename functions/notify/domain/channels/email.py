"""EMAIL through Amazon SES: `EmailMessage`, a Subject and an HTML and/or text body."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from email.utils import parseaddr
from typing import Any

from notify.domain.addresses import normalize_email
from notify.domain.channels.channel import Channel, InvalidSender, SenderList
from notify.domain.compose import Delivery, carriable, stored_template
from notify.domain.errors import INVALID_MESSAGE, PermanentError
from notify.domain.html_text import html_to_text
from notify.domain.rendering import render
from notify.domain.templates import Template, TemplateSource, TemplateUsed

BLOCK = "EmailMessage"
EMAIL_DOMAINS = "EmailDomains"
EMAILS = "Emails"


@dataclass(frozen=True)
class Email:
    from_address: str
    to: str
    subject: str
    text: str
    html: str | None
    # Where the text came from (None: inline): recorded on the trace, not part of the message.
    template: TemplateUsed | None = field(default=None, compare=False)

    @property
    def sender(self) -> str:
        return self.from_address

    def details(self) -> dict[str, Any]:
        return {}


@carriable
def compose(delivery: Delivery, templates: TemplateSource, default_template: str) -> Email:
    block = delivery.block(BLOCK)
    to = normalize_email(delivery.address)
    values = delivery.values(block)
    if "HtmlBody" in block or "TextBody" in block:
        source = Template(
            "(inline)", html_body=block.get("HtmlBody"), text_body=block.get("TextBody")
        )
        used = None
    else:
        source = stored_template(delivery, block, templates, default_template)
        used = source.used
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
    return Email(sender, to, render(subject, values), text, html, used)


# ---------------------------------------------------------------- senders
def email_domain(text: str) -> str:
    """A domain as SES verifies it, lower case (`Example.COM` -> `example.com`)."""
    from email_validator import EmailNotValidError, validate_email

    try:
        return validate_email(f"x@{text.strip()}", check_deliverability=False).domain.lower()
    except EmailNotValidError as exc:
        raise InvalidSender(f"email domain {text!r}: {exc}") from None


def email_address(text: str) -> str:
    """An email address, lower case: SES identities ignore case."""
    from email_validator import EmailNotValidError, validate_email

    try:
        return validate_email(text.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise InvalidSender(f"email {text!r}: {exc}") from None


def allows(listed: Mapping[str, frozenset[str]], sender: str | None) -> bool:
    # FromAddress may carry a display name: "Alerts <alerts@example.com>".
    address = parseaddr(sender or "")[1].strip().lower()
    local, at, domain = address.rpartition("@")
    if not (local and at and domain):
        return False
    return address in listed.get(EMAILS, ()) or domain in listed.get(EMAIL_DOMAINS, ())


def default_sender(entry: str) -> tuple[str, str] | None:
    """`@domain`: every address of the domain; `name@domain`: that address."""
    if entry.startswith("@"):
        return EMAIL_DOMAINS, email_domain(entry[1:])
    if "@" in entry:
        return EMAILS, email_address(entry)
    return None


EMAIL = Channel(
    name="EMAIL",
    block=BLOCK,
    sender_field="FromAddress",
    address_limit=254,
    canonical_address=normalize_email,
    compose=compose,
    sender_lists=(
        SenderList(
            EMAIL_DOMAINS, "email-domain", "email domains", "any FromAddress @D", email_domain
        ),
        SenderList(EMAILS, "email", "emails", "FromAddress A", email_address),
    ),
    allows=allows,
    default_sender=default_sender,
    # SES's sending quota is per account and region; 14/s is a common first production quota.
    send_rate=14,
)
