"""Recording each recipient's outcome, and the trace's status, in the traces table."""

from __future__ import annotations

import time
from dataclasses import replace

import pytest

from notify.domain.fallback import Continuation
from notify.domain.outcomes import FAILED, REJECTED
from notify.domain.steps import Outcome
from notify.integration.traces.attempts import AttemptStore
from notify.integration.traces.keys import recipient_key
from notify.integration.traces.outcomes import OutcomeStore
from tests.unit.integration.traces.trace_items import (
    EXECUTION_ARN,
    FAILED_SMS,
    LATER,
    OWNER,
    REJECTED_EMAIL,
    RETENTION_DAYS,
    SENT_AT,
    SENT_EMAIL,
    SENT_SMS,
    SMS_KEY,
    TRACE_ID,
    items,
)


@pytest.fixture
def store(table) -> OutcomeStore:
    return OutcomeStore(table, RETENTION_DAYS)


@pytest.fixture
def attempts(table) -> AttemptStore:
    return AttemptStore(table, RETENTION_DAYS)


def test_each_outcome_not_sent_is_written_as_one_item_per_recipient(table, store) -> None:
    store.record(TRACE_ID, OWNER, [SENT_EMAIL, SENT_SMS, REJECTED_EMAIL, FAILED_SMS], EXECUTION_ARN)

    # A SENT outcome is already on its item: the send function wrote it.
    assert sorted(items(table)) == [
        OWNER,
        "customer:cust456#EMAIL#bad@example",
        "customer:cust456#SMS#+447911123456",
    ]


@pytest.mark.parametrize(
    ("outcome", "sk", "error", "reason"),
    [
        pytest.param(
            REJECTED_EMAIL,
            "customer:cust456#EMAIL#bad@example",
            "PermanentError",
            "InvalidAddress: email 'bad@example'",
            id="rejected",
        ),
        pytest.param(
            FAILED_SMS,
            "customer:cust456#SMS#+447911123456",
            "States.Timeout",
            "Task timed out after 60.00 seconds",
            id="failed",
        ),
    ],
)
def test_a_recipient_not_sent_has_its_error_and_reason(
    table, store, outcome, sk, error, reason
) -> None:
    store.record(TRACE_ID, OWNER, [outcome], EXECUTION_ARN)

    item = items(table)[sk]
    assert item["Status"] == outcome.status
    assert item["Error"] == error
    assert item["Reason"] == reason
    assert "ProviderMessageId" not in item
    assert "SentAt" not in item


@pytest.mark.parametrize(
    ("outcomes", "status"),
    [
        pytest.param([SENT_EMAIL, SENT_SMS], "COMPLETED", id="all-sent"),
        pytest.param([SENT_EMAIL, REJECTED_EMAIL], "COMPLETED", id="sent-and-rejected"),
        pytest.param([REJECTED_EMAIL], "COMPLETED", id="all-rejected"),
        # The exhausted are retried once more; if that fails, the reconciler ends the trace.
        pytest.param([SENT_EMAIL, REJECTED_EMAIL, FAILED_SMS], "RUNNING", id="one-failed"),
        pytest.param([FAILED_SMS], "RUNNING", id="all-failed"),
    ],
)
def test_the_trace_completes_when_no_recipient_exhausted_its_retries(
    table, store, outcomes, status
) -> None:
    assert store.record(TRACE_ID, OWNER, outcomes, EXECUTION_ARN) == (status, None)

    header = items(table)[OWNER]
    assert header["Status"] == status
    assert header["Owner"] == OWNER  # the rest of the header item is kept
    # Only a running trace is in the sweep's index.
    assert ("Running" in header) == (status == "RUNNING")


def test_every_item_expires_after_the_retention_period(table, store) -> None:
    before = int(time.time())

    store.record(TRACE_ID, OWNER, [SENT_EMAIL, FAILED_SMS], EXECUTION_ARN)

    retention = RETENTION_DAYS * 86400
    recipients = [item for sk, item in items(table).items() if sk != OWNER]  # the claim's
    for item in recipients:
        assert before + retention <= item["ExpiresAt"] <= int(time.time()) + retention
        assert item["UpdatedAt"]


def test_recording_outcomes_keeps_the_attempts_and_the_delivery_status(
    table, store, attempts
) -> None:
    attempts.begin_send(TRACE_ID, OWNER, "SMS", "+16048621234", LATER)
    table.update_item(
        Key={"TraceId": TRACE_ID, "Sk": SMS_KEY},
        UpdateExpression="SET DeliveryStatus = :s, DeliveryRank = :r",
        ExpressionAttributeValues={":s": "delivered", ":r": 4},
    )

    store.record(
        TRACE_ID, OWNER, [replace(FAILED_SMS, recipient=SENT_SMS.recipient)], EXECUTION_ARN
    )

    item = items(table)[SMS_KEY]
    assert (item["Status"], item["Error"]) == (FAILED, "States.Timeout")
    assert item["Attempts"] == 1
    assert (item["DeliveryStatus"], item["DeliveryRank"]) == ("delivered", 4)


def test_an_outcome_recorded_after_a_cancel_leaves_it_cancelled(table, store, attempts) -> None:
    attempts.cancel_recipient(TRACE_ID, OWNER, "EMAIL", "bad@example")
    cancelled = Outcome(TRACE_ID, OWNER, REJECTED_EMAIL.recipient, "CANCELLED")

    status, _ = store.record(TRACE_ID, OWNER, [REJECTED_EMAIL, cancelled], EXECUTION_ARN)

    assert status == "CANCELLED"
    assert items(table)["customer:cust456#EMAIL#bad@example"]["Status"] == "CANCELLED"
    assert items(table)[OWNER]["Status"] == "CANCELLED"


@pytest.mark.parametrize(
    "late",
    [FAILED_SMS, replace(REJECTED_EMAIL, recipient=FAILED_SMS.recipient)],
    ids=["failed", "rejected"],
)
def test_a_sent_recipient_is_never_marked_failed_or_rejected_afterwards(
    table, store, attempts, late
) -> None:
    # The send landed after the outcome was decided (a late SendAgain, a reconciler).
    recipient = FAILED_SMS.recipient
    attempts.complete_send(TRACE_ID, OWNER, "SMS", recipient["Address"], "sms-1", SENT_AT)

    store.record(TRACE_ID, OWNER, [late], EXECUTION_ARN)

    item = items(table)[recipient_key(OWNER, "SMS", recipient["Address"])]
    assert (item["Status"], item["ProviderMessageId"]) == ("SENT", "sms-1")
    assert "Error" not in item


def test_a_rejected_recipient_stays_rejected_and_a_failed_one_may_be_rejected(table, store) -> None:
    failed_then_rejected = replace(REJECTED_EMAIL, recipient=FAILED_SMS.recipient)
    store.record(TRACE_ID, OWNER, [FAILED_SMS, REJECTED_EMAIL], EXECUTION_ARN)

    store.record(
        TRACE_ID,
        OWNER,
        [failed_then_rejected, replace(REJECTED_EMAIL, status=FAILED)],
        EXECUTION_ARN,
    )

    statuses = {sk: item.get("Status") for sk, item in items(table).items() if sk != OWNER}
    assert statuses == {
        recipient_key(OWNER, "SMS", FAILED_SMS.recipient["Address"]): REJECTED,
        recipient_key(OWNER, "EMAIL", "bad@example"): REJECTED,
    }


def test_an_unstorable_reason_is_written_escaped_rather_than_failing_the_write(
    table, store
) -> None:
    poisoned = replace(FAILED_SMS, cause="provider said \ud800")

    store.record(TRACE_ID, OWNER, [poisoned], EXECUTION_ARN)

    item = items(table)[recipient_key(OWNER, "SMS", FAILED_SMS.recipient["Address"])]
    assert item["Reason"] == "provider said \\ud800"


# ---------------------------------------------------------------- continuations
CONTINUATION = Continuation('{"Caller": {}, "Request": {}}', "2026-11-24T10:01:00.000000+00:00")


def test_recipients_awaiting_their_receipts_leave_the_trace_scheduled_with_its_continuation(
    table, store
) -> None:
    awaiting = replace(SENT_SMS, status="AWAITING")

    assert store.record(TRACE_ID, OWNER, [awaiting], EXECUTION_ARN, CONTINUATION) == (
        "SCHEDULED",
        CONTINUATION,
    )

    header = items(table)[OWNER]
    assert (header["Status"], header["SendAt"], header["ScheduledRequest"]) == (
        "SCHEDULED",
        CONTINUATION.due,
        CONTINUATION.body,
    )
    assert "Running" not in header
    assert sorted(items(table)) == [OWNER]  # the awaiting recipient's SENT item is its own


def test_a_continuation_kept_while_retries_run_is_scheduled_by_whoever_completes_the_trace(
    table, store
) -> None:
    assert store.record(TRACE_ID, OWNER, [FAILED_SMS], EXECUTION_ARN, CONTINUATION) == (
        "RUNNING",
        None,
    )
    assert items(table)[OWNER]["Status"] == "RUNNING"

    retried = replace(SENT_SMS, recipient=FAILED_SMS.recipient)
    assert store.record(TRACE_ID, OWNER, [retried], EXECUTION_ARN) == ("SCHEDULED", CONTINUATION)
    assert items(table)[OWNER]["ScheduledRequest"] == CONTINUATION.body
    assert "Continuation" not in items(table)[OWNER]
