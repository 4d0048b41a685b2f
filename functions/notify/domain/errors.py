"""The two kinds of failure the state machine tells apart.

The Lambda runtime reports an exception's class name as the error name, and the
ASL's Retry and Catch match on those names. So only these two classes are ever
raised (never subclasses): `TransientError` is retried, `PermanentError` is not.
The reason code says which permanent failure it was, for the trace and the DLQ.
Each provider's error codes are translated next to its client, in integration/.
One more name routes a success: `AwaitingDelivery` (a recipient sent, whose next channel
waits for its delivery receipt: FallbackAfterSeconds, see domain/fallback.py).
"""

from __future__ import annotations


class DeliveryError(Exception):
    """A failure to deliver to one recipient, with a reason code an operator can act on."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


class TransientError(DeliveryError):
    """Worth retrying: throttling, a provider's 5xx, a busy idempotency record."""


class PermanentError(DeliveryError):
    """Retrying cannot help: bad address, unknown template, missing variable, rejection."""


class AwaitingDelivery(Exception):
    """Sent; its next channel is to be tried later unless a delivery receipt comes first.

    Raised after the SENT outcome is recorded, so the happy path of a recipient with no
    such wait keeps its one Task state; the workflow records it AWAITING and Record
    schedules the next channel outside the execution.
    """


# Reason codes of permanent failures, as they appear in the trace and the DLQ.
INVALID_ADDRESS = "InvalidAddress"
INVALID_MESSAGE = "InvalidMessage"
MISSING_MESSAGE = "MissingMessage"
MISSING_VARIABLE = "MissingVariable"
TEMPLATE_NOT_FOUND = "TemplateNotFound"
PROVIDER_REJECTED = "ProviderRejected"
OPTED_OUT = "OptedOut"
OUTSIDE_SESSION_WINDOW = "OutsideSessionWindow"
SENDER_NOT_ALLOWED = "SenderNotAllowed"
# SendAt more than a year ahead: refused, never scheduled.
SEND_AT_OUT_OF_RANGE = "SendAtOutOfRange"
# FallbackAfterSeconds past a day: refused, nothing sent.
FALLBACK_AFTER_OUT_OF_RANGE = "FallbackAfterOutOfRange"
THROTTLED = "Throttled"
# Another attempt at the same recipient may still be at the provider: wait, then retry.
SEND_IN_PROGRESS = "SendInProgress"
PROVIDER_UNAVAILABLE = "ProviderUnavailable"
