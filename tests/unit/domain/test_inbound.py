"""Keywords, senders, the three inbound record shapes, and what handling does with each."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pytest

from notify.domain.errors import OPTED_OUT, PermanentError, TransientError
from notify.domain.inbound import (
    HELP,
    OPT_IN,
    OPT_OUT,
    InboundHandling,
    classify_keyword,
    opt_out_address,
)
from notify.domain.provider_events import (
    DELIVERY_RANKS,
    DeliveryUpdate,
    Ignored,
    InboundMessage,
    RecipientNotRecorded,
    parse_record,
    sender_channel,
    twilio_envelope,
)

RECEIVED_AT = "2026-11-24T10:00:00.000000+00:00"


def twilio(params: dict[str, Any], query: dict[str, str] | None = None) -> str:
    return twilio_envelope(params, query or {}, "application/x-www-form-urlencoded", RECEIVED_AT)


def inbound(body: str, sender: str = "whatsapp:+16048621234", sid: str = "SM1") -> str:
    return twilio({"MessageSid": sid, "From": sender, "To": "whatsapp:+14155238886", "Body": body})


# ---------------------------------------------------------------- keywords and senders
@pytest.mark.parametrize(
    ("body", "expected"),
    [
        *[pytest.param(w, OPT_OUT, id=w) for w in ["STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL"]],
        *[pytest.param(w, OPT_OUT, id=w) for w in ["END", "QUIT"]],
        *[pytest.param(w, OPT_IN, id=w) for w in ["START", "YES", "UNSTOP"]],
        pytest.param("HELP", HELP, id="HELP"),
        pytest.param("  stop \n", OPT_OUT, id="lower case with spaces"),
        pytest.param("Stop!", OPT_OUT, id="trailing punctuation"),
        pytest.param("start.", OPT_IN, id="start with a full stop"),
        pytest.param("please stop", None, id="a keyword inside a sentence"),
        pytest.param("STOPPED", None, id="a longer word"),
        pytest.param("", None, id="empty"),
        pytest.param("Yes, my son will play", None, id="yes in a sentence"),
    ],
)
def test_a_keyword_is_the_whole_message_in_any_case(body, expected):
    assert classify_keyword(body) == expected


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


def test_an_email_opt_out_address_is_lower_cased_and_a_whatsapp_one_is_e164():
    assert opt_out_address("EMAIL", " User@Example.COM ") == "user@example.com"
    assert opt_out_address("WHATSAPP", "whatsapp:+16048621234") == "+16048621234"
    assert opt_out_address("SMS", "+16048621234") == "+16048621234"


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


def sms_event(event_type: str, **extra: Any) -> dict[str, Any]:
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


# ---------------------------------------------------------------- handling
@dataclass
class Fakes:
    opted_out: dict[tuple[str, str], str] = field(default_factory=dict)
    statuses: list[DeliveryUpdate] = field(default_factory=list)
    published: list[InboundMessage] = field(default_factory=list)
    replies: list[tuple[str, str, str]] = field(default_factory=list)
    recorded: set[str] = field(default_factory=set)
    reply_error: Exception | None = None

    def opt_out(self, address: str, channel: str, at: str, keyword: str) -> bool:
        self.opted_out[(address, channel)] = keyword
        return True

    def opt_in(self, address: str, channel: str, at: str) -> bool:
        self.opted_out.pop((address, channel), None)
        return True

    def record_delivery(self, update: DeliveryUpdate) -> int:
        if update.provider_message_id not in self.recorded:
            raise RecipientNotRecorded(update.provider_message_id)
        self.statuses.append(update)
        return 1

    def publish(self, message: InboundMessage) -> str:
        self.published.append(message)
        return "event-1"

    def reply(self, to: str, sender: str, body: str) -> str:
        if self.reply_error:
            raise self.reply_error
        self.replies.append((to, sender, body))
        return "SMreply"


@pytest.fixture
def fakes() -> Fakes:
    return Fakes()


@pytest.fixture
def handling(fakes) -> InboundHandling:
    return InboundHandling(fakes, fakes, fakes, fakes, "Reply STOP to stop.")


def test_stop_opts_the_sender_out_of_that_channel_only(handling, fakes):
    outcome = handling.handle(parse_record(inbound("Stop")))

    assert outcome.action == "opted-out"
    assert fakes.opted_out == {("+16048621234", "WHATSAPP"): "STOP"}
    assert fakes.published == []


def test_start_opts_the_sender_back_in(handling, fakes):
    handling.handle(parse_record(inbound("STOP", sender="+16048621234", sid="SM1")))
    assert ("+16048621234", "SMS") in fakes.opted_out

    outcome = handling.handle(parse_record(inbound("start", sender="+16048621234", sid="SM2")))

    assert outcome.action == "opted-in"
    assert fakes.opted_out == {}


def test_help_replies_on_the_same_channel_from_the_number_written_to(handling, fakes):
    outcome = handling.handle(parse_record(inbound("help")))

    assert outcome.action == "help-replied"
    assert fakes.replies == [
        ("whatsapp:+16048621234", "whatsapp:+14155238886", "Reply STOP to stop.")
    ]


def test_a_help_reply_refused_for_good_is_not_retried_but_a_transient_one_is(handling, fakes):
    fakes.reply_error = PermanentError(OPTED_OUT, "blocked")
    assert handling.handle(parse_record(inbound("HELP"))).action == "help-refused"

    fakes.reply_error = TransientError("Throttled", "slow down")
    with pytest.raises(TransientError):
        handling.handle(parse_record(inbound("HELP")))


def test_any_other_message_is_published(handling, fakes):
    outcome = handling.handle(parse_record(inbound("My son Sam will play")))

    assert (outcome.action, outcome.detail) == ("published", "event-1")
    assert [m.body for m in fakes.published] == ["My son Sam will play"]


def test_a_status_of_a_recorded_send_is_recorded(handling, fakes):
    fakes.recorded.add("SM9")

    outcome = handling.handle(parse_record(twilio({"MessageSid": "SM9", "MessageStatus": "read"})))

    assert (outcome.action, outcome.detail) == ("status-recorded", "read")


def test_a_status_of_our_send_not_yet_recorded_is_retried(handling):
    update = parse_record(twilio({"MessageSid": "SM9", "MessageStatus": "sent"}, {"TraceId": "t"}))

    with pytest.raises(RecipientNotRecorded):
        handling.handle(update)


def test_a_status_of_a_message_we_did_not_send_is_dropped(handling):
    update = parse_record(twilio({"MessageSid": "SMx", "MessageStatus": "sent"}))

    assert handling.handle(update).action == "ignored"


def test_a_complaint_opts_the_email_address_out(handling, fakes):
    fakes.recorded.add("ses-1")
    complaint = ses_event(
        "Complaint",
        "Email Complaint Received",
        complaint={"complainedRecipients": [{"emailAddress": "User@Example.com"}]},
    )

    handling.handle(parse_record(complaint))

    assert fakes.opted_out == {("user@example.com", "EMAIL"): "COMPLAINT"}
    assert [s.status for s in fakes.statuses] == ["complained"]
