"""What the webhook queues for Twilio's requests, read back: an inbound message or a status."""

from __future__ import annotations

import json

from notify.domain.provider_events import DeliveryUpdate, Ignored, InboundMessage
from notify.integration.providers import parse_record
from notify.integration.providers.twilio.events import twilio_envelope
from tests.unit.integration.providers.inbound_records import RECEIVED_AT, twilio


def test_the_envelope_keeps_the_verified_request_as_it_arrived():
    envelope = twilio_envelope({"MessageSid": "SM1"}, {"TraceId": "t1"}, "application/json", "now")

    assert json.loads(envelope) == {
        "Source": "twilio",
        "ContentType": "application/json",
        "ReceivedAt": "now",
        "Params": {"MessageSid": "SM1"},
        "Query": {"TraceId": "t1"},
    }


def test_a_twilio_inbound_message_is_parsed_with_its_channel_and_media():
    body = twilio(
        {
            "MessageSid": "SM123",
            "From": "whatsapp:+16048621234",
            "To": "whatsapp:+14155238886",
            "Body": "Hi coach",
            "NumMedia": "1",
            "MediaUrl0": "https://api.twilio.com/media/ME1",
            "ProfileName": "Pat",
        }
    )

    message = parse_record(body)

    assert message == InboundMessage(
        message_sid="SM123",
        sender="whatsapp:+16048621234",
        to="whatsapp:+14155238886",
        body="Hi coach",
        received_at=RECEIVED_AT,
        media=("https://api.twilio.com/media/ME1",),
        profile_name="Pat",
    )
    assert message.key == "twilio:SM123"
    assert message.event_detail() == {
        "From": "whatsapp:+16048621234",
        "To": "whatsapp:+14155238886",
        "Body": "Hi coach",
        "Channel": "WHATSAPP",
        "Address": "+16048621234",
        "MessageSid": "SM123",
        "ReceivedAt": RECEIVED_AT,
        "Media": ["https://api.twilio.com/media/ME1"],
        "ProfileName": "Pat",
    }


def test_a_media_count_that_is_not_a_number_means_no_media():
    message = parse_record(twilio({"MessageSid": "SM1", "Body": "hi", "NumMedia": "lots"}))

    assert message.media == ()


def test_a_twilio_status_callback_is_keyed_by_sid_and_status():
    sent = parse_record(twilio({"MessageSid": "SM9", "MessageStatus": "sent"}, {"TraceId": "t1"}))
    failed = parse_record(
        twilio({"MessageSid": "SM9", "MessageStatus": "undelivered", "ErrorCode": "30003"})
    )

    assert sent == DeliveryUpdate("twilio", "SM9", "sent", RECEIVED_AT, trace_id="t1")
    assert failed.error_code == "30003"
    assert failed.trace_id is None
    assert sent.key != failed.key
    assert sent.key == parse_record(twilio({"MessageSid": "SM9", "MessageStatus": "sent"})).key


def test_an_untracked_twilio_status_is_ignored():
    event = parse_record(twilio({"MessageSid": "SM9", "MessageStatus": "receiving"}))

    assert isinstance(event, Ignored)
