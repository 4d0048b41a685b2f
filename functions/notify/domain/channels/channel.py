"""What a channel is: the one entry the rest of the service reads about it.

Plan, triggers, the send functions, the sender rules, the inbound keywords, the local
stack's providers and the CLI all ask the registry (`notify.domain.channels`) rather
than naming EMAIL, SMS, WHATSAPP or VOICE themselves.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from notify.domain.compose import Delivery
    from notify.domain.templates import TemplateSource, TemplateUsed


class InvalidSender(ValueError):
    """A sender an operator wrote that cannot be listed (the message says why)."""


class Message(Protocol):
    """A rendered message, ready for its provider."""

    to: str
    template: TemplateUsed | None  # the stored template it was rendered from (None: inline)

    @property
    def sender(self) -> str | None:
        """Whom it is sent from, as the tenant's allowed senders list it (None: the account's)."""
        ...

    def details(self) -> dict[str, Any]:
        """What the SENT outcome records beside the provider's id (an SMS's segments)."""
        ...


Compose = Callable[["Delivery", "TemplateSource", str], Message]


@dataclass(frozen=True)
class SenderList:
    """One list of a tenant's allowed senders (`messaging senders allow --<option>`)."""

    name: str  # its attribute on the tenant's SENDERS item and in `senders list --json`
    option: str  # the CLI option, without dashes
    label: str  # how `messaging senders` shows the list
    help: str
    canonical: Callable[[str], str]  # the compared form; InvalidSender when it has none


@dataclass(frozen=True)
class Channel:
    """One channel: its request block, address rule, sender rule, renderer and budget."""

    name: str  # the ChannelType
    block: str  # the request's block for it, e.g. "SMSMessage"
    sender_field: str  # the block's field naming the sender, e.g. "OriginationNumber"
    # An address becomes part of DynamoDB keys (at most 1 KB): the API's schema bounds it.
    address_limit: int
    # The form the provider is given and every key uses; PermanentError(InvalidAddress).
    canonical_address: Callable[[str], str]
    compose: Compose
    sender_lists: tuple[SenderList, ...]
    # Whether `listed` (list name -> canonical senders) allows `sender`.
    allows: Callable[[Mapping[str, frozenset[str]], str | None], bool]
    # Which entry of the stack's DefaultSenders is this channel's: (list name, value) or None.
    default_sender: Callable[[str], tuple[str, str] | None]
    # Messages per second the provider takes by default (the send budget's default).
    send_rate: int
    # Whether STOP/START/HELP arrive on this channel (someone can text back).
    keywords: bool = False
    # Channels whose inbound STOP also opts a person out of this one (a call cannot be
    # answered with STOP; a text to the same number can).
    opted_out_by: tuple[str, ...] = ()
    # The block may name no sender: the provider's account picks one (an SMS).
    sender_optional: bool = False
    # Whose send budget a message spends: its sender's, in this form; None: the account's.
    budget_sender: Callable[[str], str] | None = None

    def budget_key(self, block: Mapping[str, Any]) -> str:
        """The send budget a message of this block spends: `EMAIL`, or e.g. `SMS#pool-1`."""
        if self.budget_sender is None:
            return self.name
        sender = block.get(self.sender_field)
        if not sender:
            return f"{self.name}#-"  # the account's own identity sends
        try:
            return f"{self.name}#{self.budget_sender(sender)}"
        except InvalidSender:  # refused when it is sent; its budget is its own meanwhile
            return f"{self.name}#{sender}"
