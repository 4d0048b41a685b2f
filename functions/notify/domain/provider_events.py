"""What the providers send back, as it reaches the inbound queue, parsed.

Three record shapes arrive: the webhook's Twilio envelope (an inbound message or a
status callback), an SES event routed by EventBridge, and an End User Messaging SMS
event delivered raw by SNS. Each is parsed into one of three kinds: an inbound
message, a delivery status update, or something to ignore.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from notify.domain.addresses import WHATSAPP_PREFIX, normalize_phone
from notify.domain.errors import PermanentError

# A later state never goes back; of two states of equal rank the first one recorded wins.
# A complaint always follows a delivery, so it ranks above it (with WhatsApp's "read").
DELIVERY_RANKS = {
    "queued": 1,
    "accepted": 1,
    "scheduled": 1,
    "sending": 2,
    "delayed": 2,
    "sent": 3,
    "delivered": 4,
    "undelivered": 4,
    "failed": 4,
    "canceled": 4,
    "bounced": 4,
    "complained": 5,
    "read": 5,
}

# SES event publishing's eventType -> our status (Open, Click, Subscription are not tracked).
_SES_STATUSES = {
    "Send": "sent",
    "DeliveryDelay": "delayed",
    "Delivery": "delivered",
    "Bounce": "bounced",
    "Complaint": "complained",
    "Reject": "failed",
    "Rendering Failure": "failed",
    "RenderingFailure": "failed",
}
# End User Messaging SMS eventType -> our status; every other TEXT_* event is a failure.
_SMS_STATUSES = {
    "TEXT_QUEUED": "queued",
    "TEXT_PENDING": "sending",
    "TEXT_SUCCESSFUL": "delivered",
    "TEXT_DELIVERED": "delivered",
}


class RecipientNotRecorded(Exception):
    """A status for a message whose recipient is not on a trace yet: retry it later.

    Providers can report a delivery before the state machine has recorded the send.
    """


# ---------------------------------------------------------------- the parsed kinds
@dataclass(frozen=True)
class InboundMessage:
    """A message someone sent to one of our numbers."""

    message_sid: str
    sender: str  # as the provider gave it: "+E164" or "whatsapp:+E164"
    to: str
    body: str
    received_at: str
    media: tuple[str, ...] = ()
    profile_name: str | None = None

    @property
    def key(self) -> str:
        return f"twilio:{self.message_sid}"

    @property
    def channel(self) -> str:
        return sender_channel(self.sender)[1]

    @property
    def address(self) -> str:
        return sender_channel(self.sender)[0]

    def event_detail(self) -> dict[str, Any]:
        detail: dict[str, Any] = {
            "From": self.sender,
            "To": self.to,
            "Body": self.body,
            "Channel": self.channel,
            "Address": self.address,
            "MessageSid": self.message_sid,
            "ReceivedAt": self.received_at,
        }
        if self.media:
            detail["Media"] = list(self.media)
        if self.profile_name:
            detail["ProfileName"] = self.profile_name
        return detail


@dataclass(frozen=True)
class DeliveryUpdate:
    """A provider's word on one message we sent."""

    provider: str  # twilio | ses | sms
    provider_message_id: str
    status: str
    at: str
    error_code: str | None = None
    event: str = ""  # the provider's own name for it, to tell duplicates from news
    # The TraceId the send attached (callback URL, email tag, SMS context): a status for
    # one of our sends is retried until its recipient is recorded; any other is dropped.
    trace_id: str | None = None
    complained: tuple[str, ...] = field(default=())  # email addresses that complained

    @property
    def rank(self) -> int:
        return DELIVERY_RANKS[self.status]

    @property
    def key(self) -> str:
        return f"{self.provider}:{self.provider_message_id}:{self.event or self.status}"


@dataclass(frozen=True)
class Ignored:
    """A record we understand but do not act on (an SES open, a registration event, ...)."""

    key: str
    why: str


InboundEvent = InboundMessage | DeliveryUpdate | Ignored


def sender_channel(sender: str) -> tuple[str, str]:
    """(address, channel) of a Twilio From: `whatsapp:+E164` is WHATSAPP, `+E164` is SMS."""
    raw = sender.strip()
    channel = "SMS"
    if raw.lower().startswith(WHATSAPP_PREFIX):
        raw, channel = raw[len(WHATSAPP_PREFIX) :], "WHATSAPP"
    try:
        return normalize_phone(raw), channel
    except PermanentError:
        return raw, channel  # a short code or sender id: kept as the provider wrote it


# ---------------------------------------------------------------- parsing
def parse_record(body: str) -> InboundEvent:
    """Recognise one inbound queue message. ValueError when it is none of the three shapes."""
    try:
        message = json.loads(body)
    except ValueError as exc:
        raise ValueError(f"the inbound record is not JSON ({exc})") from exc
    if not isinstance(message, dict):
        raise ValueError("the inbound record is not a JSON object")
    if message.get("Type") == "Notification" and isinstance(message.get("Message"), str):
        return parse_record(message["Message"])  # an SNS envelope (raw delivery turned off)
    if message.get("Source") == "twilio":
        return _parse_twilio(message)
    if message.get("source") == "aws.ses" and isinstance(message.get("detail"), dict):
        return _parse_ses(message)
    if str(message.get("eventType", "")).startswith("TEXT_") and "messageId" in message:
        return _parse_sms(message)
    if "eventType" in message and "messageId" in message:
        return Ignored(f"sms:{message['messageId']}:{message['eventType']}", "not a text event")
    raise ValueError("the inbound record is neither a Twilio envelope, an SES nor an SMS event")


def twilio_envelope(
    params: dict[str, Any], query: dict[str, str], content_type: str, received_at: str
) -> str:
    """What the webhook queues: the verified request's parameters and query, as they arrived."""
    return json.dumps(
        {
            "Source": "twilio",
            "ContentType": content_type,
            "ReceivedAt": received_at,
            "Params": params,
            "Query": query,
        },
        separators=(",", ":"),
    )


def _parse_twilio(envelope: dict[str, Any]) -> InboundEvent:
    params = envelope.get("Params")
    if not isinstance(params, dict) or not params.get("MessageSid"):
        raise ValueError("a Twilio envelope needs Params with a MessageSid")
    sid = str(params["MessageSid"])
    received_at = str(envelope.get("ReceivedAt") or _now())
    status = params.get("MessageStatus")
    if status:
        status = str(status).lower()
        if status not in DELIVERY_RANKS:
            return Ignored(f"twilio:{sid}:{status}", f"status {status!r} is not tracked")
        return DeliveryUpdate(
            provider="twilio",
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


def _parse_ses(event: dict[str, Any]) -> InboundEvent:
    detail = event["detail"]
    event_type = str(detail.get("eventType") or detail.get("notificationType") or "")
    mail = detail.get("mail") or {}
    message_id = mail.get("messageId")
    if not message_id:
        raise ValueError("an SES event needs detail.mail.messageId")
    status = _SES_STATUSES.get(event_type)
    if status is None:
        return Ignored(f"ses:{message_id}:{event_type}", f"SES {event_type!r} is not tracked")
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
        provider="ses",
        provider_message_id=str(message_id),
        status=status,
        at=str(event.get("time") or mail.get("timestamp") or _now()),
        error_code=error_code or None,
        event=event_type,
        complained=complained,
        trace_id=_first((mail.get("tags") or {}).get("TraceId")),
    )


def _parse_sms(event: dict[str, Any]) -> DeliveryUpdate:
    event_type = str(event["eventType"])
    status = _SMS_STATUSES.get(event_type, "failed")
    timestamp = event.get("eventTimestamp")
    at = (
        datetime.fromtimestamp(timestamp / 1000, UTC).isoformat()
        if isinstance(timestamp, int | float)
        else _now()
    )
    return DeliveryUpdate(
        provider="sms",
        provider_message_id=str(event["messageId"]),
        status=status,
        at=at,
        error_code=event_type if status == "failed" else None,
        event=event_type,
        trace_id=(event.get("context") or {}).get("TraceId") or None,
    )


def _first(values: Any) -> str | None:
    # SES publishes each tag as a list of values.
    if isinstance(values, list):
        return str(values[0]) if values else None
    return str(values) if values else None


def _int(value: Any) -> int:
    try:
        return max(0, int(value))
    except (TypeError, ValueError):
        return 0


def _now() -> str:
    return datetime.now(UTC).isoformat()
