"""Checking and normalising recipient addresses before anything is sent to them.

A bad address is a permanent failure: no retry can make the provider accept it. The
address libraries are imported on first use, so each send function loads only its
channel's (phonenumbers is some 15 ms of a cold start, email-validator 20 ms).
"""

from __future__ import annotations

import re

from notify.domain.errors import INVALID_ADDRESS, PermanentError

# Digits and the usual separators only: phonenumbers would otherwise read letters as a
# keypad vanity number ("+1-800-FLOWERS"), which is no way to address an SMS.
_PHONE_CHARACTERS = re.compile(r"\+[0-9 ().-]+")
WHATSAPP_PREFIX = "whatsapp:"


def normalize_phone(address: str) -> str:
    """The E.164 form of an international phone number, or PermanentError(INVALID_ADDRESS)."""
    import phonenumbers

    candidate = address.strip()
    # Without the "+" the country is unknown; guessing one could text a stranger.
    if not _PHONE_CHARACTERS.fullmatch(candidate):
        raise _invalid_phone(address, "not a +country number of digits")
    try:
        number = phonenumbers.parse(candidate, None)
    except phonenumbers.NumberParseException as exc:
        raise _invalid_phone(address, str(exc)) from None
    if not phonenumbers.is_valid_number(number):
        raise _invalid_phone(address, "not a valid number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalize_whatsapp(address: str) -> str:
    """`whatsapp:+E164` (Twilio's WhatsApp address) from that form or a bare +number."""
    candidate = address.strip()
    if candidate.startswith(WHATSAPP_PREFIX):
        candidate = candidate[len(WHATSAPP_PREFIX) :]
    return WHATSAPP_PREFIX + normalize_phone(candidate)


def normalize_email(address: str) -> str:
    """The normalised form of an email address, or PermanentError(INVALID_ADDRESS)."""
    from email_validator import EmailNotValidError, validate_email

    try:
        # Syntax only: a DNS lookup per recipient is slow, and bounces report the rest.
        validated = validate_email(address, check_deliverability=False)
    except EmailNotValidError as exc:
        raise PermanentError(INVALID_ADDRESS, f"email {address!r}: {exc}") from None
    return validated.normalized


def _invalid_phone(address: str, why: str) -> PermanentError:
    return PermanentError(INVALID_ADDRESS, f"phone number {address!r}: {why}")
