"""What to do with what comes back from the providers (each parsed by its `providers/` package).

Opt-out and opt-in keywords update the opt-outs, HELP is answered, delivery statuses
go on the recipient's trace, and every other inbound message is published. The
handling needs four collaborators, passed in: the opt-outs, the traces, an event
publisher and a replier.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol

from notify.domain.channels import CHANNELS
from notify.domain.errors import PermanentError
from notify.domain.provider_events import (
    DeliveryUpdate,
    Ignored,
    InboundEvent,
    InboundMessage,
    RecipientNotRecorded,
    sender_channel,
)

OPT_OUT_KEYWORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"})
OPT_IN_KEYWORDS = frozenset({"START", "YES", "UNSTOP"})
HELP_KEYWORDS = frozenset({"HELP"})
OPT_OUT, OPT_IN, HELP = "OPT_OUT", "OPT_IN", "HELP"

_TRAILING_PUNCTUATION = re.compile(r"[\s.!?]+$")


# ---------------------------------------------------------------- keywords and senders
def classify_keyword(body: str) -> str | None:
    """OPT_OUT, OPT_IN or HELP when the whole message is such a keyword, else None."""
    word = _TRAILING_PUNCTUATION.sub("", body.strip()).upper()
    if word in OPT_OUT_KEYWORDS:
        return OPT_OUT
    if word in OPT_IN_KEYWORDS:
        return OPT_IN
    if word in HELP_KEYWORDS:
        return HELP
    return None


def opted_out_together(channel: str) -> list[str]:
    """The channels a STOP (or START) received on `channel` applies to: itself, and those
    that cannot be answered themselves (a call is stopped by texting its number)."""
    together = [
        c.name for c in CHANNELS.values() if channel in c.opted_out_by and c.name != channel
    ]
    return [channel, *together]


def _channels_changed(changed: list[tuple[str, bool]]) -> str:
    """The channels, comma-separated; one where a later change was already recorded is `(stale)`."""
    return ", ".join(f"{c}{'' if done else ' (stale)'}" for c, done in changed)


def opt_out_address(channel: str, address: str) -> str:
    """The opt-outs table's Address for a recipient: E.164, or the lower-cased email."""
    if channel == "EMAIL":
        return address.strip().lower()
    return sender_channel(address)[0]


# ---------------------------------------------------------------- handling
class OptOuts(Protocol):
    def opt_out(self, address: str, channel: str, at: str, keyword: str) -> bool: ...
    def opt_in(self, address: str, channel: str, at: str) -> bool: ...


class DeliveryStatuses(Protocol):
    def record_delivery(self, update: DeliveryUpdate) -> int:
        """Apply to every recipient with this provider id; the number changed.

        Raises RecipientNotRecorded when no recipient has it yet.
        """
        ...


class InboundPublisher(Protocol):
    def publish(self, message: InboundMessage) -> str: ...


class Replier(Protocol):
    def reply(self, to: str, sender: str, body: str) -> str: ...


@dataclass(frozen=True)
class Outcome:
    """What handling one record did (returned by the Lambda, stored by idempotency)."""

    key: str
    action: str
    detail: str = ""

    def to_dict(self) -> dict[str, str]:
        return {"Key": self.key, "Action": self.action, "Detail": self.detail}


class InboundHandling:
    def __init__(
        self,
        opt_outs: OptOuts,
        statuses: DeliveryStatuses,
        publisher: InboundPublisher,
        replier: Replier,
        help_text: str,
    ) -> None:
        self._opt_outs = opt_outs
        self._statuses = statuses
        self._publisher = publisher
        self._replier = replier
        self._help_text = help_text

    def handle(self, event: InboundEvent) -> Outcome:
        if isinstance(event, Ignored):
            return Outcome(event.key, "ignored", event.why)
        if isinstance(event, DeliveryUpdate):
            return self._delivery(event)
        return self._message(event)

    def _message(self, message: InboundMessage) -> Outcome:
        keyword = classify_keyword(message.body)
        address, channel = message.address, message.channel
        if keyword == OPT_OUT:
            word = message.body.strip().upper()
            changed = [
                (c, self._opt_outs.opt_out(address, c, message.received_at, word))
                for c in opted_out_together(channel)
            ]
            return Outcome(message.key, "opted-out", _channels_changed(changed))
        if keyword == OPT_IN:
            changed = [
                (c, self._opt_outs.opt_in(address, c, message.received_at))
                for c in opted_out_together(channel)
            ]
            return Outcome(message.key, "opted-in", _channels_changed(changed))
        if keyword == HELP:
            try:
                reply_id = self._replier.reply(message.sender, message.to, self._help_text)
            except PermanentError as exc:  # retrying cannot help; a transient error retries
                return Outcome(message.key, "help-refused", exc.reason)
            return Outcome(message.key, "help-replied", reply_id)
        event_id = self._publisher.publish(message)
        return Outcome(message.key, "published", event_id)

    def _delivery(self, update: DeliveryUpdate) -> Outcome:
        for address in update.complained:
            self._opt_outs.opt_out(
                opt_out_address("EMAIL", address), "EMAIL", update.at, "COMPLAINT"
            )
        try:
            changed = self._statuses.record_delivery(update)
        except RecipientNotRecorded:
            if update.trace_id:
                raise  # ours, and the send is not recorded yet: the queue retries it
            return Outcome(update.key, "ignored", "not a message this service sent")
        action = "status-recorded" if changed else "status-stale"
        return Outcome(update.key, action, update.status)
