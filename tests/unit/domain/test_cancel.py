"""Which channels a cancel stops, and what it answers."""

from __future__ import annotations

from notify.domain.cancel import answer, cancellable, channel_chains, statuses, verdict

WHATSAPP = ("WHATSAPP", "whatsapp:+447835065013")
SMS = ("SMS", "+447835065013")
EMAIL = ("EMAIL", "jane@example.com")


def test_chains_come_from_the_header_else_from_the_items():
    header = {"Recipients": [["WHATSAPP#whatsapp:+447835065013", "SMS#+447835065013"]]}
    item = {"ChannelType": "EMAIL", "Address": "jane@example.com"}

    assert channel_chains(header, [item]) == [[WHATSAPP, SMS]]
    assert channel_chains({}, [item]) == [[EMAIL]]


def test_a_recipient_sent_on_any_channel_has_nothing_to_cancel():
    known = statuses([{"ChannelType": "SMS", "Address": SMS[1], "Status": "SENT"}])

    assert cancellable([WHATSAPP, SMS], known) == []
    assert verdict([WHATSAPP, SMS], known, []) == "SENT"


def test_channels_not_begun_or_exhausted_are_cancelled_and_ended_ones_are_not():
    known = statuses(
        [
            {"ChannelType": "WHATSAPP", "Address": WHATSAPP[1], "Status": "REJECTED"},
            {"ChannelType": "SMS", "Address": SMS[1], "Status": "FAILED"},
        ]
    )

    assert cancellable([WHATSAPP, SMS, EMAIL], known) == [SMS, EMAIL]
    assert verdict([WHATSAPP, SMS], known, ["CANCELLED", "IN_FLIGHT"]) == "IN_FLIGHT"
    assert verdict([WHATSAPP, SMS], known, ["CANCELLED"]) == "CANCELLED"
    assert verdict([WHATSAPP], known, []) == "ENDED"


def test_the_answer_lists_what_was_cancelled_and_what_was_sent():
    code, body = answer("t-1", "RUNNING", [(EMAIL, "CANCELLED"), (SMS, "SENT")])

    assert code == 200
    assert body["Cancelled"] == [{"Address": EMAIL[1], "ChannelType": "EMAIL"}]
    assert body["Sent"] == [{"Address": SMS[1], "ChannelType": "SMS"}]


def test_nothing_left_to_cancel_is_a_conflict_naming_what_was_sent():
    code, body = answer("t-1", "COMPLETED", [(SMS, "SENT")])

    assert code == 409
    assert body["message"] == "Conflict"
    assert "nothing left to cancel" in body["reason"]
    assert body["Sent"] == [{"Address": SMS[1], "ChannelType": "SMS"}]
