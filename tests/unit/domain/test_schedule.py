"""When a request is sent: SendAt, the schedule's name and expression, its pointer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from notify.domain.errors import PermanentError
from notify.domain.schedule import (
    at_expression,
    pointer_body,
    read_pointer,
    schedule_name,
    seconds_until,
    send_at,
    stamp,
)

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("2026-11-27T11:00:00Z", None),
        ("2026-11-27T12:00:03+00:00", None),
        ("2026-11-27T12:00:20Z", datetime(2026, 11, 27, 12, 0, 20, tzinfo=UTC)),
        ("2026-11-28T09:00:00+01:00", datetime(2026, 11, 28, 8, 0, tzinfo=UTC)),
    ],
    ids=["absent", "past", "within-tolerance", "ahead", "offset"],
)
def test_send_at_is_now_unless_it_is_ahead(value, expected):
    assert send_at(value, NOW) == expected


def test_a_send_at_more_than_a_year_ahead_is_out_of_range():
    with pytest.raises(PermanentError) as raised:
        send_at((NOW + timedelta(days=366)).isoformat(), NOW)

    assert raised.value.reason == "SendAtOutOfRange"


@pytest.mark.parametrize("value", ["2026-11-27T12:00:00", "tomorrow", 17], ids=str)
def test_a_send_at_without_an_offset_or_not_a_time_is_invalid(value):
    with pytest.raises(PermanentError) as raised:
        send_at(value, NOW)

    assert raised.value.reason == "InvalidMessage"


def test_the_schedule_name_is_the_same_for_a_trace_and_fits_schedulers_rules():
    name = schedule_name("customer:acme", "urmston/2025-26:0001")

    assert name == schedule_name("customer:acme", "urmston/2025-26:0001")
    assert name != schedule_name("customer:other", "urmston/2025-26:0001")
    assert len(name) <= 64
    assert name.replace("-", "").isalnum()


def test_the_expression_is_in_whole_utc_seconds_never_before_send_at():
    moment = datetime(2026, 12, 1, 10, 0, 0, 250000, tzinfo=UTC) + timedelta(hours=-1)

    assert at_expression(moment) == "at(2026-12-01T09:00:01)"
    assert at_expression(datetime(2026, 12, 1, 9, 0, tzinfo=UTC)) == "at(2026-12-01T09:00:00)"


def test_a_pointer_names_its_trace_and_other_bodies_are_no_pointer():
    assert read_pointer(pointer_body("t-1", "user:bob")) == ("t-1", "user:bob")
    assert read_pointer('{"Caller": {}, "Request": {}}') is None
    assert read_pointer("not json") is None


def test_seconds_until_counts_up_and_stops_at_zero():
    at = stamp(NOW + timedelta(seconds=20))

    assert seconds_until(at, NOW) == 20
    assert seconds_until(at, NOW + timedelta(minutes=1)) == 0
