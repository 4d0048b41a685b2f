"""SES's event publishing, routed by EventBridge to the inbound queue: a delivery status.

The TraceId comes back as the email tag the sender put on the message.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from notify.domain.provider_events import DeliveryUpdate, Ignored

PROVIDER = "ses"

# SES event publishing's eventType -> our status (Open, Click, Subscription are not tracked).
_STATUSES = {
    "Send": "sent",
    "DeliveryDelay": "delayed",
    "Delivery": "delivered",
    "Bounce": "bounced",
    "Complaint": "complained",
    "Reject": "failed",
    "Rendering Failure": "failed",
    "RenderingFailure": "failed",
}


def parse_event(event: dict[str, Any]) -> DeliveryUpdate | Ignored:
    """An SES event (EventBridge's envelope, SES's event in `detail`) as our status."""
    detail = event["detail"]
    event_type = str(detail.get("eventType") or detail.get("notificationType") or "")
    mail = detail.get("mail") or {}
    message_id = mail.get("messageId")
    if not message_id:
        raise ValueError("an SES event needs detail.mail.messageId")
    status = _STATUSES.get(event_type)
    if status is None:
        return Ignored(
            f"{PROVIDER}:{message_id}:{event_type}", f"SES {event_type!r} is not tracked"
        )
    complained: tuple[str, ...] = ()
    error_code = None
    if event_type == "Bounce":
        bounce = detail.get("bounce") or {}
        error_code = "/".join(filter(None, (bounce.get("bounceType"), bounce.get("bounceSubType"))))
    elif event_type == "Complaint":
        complaint = detail.get("complaint") or {}
        error_code = complaint.get("complaintFeedbackType")
        complained = tuple(
            r["emailAddress"]
            for r in complaint.get("complainedRecipients", [])
            if "emailAddress" in r
        )
    elif event_type == "Reject":
        error_code = (detail.get("reject") or {}).get("reason")
    elif status == "failed":
        error_code = (detail.get("failure") or {}).get("errorMessage") or event_type
    return DeliveryUpdate(
        provider=PROVIDER,
        provider_message_id=str(message_id),
        status=status,
        at=str(event.get("time") or mail.get("timestamp") or datetime.now(UTC).isoformat()),
        error_code=error_code or None,
        event=event_type,
        complained=complained,
        trace_id=_first((mail.get("tags") or {}).get("TraceId")),
    )


def _first(values: Any) -> str | None:
    # SES publishes each tag as a list of values.
    if isinstance(values, list):
        return str(values[0]) if values else None
    return str(values) if values else None
