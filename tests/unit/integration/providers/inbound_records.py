"""Inbound queue records (the webhook's Twilio envelope, SES and End User Messaging events)."""

from __future__ import annotations

import json
from typing import Any

from notify.integration.providers.twilio.events import twilio_envelope

RECEIVED_AT = "2026-11-24T10:00:00.000000+00:00"


def twilio(params: dict[str, Any], query: dict[str, str] | None = None) -> str:
    return twilio_envelope(params, query or {}, "application/x-www-form-urlencoded", RECEIVED_AT)


def inbound(body: str, sender: str = "whatsapp:+16048621234", sid: str = "SM1") -> str:
    return twilio({"MessageSid": sid, "From": sender, "To": "whatsapp:+14155238886", "Body": body})


def ses_event(event_type: str, detail_type: str, **extra: Any) -> str:
    return json.dumps(
        {
            "version": "0",
            "id": "e-1",
            "detail-type": detail_type,
            "source": "aws.ses",
            "time": "2026-11-24T10:00:05Z",
            "detail": {
                "eventType": event_type,
                "mail": {
                    "messageId": "ses-1",
                    "timestamp": "2026-11-24T10:00:00Z",
                    "destination": ["user@example.com"],
                    "tags": {"TraceId": ["trace-7"], "ses:configuration-set": ["messaging-email"]},
                },
                **extra,
            },
        }
    )


def end_user_messaging_event(event_type: str, **extra: Any) -> dict[str, Any]:
    """A text or voice event as SNS delivers it raw (its TraceId in `context`)."""
    return {
        "eventType": event_type,
        "eventVersion": "1.0",
        "eventTimestamp": 1795514400000,
        "isFinal": True,
        "originationPhoneNumber": "+12065550152",
        "destinationPhoneNumber": "+16048621234",
        "messageId": "sms-1",
        "messageStatus": "DELIVERED",
        "context": {"TraceId": "trace-8"},
        **extra,
    }
