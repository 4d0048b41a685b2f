"""The three inbound record shapes (Twilio envelope, SES and SMS events), parsed."""

from __future__ import annotations

import json

import pytest

from notify.domain.provider_events import (
    DELIVERY_RANKS,
    DeliveryUpdate,
    Ignored,
    InboundMessage,
    parse_record,
    sender_channel,
)
from tests.unit.domain.inbound_records import RECEIVED_AT, ses_event, sms_event, twilio


@pytest.mark.parametrize(
    ("sender", "expected"),
    [
        pytest.param("whatsapp:+16048621234", ("+16048621234", "WHATSAPP"), id="whatsapp"),
        pytest.param("WhatsApp:+16048621234", ("+16048621234", "WHATSAPP"), id="prefix case"),
        pytest.param("+16048621234", ("+16048621234", "SMS"), id="sms"),
        pytest.param("+1 604-862-1234", ("+16048621234", "SMS"), id="sms normalised"),
        pytest.param("12345", ("12345", "SMS"), id="short code kept"),
    ],
)
def test_the_sender_gives_the_address_and_channel(sender, expected):
    assert sender_channel(sender) == expected


def test_a_complaint_ranks_above_a_delivery_and_read_is_last():
    assert DELIVERY_RANKS["queued"] < DELIVERY_RANKS["sending"] < DELIVERY_RANKS["sent"]
    assert DELIVERY_RANKS["sent"] < DELIVERY_RANKS["delivered"] == DELIVERY_RANKS["failed"]
    assert DELIVERY_RANKS["delivered"] < DELIVERY_RANKS["complained"] == DELIVERY_RANKS["read"]


# ---------------------------------------------------------------- parsing
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


@pytest.mark.parametrize(
    ("event_type", "detail_type", "extra", "status", "error"),
    [
        pytest.param("Delivery", "Email Delivered", {}, "delivered", None, id="delivery"),
        pytest.param("Send", "Email Sent", {}, "sent", None, id="send"),
        pytest.param(
            "Bounce",
            "Email Bounced",
            {"bounce": {"bounceType": "Permanent", "bounceSubType": "General"}},
            "bounced",
            "Permanent/General",
            id="bounce",
        ),
        pytest.param(
            "Complaint",
            "Email Complaint Received",
            {
                "complaint": {
                    "complaintFeedbackType": "abuse",
                    "complainedRecipients": [{"emailAddress": "user@example.com"}],
                }
            },
            "complained",
            "abuse",
            id="complaint",
        ),
        pytest.param(
            "Reject",
            "Email Rejected",
            {"reject": {"reason": "Bad content"}},
            "failed",
            "Bad content",
            id="reject",
        ),
        pytest.param(
            "Rendering Failure",
            "Email Rendering Failed",
            {"failure": {"errorMessage": "missing attribute"}},
            "failed",
            "missing attribute",
            id="rendering failure",
        ),
    ],
)
def test_an_ses_event_from_eventbridge_maps_to_a_status(
    event_type, detail_type, extra, status, error
):
    update = parse_record(ses_event(event_type, detail_type, **extra))

    assert isinstance(update, DeliveryUpdate)
    assert (update.provider, update.provider_message_id) == ("ses", "ses-1")
    assert (update.status, update.error_code) == (status, error)
    assert update.trace_id == "trace-7"
    assert update.at == "2026-11-24T10:00:05Z"


def test_an_ses_complaint_names_the_addresses_to_opt_out():
    update = parse_record(
        ses_event(
            "Complaint",
            "Email Complaint Received",
            complaint={"complainedRecipients": [{"emailAddress": "User@Example.com"}]},
        )
    )

    assert update.complained == ("User@Example.com",)


def test_an_ses_open_is_ignored():
    assert isinstance(parse_record(ses_event("Open", "Email Opened")), Ignored)


@pytest.mark.parametrize(
    ("event_type", "status", "error"),
    [
        pytest.param("TEXT_DELIVERED", "delivered", None, id="delivered"),
        pytest.param("TEXT_SUCCESSFUL", "delivered", None, id="successful"),
        pytest.param("TEXT_QUEUED", "queued", None, id="queued"),
        pytest.param("TEXT_PENDING", "sending", None, id="pending"),
        pytest.param("TEXT_BLOCKED", "failed", "TEXT_BLOCKED", id="blocked"),
        pytest.param(
            "TEXT_CARRIER_UNREACHABLE", "failed", "TEXT_CARRIER_UNREACHABLE", id="carrier"
        ),
        pytest.param("TEXT_SPAM", "failed", "TEXT_SPAM", id="spam"),
    ],
)
def test_an_sms_event_delivered_raw_by_sns_maps_to_a_status(event_type, status, error):
    update = parse_record(json.dumps(sms_event(event_type)))

    assert (update.provider, update.provider_message_id) == ("sms", "sms-1")
    assert (update.status, update.error_code) == (status, error)
    assert update.trace_id == "trace-8"
    assert update.at == "2026-11-24T10:00:00+00:00"


def test_an_sms_event_in_an_sns_envelope_is_unwrapped():
    envelope = {"Type": "Notification", "Message": json.dumps(sms_event("TEXT_DELIVERED"))}

    assert parse_record(json.dumps(envelope)).status == "delivered"


def test_a_voice_event_is_ignored():
    assert isinstance(parse_record(json.dumps(sms_event("VOICE_COMPLETED"))), Ignored)


@pytest.mark.parametrize(
    "body",
    [
        pytest.param("not json", id="not json"),
        pytest.param("[1, 2]", id="not an object"),
        pytest.param('{"hello": "world"}', id="no known shape"),
        pytest.param('{"Source": "twilio", "Params": {}}', id="twilio without a sid"),
    ],
)
def test_an_unknown_record_is_refused(body):
    with pytest.raises(ValueError, match=r"inbound record|MessageSid"):
        parse_record(body)
