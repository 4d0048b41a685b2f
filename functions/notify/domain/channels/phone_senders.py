"""The sender rules of the channels that send from a phone number or an origination identity."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from notify.domain.addresses import normalize_whatsapp
from notify.domain.channels.channel import InvalidSender
from notify.domain.errors import PermanentError


def origination_identity(text: str) -> str:
    """An origination identity as End User Messaging names it: a number, pool, sender id, ARN."""
    identity = text.strip()
    if not identity or any(character.isspace() for character in identity):
        raise InvalidSender(f"origination identity {text!r}: one word, e.g. pool-… or +1…")
    return identity


def whatsapp_number(text: str) -> str:
    """`whatsapp:+E164`, from that form or a bare +number."""
    try:
        return normalize_whatsapp(text)
    except PermanentError as exc:
        raise InvalidSender(f"WhatsApp number {text!r}: {exc.detail}") from None


def listed_in(
    name: str, canonical: Callable[[str], str]
) -> Callable[[Mapping[str, frozenset[str]], str | None], bool]:
    """The rule "the sender, in its canonical form, is on the list `name`"."""

    def allows(listed: Mapping[str, frozenset[str]], sender: str | None) -> bool:
        if sender is None:
            return False
        try:
            return canonical(sender) in listed.get(name, ())
        except InvalidSender:
            return False

    return allows
