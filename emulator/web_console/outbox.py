"""The outbox as the console shows it: filtered, newest first, each message ready to render."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from emulator.providers import SentMessage
from notify.domain.errors import PermanentError
from notify.domain.sms_encoding import sms_segments

# Channels shown as a conversation (a bubble from the sender); EMAIL is shown as a mail.
EMAIL = "EMAIL"
SMS = "SMS"


@dataclass(frozen=True)
class OutboxFilter:
    """The outbox page's form: each field empty means "any"."""

    channel: str = ""
    address: str = ""  # part of the recipient's or the sender's address
    trace: str = ""  # the exact TraceId

    @classmethod
    def from_args(cls, args: Any) -> OutboxFilter:
        return cls(
            channel=args.get("channel", "").strip().upper(),
            address=args.get("address", "").strip(),
            trace=args.get("trace", "").strip(),
        )

    def accepts(self, message: SentMessage) -> bool:
        if self.channel and message.channel != self.channel:
            return False
        if self.trace and message.trace_id != self.trace:
            return False
        needle = self.address.lower()
        return not needle or any(needle in (a or "").lower() for a in (message.to, message.sender))


def newest_first(messages: list[SentMessage], after: int, keep: OutboxFilter) -> list[SentMessage]:
    """The messages from position `after` on that the filter keeps, the newest first.

    The outbox only grows, so a page that has shown `after` messages asks for the rest.
    """
    return [message for message in reversed(messages[after:]) if keep.accepts(message)]


def message_view(message: SentMessage) -> dict[str, Any]:
    """What the page shows of one message; an SMS also its segments and encoding."""
    view = message.to_dict()
    view["conversation"] = message.channel != EMAIL
    if message.channel == SMS and message.body:
        try:
            view["segments"] = sms_segments(message.body)
        except PermanentError:  # the provider took it, so it has a body; shown without count
            view["segments"] = None
    return view
