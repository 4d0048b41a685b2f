"""Which senders a tenant may send from: the rule the send functions apply before sending.

IAM lets the send functions use every SES identity and every SMS origination identity
of the account, and the request names its sender (`EmailMessage.FromAddress`,
`SMSMessage.OriginationNumber`, `WhatsAppMessage.FromNumber`). So each tenant's
allowed senders are listed (the tenants table's `SENDERS` item, managed with
`messaging senders`), and a sender off the tenant's list is a permanent error.

- A tenant with a list may use only what it lists, channel by channel: a channel with
  nothing listed has no sender for this tenant. An SMS without an OriginationNumber
  would go out from whatever identity End User Messaging picks for the account, so
  under a list it is refused: the request must name one of the tenant's identities.
- A tenant without a list follows the stack's `UnlistedTenantSenders`: `defaults` (the
  default: only the stack's own `DefaultSenders`, so no tenant can borrow another's
  sender), `any` (one tenant, or tenants that trust each other) or `none` (every tenant
  must be listed). Under `defaults` an SMS without an OriginationNumber goes out from the
  identity End User Messaging picks for the account: the stack's own.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from email.utils import parseaddr

from notify.domain.addresses import normalize_whatsapp
from notify.domain.errors import SENDER_NOT_ALLOWED, PermanentError

# What a tenant without a list may send from (the UnlistedTenantSenders parameter).
DEFAULTS = "defaults"
ANY = "any"
NONE = "none"
UNLISTED_MODES = (DEFAULTS, ANY, NONE)

# The tenants table: key (Tenant = owner, Sk), and the SENDERS item's string sets.
SENDERS_SK = "SENDERS"
EMAIL_DOMAINS = "EmailDomains"
EMAILS = "Emails"
SMS_ORIGINATIONS = "SmsOriginations"
WHATSAPP_NUMBERS = "WhatsAppNumbers"
SENDER_FIELDS = (EMAIL_DOMAINS, EMAILS, SMS_ORIGINATIONS, WHATSAPP_NUMBERS)


class InvalidSender(ValueError):
    """A sender an operator wrote that cannot be listed (the message says why)."""


# ---------------------------------------------------------------- canonical forms
# Listed senders and requested ones are compared in these forms, whoever wrote them.
def email_domain(text: str) -> str:
    """A domain as SES verifies it, lower case (`Example.COM` -> `example.com`)."""
    from email_validator import EmailNotValidError, validate_email  # only e-mail needs it

    try:
        return validate_email(f"x@{text.strip()}", check_deliverability=False).domain.lower()
    except EmailNotValidError as exc:
        raise InvalidSender(f"email domain {text!r}: {exc}") from None


def email_address(text: str) -> str:
    """An email address, lower case: SES identities ignore case."""
    from email_validator import EmailNotValidError, validate_email  # only e-mail needs it

    try:
        return validate_email(text.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise InvalidSender(f"email {text!r}: {exc}") from None


def whatsapp_number(text: str) -> str:
    """`whatsapp:+E164`, from that form or a bare +number."""
    try:
        return normalize_whatsapp(text)
    except PermanentError as exc:
        raise InvalidSender(f"WhatsApp number {text!r}: {exc.detail}") from None


def sms_origination(text: str) -> str:
    """An origination identity as End User Messaging names it: a number, pool, sender id, ARN."""
    identity = text.strip()
    if not identity or any(character.isspace() for character in identity):
        raise InvalidSender(f"SMS origination identity {text!r}: one word, e.g. pool-… or +1…")
    return identity


CANONICAL = {
    EMAIL_DOMAINS: email_domain,
    EMAILS: email_address,
    SMS_ORIGINATIONS: sms_origination,
    WHATSAPP_NUMBERS: whatsapp_number,
}


@dataclass(frozen=True)
class AllowedSenders:
    """One tenant's list (its SENDERS item)."""

    email_domains: frozenset[str] = frozenset()
    emails: frozenset[str] = frozenset()
    sms_originations: frozenset[str] = frozenset()
    whatsapp_numbers: frozenset[str] = frozenset()

    @classmethod
    def from_item(cls, item: Mapping[str, Iterable[str]]) -> AllowedSenders:
        """From the item's string sets; a value in no canonical form is skipped, not fatal."""

        def listed(field: str) -> frozenset[str]:
            values = set()
            for value in item.get(field, ()):
                try:
                    values.add(CANONICAL[field](value))
                except InvalidSender:
                    continue  # written by hand with put-item: it can match nothing
            return frozenset(values)

        return cls(
            listed(EMAIL_DOMAINS),
            listed(EMAILS),
            listed(SMS_ORIGINATIONS),
            listed(WHATSAPP_NUMBERS),
        )

    def allows(self, channel: str, sender: str | None) -> bool:
        if channel == "EMAIL":
            return self._allows_email(sender or "")
        if channel == "SMS":
            return sender is not None and sender.strip() in self.sms_originations
        if channel == "WHATSAPP":
            return sender is not None and sender in self.whatsapp_numbers
        return False

    def _allows_email(self, from_address: str) -> bool:
        # FromAddress may carry a display name: "Alerts <alerts@example.com>".
        address = parseaddr(from_address)[1].strip().lower()
        local, at, domain = address.rpartition("@")
        if not (local and at and domain):
            return False
        return address in self.emails or domain in self.email_domains


NO_SENDERS = AllowedSenders()


def default_senders(entries: Iterable[str]) -> AllowedSenders:
    """The stack's DefaultSenders, each entry in the form that says what it is.

    `name@domain` an e-mail address, `@domain` every address of a domain,
    `whatsapp:+E164` a WhatsApp sender, anything else an SMS origination identity (a
    number, pool, sender id or ARN). Blank entries are skipped; InvalidSender otherwise.
    """
    found: dict[str, set[str]] = {field: set() for field in SENDER_FIELDS}
    for entry in (e.strip() for e in entries):
        if not entry:
            continue
        if entry.lower().startswith("whatsapp:"):
            found[WHATSAPP_NUMBERS].add(whatsapp_number(entry))
        elif entry.startswith("@"):
            found[EMAIL_DOMAINS].add(email_domain(entry[1:]))
        elif "@" in entry:
            found[EMAILS].add(email_address(entry))
        else:
            found[SMS_ORIGINATIONS].add(sms_origination(entry))
    return AllowedSenders(
        frozenset(found[EMAIL_DOMAINS]),
        frozenset(found[EMAILS]),
        frozenset(found[SMS_ORIGINATIONS]),
        frozenset(found[WHATSAPP_NUMBERS]),
    )


def check_sender(
    owner: str,
    channel: str,
    sender: str | None,
    allowed: AllowedSenders | None,
    unlisted: str,
    defaults: AllowedSenders = NO_SENDERS,
) -> None:
    """PermanentError(SenderNotAllowed) unless `owner` may send on `channel` from `sender`.

    `allowed` is the tenant's list (None: it has none); `unlisted` is DEFAULTS, ANY or
    NONE; `defaults` the stack's DefaultSenders, what DEFAULTS allows.
    """
    if allowed is None:
        if unlisted == ANY:
            return
        if unlisted == DEFAULTS:
            if (channel == "SMS" and sender is None) or defaults.allows(channel, sender):
                return
            raise PermanentError(
                SENDER_NOT_ALLOWED,
                f"tenant {owner} has no allowed senders, and {channel} from {sender!r} is not "
                "one of this stack's DefaultSenders; an operator lists the tenant's own with "
                f"`messaging senders allow --tenant {owner} ...`",
            )
        raise PermanentError(
            SENDER_NOT_ALLOWED,
            f"tenant {owner} has no allowed senders (this stack allows none by default); "
            f"an operator lists them with `messaging senders allow --tenant {owner} ...`",
        )
    if allowed.allows(channel, sender):
        return
    if channel == "SMS" and sender is None:
        raise PermanentError(
            SENDER_NOT_ALLOWED,
            f"tenant {owner} lists its SMS origination identities: "
            "name one of them as SMSMessage.OriginationNumber",
        )
    raise PermanentError(
        SENDER_NOT_ALLOWED, f"tenant {owner} may not send {channel} from {sender!r}"
    )
