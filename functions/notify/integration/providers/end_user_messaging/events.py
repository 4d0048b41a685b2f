"""End User Messaging's text and voice events, delivered raw by SNS: a delivery status.

The TraceId comes back in `context`, where the senders put it. Event types:
https://docs.aws.amazon.com/sms-voice/latest/userguide/configuration-sets-event-types.html
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from notify.domain.provider_events import DeliveryUpdate, Ignored

TEXT_PREFIX, VOICE_PREFIX = "TEXT_", "VOICE_"
# The provider a DeliveryUpdate names: its key, not how the recipient is found (that is
# the provider's message id alone, the same lookup for a text and a call).
TEXT_PROVIDER, VOICE_PROVIDER = "sms", "voice"

# eventType -> our status; every other TEXT_* or VOICE_* event is a failure.
_TEXT_STATUSES = {
    "TEXT_QUEUED": "queued",
    "TEXT_PENDING": "sending",
    "TEXT_SUCCESSFUL": "delivered",
    "TEXT_DELIVERED": "delivered",
}
_VOICE_STATUSES = {
    "VOICE_INITIATED": "queued",
    "VOICE_RINGING": "sending",
    # Picked up: the call reached the person's line (or voicemail), further than ringing,
    # and it ranks above it, so a late VOICE_RINGING cannot hide that it was answered.
    "VOICE_ANSWERED": "sent",
    # The message was played, perhaps to a voicemail system: as far as a call is delivered.
    "VOICE_COMPLETED": "delivered",
}
# VOICE_BUSY, VOICE_NO_ANSWER, VOICE_FAILED, VOICE_TTL_EXPIRED and any new one: failed.


def parse_event(event: dict[str, Any]) -> DeliveryUpdate | Ignored:
    """A text or voice event as our status; an MMS or other event is ignored."""
    event_type = str(event["eventType"])
    if event_type.startswith(TEXT_PREFIX):
        provider, statuses = TEXT_PROVIDER, _TEXT_STATUSES
    elif event_type.startswith(VOICE_PREFIX):
        provider, statuses = VOICE_PROVIDER, _VOICE_STATUSES
    else:
        return Ignored(
            f"{TEXT_PROVIDER}:{event['messageId']}:{event_type}", "not a text or voice event"
        )
    status = statuses.get(event_type, "failed")
    timestamp = event.get("eventTimestamp")
    at = (
        datetime.fromtimestamp(timestamp / 1000, UTC)
        if isinstance(timestamp, int | float)
        else datetime.now(UTC)
    )
    return DeliveryUpdate(
        provider=provider,
        provider_message_id=str(event["messageId"]),
        status=status,
        at=at.isoformat(),
        error_code=event_type if status == "failed" else None,
        event=event_type,
        trace_id=(event.get("context") or {}).get("TraceId") or None,
    )
