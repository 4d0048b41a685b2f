"""A recipient's item as its send-once record: attempts counted, one send, or a cancel."""

from __future__ import annotations

import time
from dataclasses import replace

import pytest

from notify.domain.errors import TransientError
from notify.domain.outcomes import SENT
from notify.integration.traces.attempts import AttemptStore, Cancel
from notify.integration.traces.outcomes import OutcomeStore
from tests.unit.integration.traces.trace_items import (
    EXECUTION_ARN,
    FAILED_SMS,
    LATER,
    OWNER,
    RETENTION_DAYS,
    SENT_AT,
    SENT_SMS,
    SMS_KEY,
    TRACE_ID,
    items,
)


@pytest.fixture
def store(table) -> AttemptStore:
    return AttemptStore(table, RETENTION_DAYS)


def test_a_sent_recipient_has_its_provider_message_id_and_time(table, store) -> None:
    assert store.begin_send(TRACE_ID, OWNER, "SMS", "+16048621234", LATER) is None

    store.complete_send(TRACE_ID, OWNER, "SMS", "+16048621234", "sms-message-1", SENT_AT)

    item = items(table)["customer:cust456#SMS#+16048621234"]
    assert item["Status"] == SENT
    assert item["ProviderMessageId"] == "sms-message-1"
    assert item["SentAt"] == SENT_AT
    assert (item["TraceId"], item["Owner"], item["Address"], item["ChannelType"]) == (
        TRACE_ID,
        OWNER,
        "+16048621234",
        "SMS",
    )
    assert "InProgressUntil" not in item
    assert "Error" not in item
    assert "Reason" not in item


def test_each_attempt_is_counted_on_the_recipient_before_its_outcome_exists(table, store) -> None:
    assert store.begin_send(TRACE_ID, OWNER, "SMS", "+16048621234", LATER) is None
    first = items(table)[SMS_KEY]
    store.end_attempt(TRACE_ID, OWNER, "SMS", "+16048621234")  # it failed
    assert store.begin_send(TRACE_ID, OWNER, "SMS", "+16048621234", LATER) is None

    item = items(table)[SMS_KEY]
    assert item["Attempts"] == 2
    assert item["FirstAttemptAt"] == first["FirstAttemptAt"] <= item["LastAttemptAt"]
    assert (item["Owner"], item["Address"], item["ChannelType"]) == (OWNER, "+16048621234", "SMS")
    assert item["InProgressUntil"] == LATER
    assert item["ExpiresAt"] > time.time()
    assert "Status" not in item


def test_an_attempt_in_progress_keeps_every_other_attempt_away(table, store) -> None:
    store.begin_send(TRACE_ID, OWNER, "SMS", "+16048621234", LATER)

    with pytest.raises(TransientError) as busy:
        store.begin_send(TRACE_ID, OWNER, "SMS", "+16048621234", LATER)

    assert busy.value.reason == "SendInProgress"
    assert items(table)[SMS_KEY]["Attempts"] == 1


def test_an_attempt_whose_time_ran_out_no_longer_keeps_others_away(table, store) -> None:
    store.begin_send(TRACE_ID, OWNER, "SMS", "+16048621234", "2000-01-01T00:00:00.000000+00:00")

    assert store.begin_send(TRACE_ID, OWNER, "SMS", "+16048621234", LATER) is None
    assert items(table)[SMS_KEY]["Attempts"] == 2


def test_a_recipient_sent_before_is_answered_with_that_send_and_not_counted(table, store) -> None:
    store.begin_send(TRACE_ID, OWNER, "SMS", "+16048621234", LATER)
    store.complete_send(TRACE_ID, OWNER, "SMS", "+16048621234", "sms-message-1", SENT_AT)

    earlier = store.begin_send(TRACE_ID, OWNER, "SMS", "+16048621234", LATER)

    assert earlier is not None
    assert (earlier["ProviderMessageId"], earlier["SentAt"]) == ("sms-message-1", SENT_AT)
    assert items(table)[SMS_KEY]["Attempts"] == 1


def test_a_recipient_sent_on_a_later_run_loses_the_earlier_runs_error(table, store) -> None:
    failed_then = replace(FAILED_SMS, recipient=SENT_SMS.recipient)
    OutcomeStore(table, RETENTION_DAYS).record(TRACE_ID, OWNER, [failed_then], EXECUTION_ARN)

    store.begin_send(TRACE_ID, OWNER, "SMS", "+16048621234", LATER)
    store.complete_send(TRACE_ID, OWNER, "SMS", "+16048621234", "sms-message-1", SENT_AT)

    item = items(table)[SMS_KEY]
    assert item["Status"] == SENT
    assert "Error" not in item
    assert "Reason" not in item


# ---------------------------------------------------------------- cancels
def test_a_cancelled_recipient_is_never_sent(table, store) -> None:
    assert store.cancel_recipient(TRACE_ID, OWNER, "SMS", "+16048621234") is Cancel.CANCELLED

    earlier = store.begin_send(TRACE_ID, OWNER, "SMS", "+16048621234", LATER)

    assert earlier["Status"] == "CANCELLED"
    assert "Attempts" not in items(table)["customer:cust456#SMS#+16048621234"]


def test_a_recipient_being_sent_or_sent_is_not_cancelled(table, store) -> None:
    store.begin_send(TRACE_ID, OWNER, "SMS", "+16048621234", LATER)
    assert store.cancel_recipient(TRACE_ID, OWNER, "SMS", "+16048621234") is Cancel.IN_FLIGHT

    store.complete_send(TRACE_ID, OWNER, "SMS", "+16048621234", "sms-message-1", SENT_AT)
    assert store.cancel_recipient(TRACE_ID, OWNER, "SMS", "+16048621234") is Cancel.ENDED
