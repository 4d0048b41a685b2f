"""The status document a sender reads for its trace, and whose trace it is."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from notify.domain.status import (
    PENDING,
    RECIPIENT_FIELDS,
    CallerUnknown,
    not_found,
    owner_of,
    trace_view,
)

HEADER = {
    "TraceId": "t-1",
    "Sk": "cust456",
    "Status": "COMPLETED",
    "StartedAt": "2026-11-24T10:00:00Z",
    "UpdatedAt": "2026-11-24T10:00:02Z",
    "Executions": ["arn:aws:states:...:execution:Delivery:run-1"],
}
SENT_SMS = {
    "TraceId": "t-1",
    "Sk": "cust456#SMS#+16048621234",
    "Address": "+16048621234",
    "ChannelType": "SMS",
    "Status": "SENT",
    "Attempts": Decimal(2),
    "ProviderMessageId": "sms-1",
    "FirstAttemptAt": "2026-11-24T10:00:00.5Z",
    "LastAttemptAt": "2026-11-24T10:00:01.5Z",
    "SentAt": "2026-11-24T10:00:01.6Z",
    "DeliveryStatus": "delivered",
    "DeliveryRank": Decimal(4),
    "DeliveryUpdatedAt": "2026-11-24T10:00:05Z",
    "ExpiresAt": Decimal(1_790_000_000),
}
REJECTED_EMAIL = {
    "Sk": "cust456#EMAIL#bad@example",
    "Address": "bad@example",
    "ChannelType": "EMAIL",
    "Status": "REJECTED",
    "Error": "PermanentError",
    "Reason": "InvalidAddress: email 'bad@example'",
}


@pytest.mark.parametrize(
    ("context", "owner"),
    [
        pytest.param({"sub": "u1", "customer_id": "cust456"}, "customer:cust456", id="customer"),
        pytest.param({"sub": "u1", "customer_id": ""}, "user:u1", id="no-customer-empty"),
        pytest.param({"sub": "u1"}, "user:u1", id="no-customer-absent"),
        pytest.param({"sub": "cust456"}, "user:cust456", id="a-sub-is-no-customer"),
    ],
)
def test_a_trace_belongs_to_the_callers_customer_else_to_its_user(context, owner):
    assert owner_of(context) == owner


def test_a_context_without_a_caller_is_a_configuration_error():
    with pytest.raises(CallerUnknown):
        owner_of({"customer_id": "", "sub": ""})


def test_a_context_with_an_id_outside_the_tenant_charset_names_no_caller():
    with pytest.raises(CallerUnknown):
        owner_of({"customer_id": "acme#eu", "sub": "u1"})


def test_no_header_means_no_such_trace_for_this_caller():
    assert trace_view("t-1", None, [SENT_SMS]) is None


def test_the_view_has_the_overall_status_and_each_recipients_details():
    view = trace_view("t-1", HEADER, [SENT_SMS, REJECTED_EMAIL])

    assert view["TraceId"] == "t-1"
    assert view["Status"] == "COMPLETED"
    assert (view["StartedAt"], view["UpdatedAt"]) == (HEADER["StartedAt"], HEADER["UpdatedAt"])
    email, sms = view["Recipients"]
    assert sms == {
        "Address": "+16048621234",
        "ChannelType": "SMS",
        "Status": "SENT",
        "Attempts": 2,
        "ProviderMessageId": "sms-1",
        "Error": None,
        "Reason": None,
        "DeliveryStatus": "delivered",
        "DeliveryErrorCode": None,
        "FirstAttemptAt": "2026-11-24T10:00:00.5Z",
        "LastAttemptAt": "2026-11-24T10:00:01.5Z",
        "SentAt": "2026-11-24T10:00:01.6Z",
        "DeliveryUpdatedAt": "2026-11-24T10:00:05Z",
        "UpdatedAt": None,
        "TemplateName": None,
        "TemplateVersion": None,
        "Locale": None,
        "FallbackFor": None,
    }
    assert type(sms["Attempts"]) is int
    assert (email["Status"], email["Error"], email["Reason"]) == (
        "REJECTED",
        "PermanentError",
        "InvalidAddress: email 'bad@example'",
    )
    assert email["Attempts"] == 0  # refused before any provider call


def test_internal_attributes_are_not_shown():
    view = trace_view("t-1", HEADER, [SENT_SMS])

    assert set(view) == {"TraceId", "Status", "StartedAt", "UpdatedAt", "Recipients"}
    assert set(view["Recipients"][0]) == {*RECIPIENT_FIELDS, "FallbackFor"}


def test_a_recipient_still_being_sent_is_pending_with_its_attempts():
    attempting = {
        "Sk": "cust456#SMS#+16048621234",
        "Address": "+16048621234",
        "ChannelType": "SMS",
        "Attempts": Decimal(1),
        "FirstAttemptAt": "2026-11-24T10:00:00.5Z",
        "LastAttemptAt": "2026-11-24T10:00:00.5Z",
    }

    view = trace_view("t-1", HEADER | {"Status": "RUNNING"}, [attempting])

    assert view["Status"] == "RUNNING"
    (recipient,) = view["Recipients"]
    assert (recipient["Status"], recipient["Attempts"]) == (PENDING, 1)


def test_not_found_names_the_trace_and_not_whose_it_is():
    assert not_found("t-1") == {
        "message": "Not Found",
        "reason": "no trace 't-1' was sent by this caller",
    }


def test_a_scheduled_trace_shows_its_time_the_seconds_until_then_and_its_recipients():
    header = HEADER | {
        "Status": "SCHEDULED",
        "SendAt": "2026-12-01T09:00:00.000000+00:00",
        "Recipients": [["SMS#+16048621234"], ["EMAIL#a#b@example.com"]],
    }

    view = trace_view("t-1", header, [], now=datetime(2026, 12, 1, 8, 59, 0, 500000, tzinfo=UTC))

    assert (view["Status"], view["SendAt"], view["SecondsUntilSend"]) == (
        "SCHEDULED",
        "2026-12-01T09:00:00.000000+00:00",
        60,
    )
    assert [(r["ChannelType"], r["Address"], r["Status"]) for r in view["Recipients"]] == [
        ("EMAIL", "a#b@example.com", "SCHEDULED"),
        ("SMS", "+16048621234", "SCHEDULED"),
    ]


def test_each_channel_tried_is_shown_and_a_fallback_names_whom_it_stands_in_for():
    header = HEADER | {"Recipients": [["WHATSAPP#whatsapp:+447835065013", "SMS#+447835065013"]]}
    whatsapp = {"ChannelType": "WHATSAPP", "Address": "whatsapp:+447835065013"}
    sms = {"ChannelType": "SMS", "Address": "+447835065013"}

    view = trace_view("t-1", header, [whatsapp | {"Status": "REJECTED"}, sms | {"Status": "SENT"}])

    assert [(r["ChannelType"], r["Status"], r["FallbackFor"]) for r in view["Recipients"]] == [
        ("SMS", "SENT", "whatsapp:+447835065013"),
        ("WHATSAPP", "REJECTED", None),
    ]


def test_a_test_recipient_is_marked_test_and_a_live_one_is_not():
    test_sms = SENT_SMS | {"Test": True}

    [test_view] = trace_view("t-1", HEADER, [test_sms])["Recipients"]
    [live_view] = trace_view("t-1", HEADER, [SENT_SMS])["Recipients"]

    assert test_view["Test"] is True
    assert "Test" not in live_view


def test_a_test_keys_trace_is_marked_test_and_a_live_one_is_not():
    assert trace_view("t-1", HEADER | {"Test": True}, [SENT_SMS])["Test"] is True
    assert "Test" not in trace_view("t-1", HEADER, [SENT_SMS])
