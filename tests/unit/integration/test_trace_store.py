"""Recording each recipient's outcome, and the trace's status, in the traces table."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from notify.domain.errors import TransientError
from notify.domain.fallback import Continuation
from notify.domain.outcomes import FAILED, REJECTED, SENT
from notify.integration.trace_store import Cancel, Claim, TraceStore, recipient_key

TABLE = "Traces"
TRACE_ID = "12348"
OWNER = "customer:cust456"
EXECUTION_ARN = "arn:aws:states:us-east-1:123456789012:execution:Delivery:run-1"
RETENTION_DAYS = 30
LATER = "2999-01-01T00:00:00.000000+00:00"  # an attempt in progress until then
SENT_AT = "2026-11-24T10:00:01+00:00"

SENT_EMAIL = {
    "Recipient": {"Address": "user@example.com", "ChannelType": "EMAIL"},
    "Status": SENT,
    "ProviderMessageId": "ses-message-1",
    "SentAt": "2026-11-24T10:00:00+00:00",
}
SENT_SMS = {
    "Recipient": {
        "Address": "+16048621234",
        "ChannelType": "SMS",
        "Substitutions": {"productName": "SAVINGS"},
    },
    "Status": SENT,
    "ProviderMessageId": "sms-message-1",
    "SentAt": "2026-11-24T10:00:01+00:00",
    "Segments": 1,
    "Encoding": "GSM-7",
}
REJECTED_EMAIL = {
    "Recipient": {"Address": "bad@example", "ChannelType": "EMAIL"},
    "Status": REJECTED,
    "Error": "PermanentError",
    "Cause": json.dumps(
        {"errorMessage": "InvalidAddress: email 'bad@example'", "errorType": "PermanentError"}
    ),
}
FAILED_SMS = {
    "Recipient": {"Address": "+447911123456", "ChannelType": "SMS"},
    "Status": FAILED,
    "Error": "States.Timeout",
    "Cause": "Task timed out after 60.00 seconds",
}


@pytest.fixture
def table(table_from_template) -> Iterator[Any]:
    """A fresh traces table with the trace's header item."""
    table = table_from_template("TracesTable", TABLE)
    # The header item, as Plan's claim leaves it.
    table.put_item(
        Item={
            "TraceId": TRACE_ID,
            "Sk": OWNER,
            "Status": "RUNNING",
            "Running": "RUNNING",
            "Owner": OWNER,
            "ExecutionArn": EXECUTION_ARN,
        }
    )
    yield table
    table.delete()


@pytest.fixture
def store(table) -> TraceStore:
    return TraceStore(table, RETENTION_DAYS)


def items(table: Any) -> dict[str, dict[str, Any]]:
    return {item["Sk"]: item for item in table.scan()["Items"]}


def test_the_recipient_key_is_owner_channel_address() -> None:
    assert recipient_key(OWNER, "SMS", "+16048621234") == "customer:cust456#SMS#+16048621234"


def test_each_outcome_not_sent_is_written_as_one_item_per_recipient(table, store) -> None:
    store.record(TRACE_ID, OWNER, [SENT_EMAIL, SENT_SMS, REJECTED_EMAIL, FAILED_SMS], EXECUTION_ARN)

    # A SENT outcome is already on its item: the send function wrote it.
    assert sorted(items(table)) == [
        OWNER,
        "customer:cust456#EMAIL#bad@example",
        "customer:cust456#SMS#+447911123456",
    ]


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
    assert item["Status"] == outcome["Status"]
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


# ---------------------------------------------------------------- attempts and reads
SMS_KEY = "customer:cust456#SMS#+16048621234"


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


def test_recording_outcomes_keeps_the_attempts_and_the_delivery_status(table, store) -> None:
    store.begin_send(TRACE_ID, OWNER, "SMS", "+16048621234", LATER)
    table.update_item(
        Key={"TraceId": TRACE_ID, "Sk": SMS_KEY},
        UpdateExpression="SET DeliveryStatus = :s, DeliveryRank = :r",
        ExpressionAttributeValues={":s": "delivered", ":r": 4},
    )

    store.record(
        TRACE_ID, OWNER, [FAILED_SMS | {"Recipient": SENT_SMS["Recipient"]}], EXECUTION_ARN
    )

    item = items(table)[SMS_KEY]
    assert (item["Status"], item["Error"]) == (FAILED, "States.Timeout")
    assert item["Attempts"] == 1
    assert (item["DeliveryStatus"], item["DeliveryRank"]) == ("delivered", 4)


def test_a_recipient_sent_on_a_later_run_loses_the_earlier_runs_error(table, store) -> None:
    failed_then = FAILED_SMS | {"Recipient": SENT_SMS["Recipient"]}
    store.record(TRACE_ID, OWNER, [failed_then], EXECUTION_ARN)

    store.begin_send(TRACE_ID, OWNER, "SMS", "+16048621234", LATER)
    store.complete_send(TRACE_ID, OWNER, "SMS", "+16048621234", "sms-message-1", SENT_AT)

    item = items(table)[SMS_KEY]
    assert item["Status"] == SENT
    assert "Error" not in item
    assert "Reason" not in item


def test_reading_a_trace_returns_the_owners_header_and_recipients_only(table, store) -> None:
    store.begin_send(TRACE_ID, OWNER, "EMAIL", "user@example.com", LATER)
    store.record(TRACE_ID, OWNER, [SENT_EMAIL, REJECTED_EMAIL], EXECUTION_ARN)
    # Another tenant with the same TraceId, and one whose name merely starts alike.
    for owner in ("customer:other", "customer:cust4567", "customer:cust456.eu", "user:cust456"):
        table.put_item(Item={"TraceId": TRACE_ID, "Sk": owner, "Status": "RUNNING"})
        store.record(TRACE_ID, owner, [REJECTED_EMAIL], EXECUTION_ARN)

    header, recipients = store.read(TRACE_ID, OWNER)

    assert header is not None
    assert (header["Sk"], header["Status"]) == (OWNER, "COMPLETED")
    assert sorted(r["Sk"] for r in recipients) == [
        "customer:cust456#EMAIL#bad@example",
        "customer:cust456#EMAIL#user@example.com",
    ]


@pytest.mark.parametrize(
    ("trace_id", "owner"),
    [
        pytest.param("no-such-trace", OWNER, id="unknown-trace"),
        pytest.param(TRACE_ID, "customer:someone-else", id="another-owner"),
        pytest.param(TRACE_ID, "customer:cust45", id="an-owner-that-is-a-prefix"),
        pytest.param(TRACE_ID, "user:cust456", id="the-same-id-as-a-user"),
    ],
)
def test_reading_a_trace_of_no_such_owner_finds_nothing(table, store, trace_id, owner) -> None:
    store.record(TRACE_ID, OWNER, [SENT_EMAIL], EXECUTION_ARN)

    assert store.read(trace_id, owner) == (None, [])


# ---------------------------------------------------------------- claims
OTHER_EXECUTION = EXECUTION_ARN.replace("run-1", "run-2")
LONG_AGO = "2000-01-01T00:00:00.000000+00:00"
FUTURE = "2999-01-01T00:00:00.000000+00:00"


@pytest.fixture
def empty(table_from_template) -> Iterator[Any]:
    table = table_from_template("TracesTable", "ClaimTraces")
    yield table
    table.delete()


@pytest.fixture
def claims(empty) -> TraceStore:
    return TraceStore(empty, RETENTION_DAYS)


def test_a_new_trace_id_is_claimed_and_listed_as_running(empty, claims) -> None:
    assert claims.claim(TRACE_ID, OWNER, EXECUTION_ARN, LONG_AGO) is Claim.CLAIMED

    header = items(empty)[OWNER]
    assert (header["Status"], header["Running"], header["ExecutionArn"]) == (
        "RUNNING",
        "RUNNING",
        EXECUTION_ARN,
    )
    assert header["Executions"] == [EXECUTION_ARN]
    assert header["ExpiresAt"] > time.time() + (RETENTION_DAYS - 1) * 86400
    assert claims.running_before(FUTURE) == [
        {
            "TraceId": TRACE_ID,
            "Sk": OWNER,
            "Running": "RUNNING",
            "ClaimedAt": header["ClaimedAt"],
            "ExecutionArn": EXECUTION_ARN,
        }
    ]
    assert claims.running_before(LONG_AGO) == []


def test_a_retried_claim_whose_first_write_landed_is_still_this_executions(empty, claims) -> None:
    assert claims.claim(TRACE_ID, OWNER, EXECUTION_ARN, LONG_AGO) is Claim.CLAIMED

    assert claims.claim(TRACE_ID, OWNER, EXECUTION_ARN, LONG_AGO) is Claim.CLAIMED
    assert items(empty)[OWNER]["Executions"] == [EXECUTION_ARN]


def test_a_running_claim_is_not_taken_by_another_execution(empty, claims) -> None:
    claims.claim(TRACE_ID, OWNER, EXECUTION_ARN, LONG_AGO)

    assert claims.claim(TRACE_ID, OWNER, OTHER_EXECUTION, LONG_AGO) is Claim.HELD
    assert items(empty)[OWNER]["ExecutionArn"] == EXECUTION_ARN


def test_a_claim_older_than_the_timeout_may_be_claimed_again(empty, claims) -> None:
    claims.claim(TRACE_ID, OWNER, EXECUTION_ARN, LONG_AGO)

    assert claims.claim(TRACE_ID, OWNER, OTHER_EXECUTION, FUTURE) is Claim.CLAIMED
    assert items(empty)[OWNER]["Executions"] == [EXECUTION_ARN, OTHER_EXECUTION]


@pytest.mark.parametrize(
    ("status", "claim"), [("FAILED", Claim.CLAIMED), ("COMPLETED", Claim.DONE)]
)
def test_an_ended_trace_may_run_again_only_when_it_failed(empty, claims, status, claim) -> None:
    claims.claim(TRACE_ID, OWNER, EXECUTION_ARN, LONG_AGO)
    assert claims.finish(TRACE_ID, OWNER, status, EXECUTION_ARN) is True

    assert claims.claim(TRACE_ID, OWNER, OTHER_EXECUTION, LONG_AGO) is claim
    assert len(claims.running_before(FUTURE)) == int(claim is Claim.CLAIMED)


def test_only_the_claiming_execution_ends_a_running_trace_and_only_once(empty, claims) -> None:
    claims.claim(TRACE_ID, OWNER, EXECUTION_ARN, LONG_AGO)

    assert claims.finish(TRACE_ID, OWNER, "FAILED", OTHER_EXECUTION) is False
    assert claims.finish(TRACE_ID, OWNER, "FAILED", EXECUTION_ARN) is True
    assert claims.finish(TRACE_ID, OWNER, "FAILED", EXECUTION_ARN) is False
    header = items(empty)[OWNER]
    assert header["Status"] == "FAILED"
    assert "Running" not in header
    assert claims.running_before(FUTURE) == []


# ---------------------------------------------------------------- scheduled sends, cancels
SOON = "2026-12-01T09:00:00.000000+00:00"
BODY = '{"Caller": {"sub": "bob"}, "Request": {"TraceId": "12348"}}'


def test_a_scheduled_trace_keeps_its_request_and_is_scheduled_once_per_time(empty, claims) -> None:
    keys = [["SMS#+16048621234"]]
    assert claims.schedule(TRACE_ID, OWNER, SOON, BODY, keys) is Claim.CLAIMED
    assert claims.schedule(TRACE_ID, OWNER, SOON, BODY, keys) is Claim.CLAIMED

    header = items(empty)[OWNER]
    assert (header["Status"], header["SendAt"], header["Recipients"]) == ("SCHEDULED", SOON, keys)
    assert claims.scheduled_request(TRACE_ID, OWNER) == BODY
    assert claims.schedule(TRACE_ID, OWNER, FUTURE, BODY, keys) is Claim.DONE


def test_a_scheduled_trace_is_claimed_only_once_its_time_has_come(empty, claims) -> None:
    claims.schedule(TRACE_ID, OWNER, FUTURE, BODY, [])
    assert claims.claim(TRACE_ID, OWNER, EXECUTION_ARN, LONG_AGO) is Claim.DONE

    claims.schedule("due", OWNER, LONG_AGO, BODY, [])
    assert claims.claim("due", OWNER, EXECUTION_ARN, LONG_AGO) is Claim.CLAIMED


def test_a_cancelled_scheduled_trace_is_never_claimed(empty, claims) -> None:
    claims.schedule(TRACE_ID, OWNER, LONG_AGO, BODY, [])

    assert claims.cancel_scheduled(TRACE_ID, OWNER) is True
    assert claims.cancel_scheduled(TRACE_ID, OWNER) is False
    assert claims.claim(TRACE_ID, OWNER, EXECUTION_ARN, LONG_AGO) is Claim.DONE


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


def test_an_outcome_recorded_after_a_cancel_leaves_it_cancelled(table, store) -> None:
    store.cancel_recipient(TRACE_ID, OWNER, "EMAIL", "bad@example")
    cancelled = {"Recipient": REJECTED_EMAIL["Recipient"], "Status": "CANCELLED"}

    status, _ = store.record(TRACE_ID, OWNER, [REJECTED_EMAIL, cancelled], EXECUTION_ARN)

    assert status == "CANCELLED"
    assert items(table)["customer:cust456#EMAIL#bad@example"]["Status"] == "CANCELLED"
    assert items(table)[OWNER]["Status"] == "CANCELLED"


@pytest.mark.parametrize(
    "late", [FAILED_SMS, REJECTED_EMAIL | {"Recipient": FAILED_SMS["Recipient"]}]
)
def test_a_sent_recipient_is_never_marked_failed_or_rejected_afterwards(table, store, late) -> None:
    # The send landed after the outcome was decided (a late SendAgain, a reconciler).
    recipient = FAILED_SMS["Recipient"]
    store.complete_send(TRACE_ID, OWNER, "SMS", recipient["Address"], "sms-1", SENT_AT)

    store.record(TRACE_ID, OWNER, [late], EXECUTION_ARN)

    item = items(table)[recipient_key(OWNER, "SMS", recipient["Address"])]
    assert (item["Status"], item["ProviderMessageId"]) == ("SENT", "sms-1")
    assert "Error" not in item


def test_a_rejected_recipient_stays_rejected_and_a_failed_one_may_be_rejected(table, store) -> None:
    failed_then_rejected = REJECTED_EMAIL | {"Recipient": FAILED_SMS["Recipient"]}
    store.record(TRACE_ID, OWNER, [FAILED_SMS, REJECTED_EMAIL], EXECUTION_ARN)

    store.record(
        TRACE_ID, OWNER, [failed_then_rejected, REJECTED_EMAIL | {"Status": FAILED}], EXECUTION_ARN
    )

    statuses = {sk: item.get("Status") for sk, item in items(table).items() if sk != OWNER}
    assert statuses == {
        recipient_key(OWNER, "SMS", FAILED_SMS["Recipient"]["Address"]): REJECTED,
        recipient_key(OWNER, "EMAIL", "bad@example"): REJECTED,
    }


def test_an_unstorable_reason_is_written_escaped_rather_than_failing_the_write(
    table, store
) -> None:
    poisoned = FAILED_SMS | {"Cause": "provider said \ud800"}

    store.record(TRACE_ID, OWNER, [poisoned], EXECUTION_ARN)

    item = items(table)[recipient_key(OWNER, "SMS", FAILED_SMS["Recipient"]["Address"])]
    assert item["Reason"] == "provider said \\ud800"


CONTINUATION = Continuation('{"Caller": {}, "Request": {}}', "2026-11-24T10:01:00.000000+00:00")


def test_recipients_awaiting_their_receipts_leave_the_trace_scheduled_with_its_continuation(
    table, store
) -> None:
    awaiting = SENT_SMS | {"Status": "AWAITING"}

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

    retried = SENT_SMS | {"Recipient": FAILED_SMS["Recipient"]}
    assert store.record(TRACE_ID, OWNER, [retried], EXECUTION_ARN) == ("SCHEDULED", CONTINUATION)
    assert items(table)[OWNER]["ScheduledRequest"] == CONTINUATION.body
    assert "Continuation" not in items(table)[OWNER]
