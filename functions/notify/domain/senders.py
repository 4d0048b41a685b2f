"""Which senders a tenant may send from: the rule the send functions apply before sending.

IAM lets the send functions use every SES identity and every origination identity of
the account, and the request names its sender (each channel's `sender_field`, e.g.
`EmailMessage.FromAddress`, `SMSMessage.OriginationNumber`). So each tenant's allowed
senders are listed (the channels' `sender_lists`, kept on the tenants table and managed
with `messaging senders`), and a sender off the tenant's list is a permanent error.

- A tenant with a list may use only what it lists, channel by channel: a channel with
  nothing listed has no sender for this tenant. An SMS without an OriginationNumber
  (`sender_optional`) would go out from whatever identity End User Messaging picks for
  the account, so under a list it is refused: the request must name one of the
  tenant's identities.
- A tenant without a list follows the stack's `UnlistedTenantSenders`: `defaults` (the
  default: only the stack's own `DefaultSenders`, so no tenant can borrow another's
  sender), `any` (one tenant, or tenants that trust each other) or `none` (every tenant
  must be listed). Under `defaults` an SMS without an OriginationNumber goes out from the
  identity End User Messaging picks for the account: the stack's own.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from notify.domain.channels import CHANNELS, DEFAULT_SENDER_ORDER, InvalidSender
from notify.domain.errors import SENDER_NOT_ALLOWED, PermanentError

__all__ = ["NO_SENDERS", "SENDER_LISTS", "AllowedSenders", "InvalidSender", "check_sender"]

# What a tenant without a list may send from (the UnlistedTenantSenders parameter).
DEFAULTS = "defaults"
ANY = "any"
NONE = "none"
UNLISTED_MODES = (DEFAULTS, ANY, NONE)

# Every channel's lists, by name (e.g. "EmailDomains"), in the registry's order.
SENDER_LISTS = {s.name: s for c in CHANNELS.values() for s in c.sender_lists}


@dataclass(frozen=True)
class AllowedSenders:
    """One tenant's lists (or the stack's DefaultSenders): list name -> canonical senders."""

    lists: Mapping[str, frozenset[str]] = field(default_factory=dict)

    @classmethod
    def from_lists(cls, lists: Mapping[str, Iterable[str]]) -> AllowedSenders:
        """From stored lists; a value in no canonical form is skipped, not fatal."""

        def listed(name: str) -> frozenset[str]:
            values = set()
            for value in lists.get(name, ()):
                try:
                    values.add(SENDER_LISTS[name].canonical(value))
                except InvalidSender:
                    continue  # written by hand: it can match nothing
            return frozenset(values)

        return cls({name: listed(name) for name in SENDER_LISTS if name in lists})

    def listed(self, name: str) -> frozenset[str]:
        """The senders on the list `name` (e.g. "EmailDomains"); none when it has none."""
        return self.lists.get(name, frozenset())

    def allows(self, channel: str, sender: str | None) -> bool:
        entry = CHANNELS.get(channel)
        return entry is not None and entry.allows(self.lists, sender)


NO_SENDERS = AllowedSenders()


def default_senders(entries: Iterable[str]) -> AllowedSenders:
    """The stack's DefaultSenders, each entry in the form that says whose it is.

    Each channel's `default_sender` recognises its own form (`name@domain`, `@domain`,
    `whatsapp:+E164`, ...); SMS, last, takes any other entry as an origination identity.
    Blank entries are skipped; InvalidSender otherwise.
    """
    found: dict[str, set[str]] = {}
    for entry in (e.strip() for e in entries):
        if not entry:
            continue
        for channel in DEFAULT_SENDER_ORDER:
            claimed = channel.default_sender(entry)
            if claimed is not None:
                found.setdefault(claimed[0], set()).add(claimed[1])
                break
    return AllowedSenders({name: frozenset(values) for name, values in found.items()})


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
            if (sender is None and _sender_optional(channel)) or defaults.allows(channel, sender):
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
    if sender is None and _sender_optional(channel):
        entry = CHANNELS[channel]
        raise PermanentError(
            SENDER_NOT_ALLOWED,
            f"tenant {owner} lists its {entry.sender_lists[0].label}: "
            f"name one of them as {entry.block}.{entry.sender_field}",
        )
    raise PermanentError(
        SENDER_NOT_ALLOWED, f"tenant {owner} may not send {channel} from {sender!r}"
    )


def _sender_optional(channel: str) -> bool:
    entry = CHANNELS.get(channel)
    return entry is not None and entry.sender_optional
