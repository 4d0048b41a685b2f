"""Keywords, opt-out addresses, and what handling does with each kind of inbound record."""

from __future__ import annotations

from dataclasses import dataclass, field

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
from notify.domain.provider_events import DeliveryUpdate, InboundMessage, RecipientNotRecorded
from notify.integration.providers import parse_record
from tests.unit.integration.providers.inbound_records import inbound, ses_event, twilio


# ---------------------------------------------------------------- keywords
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


def test_an_email_opt_out_address_is_lower_cased_and_a_whatsapp_one_is_e164():
    assert opt_out_address("EMAIL", " User@Example.COM ") == "user@example.com"
    assert opt_out_address("WHATSAPP", "whatsapp:+16048621234") == "+16048621234"
    assert opt_out_address("SMS", "+16048621234") == "+16048621234"


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
