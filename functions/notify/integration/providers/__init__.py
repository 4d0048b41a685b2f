"""The providers, one package each: its send client, its errors, its status events.

ses/                  Amazon SES v2 (EMAIL)
end_user_messaging/   AWS End User Messaging SMS and Voice v2 (SMS, VOICE)
twilio/               Twilio's Messages API and webhook (WHATSAPP)
simulator.py          the test provider of test keys' requests (every channel): reaches no one

`parse_record` tells which provider a record of the inbound queue comes from and hands it
to that provider's parser. Three shapes arrive: the webhook's Twilio envelope (an inbound
message or a status callback), an SES event routed by EventBridge, and an End User
Messaging event delivered raw by SNS.
"""

from __future__ import annotations

import json

from notify.domain.provider_events import InboundEvent


def parse_record(body: str) -> InboundEvent:
    """Recognise one inbound queue message. ValueError when it is none of the three shapes."""
    try:
        record = json.loads(body)
    except ValueError as exc:
        raise ValueError(f"the inbound record is not JSON ({exc})") from exc
    if not isinstance(record, dict):
        raise ValueError("the inbound record is not a JSON object")
    if record.get("Type") == "Notification" and isinstance(record.get("Message"), str):
        return parse_record(record["Message"])  # an SNS envelope (raw delivery turned off)
    # Each provider's parser is imported when its record arrives: importing a provider's
    # package loads its SDK, and twilio's ships only in the functions that call Twilio,
    # while every send function imports this package (the parent of its provider's).
    if record.get("Source") == "twilio":
        from notify.integration.providers.twilio.events import parse_envelope

        return parse_envelope(record)
    if record.get("source") == "aws.ses" and isinstance(record.get("detail"), dict):
        from notify.integration.providers.ses.events import parse_event as parse_ses

        return parse_ses(record)
    if "eventType" in record and "messageId" in record:
        from notify.integration.providers.end_user_messaging.events import parse_event

        return parse_event(record)
    raise ValueError(
        "the inbound record is neither a Twilio envelope, an SES nor an End User Messaging event"
    )
