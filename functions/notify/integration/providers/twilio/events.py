"""What Twilio sends the webhook, as the webhook queues it and the inbound function reads it.

The envelope keeps the verified request's parameters and query as they arrived: an
inbound message (a reply, a STOP) or a status callback, whose query holds the TraceId
the sender put in its StatusCallback URL.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from notify.domain.provider_events import (
    DELIVERY_RANKS,
    DeliveryUpdate,
    Ignored,
    InboundEvent,
    InboundMessage,
)

PROVIDER = "twilio"


def twilio_envelope(
    params: dict[str, Any], query: dict[str, str], content_type: str, received_at: str
) -> str:
    """What the webhook queues: the verified request's parameters and query, as they arrived."""
    return json.dumps(
        {
            "Source": PROVIDER,
            "ContentType": content_type,
            "ReceivedAt": received_at,
            "Params": params,
            "Query": query,
        },
        separators=(",", ":"),
    )


def parse_envelope(envelope: dict[str, Any]) -> InboundEvent:
    """A status callback as our status, else the inbound message; ValueError without a sid."""
    params = envelope.get("Params")
    if not isinstance(params, dict) or not params.get("MessageSid"):
        raise ValueError("a Twilio envelope needs Params with a MessageSid")
    sid = str(params["MessageSid"])
    received_at = str(envelope.get("ReceivedAt") or datetime.now(UTC).isoformat())
    status = params.get("MessageStatus")
    if status:
        status = str(status).lower()
        if status not in DELIVERY_RANKS:
            return Ignored(f"{PROVIDER}:{sid}:{status}", f"status {status!r} is not tracked")
        return DeliveryUpdate(
            provider=PROVIDER,
            provider_message_id=sid,
            status=status,
            at=received_at,
            error_code=str(params["ErrorCode"]) if params.get("ErrorCode") else None,
            trace_id=(envelope.get("Query") or {}).get("TraceId") or None,
        )
    media_count = _int(params.get("NumMedia"))
    media = tuple(
        str(params[f"MediaUrl{i}"]) for i in range(media_count) if params.get(f"MediaUrl{i}")
    )
    return InboundMessage(
        message_sid=sid,
        sender=str(params.get("From", "")),
        to=str(params.get("To", "")),
        body=str(params.get("Body", "")),
        received_at=received_at,
        media=media,
        profile_name=params.get("ProfileName") or None,
    )


def _int(value: Any) -> int:
    try:
        return max(0, int(value))
    except (TypeError, ValueError):
        return 0
