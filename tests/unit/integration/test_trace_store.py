"""Recording each recipient's outcome, and the trace's status, in the traces table."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from notify.domain.outcomes import FAILED, REJECTED, SENT
from notify.integration.trace_store import TraceStore, recipient_key

TABLE = "Traces"
TRACE_ID = "12348"
OWNER = "cust456"
EXECUTION_ARN = "arn:aws:states:us-east-1:123456789012:execution:Delivery:run-1"
RETENTION_DAYS = 30

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
    # The header item, as the state machine's RecordTrace step leaves it.
    table.put_item(Item={"TraceId": TRACE_ID, "Sk": OWNER, "Status": "RUNNING", "Owner": OWNER})
    yield table
    table.delete()


@pytest.fixture
def store(table) -> TraceStore:
    return TraceStore(table, RETENTION_DAYS)


def items(table: Any) -> dict[str, dict[str, Any]]:
    return {item["Sk"]: item for item in table.scan()["Items"]}


def test_the_recipient_key_is_owner_channel_address() -> None:
    assert recipient_key("cust456", "SMS", "+16048621234") == "cust456#SMS#+16048621234"


def test_each_outcome_is_written_as_one_item_per_recipient(table, store) -> None:
    store.record(TRACE_ID, OWNER, [SENT_EMAIL, SENT_SMS, REJECTED_EMAIL, FAILED_SMS], EXECUTION_ARN)

    assert sorted(items(table)) == [
        OWNER,
        "cust456#EMAIL#bad@example",
        "cust456#EMAIL#user@example.com",
        "cust456#SMS#+16048621234",
        "cust456#SMS#+447911123456",
    ]


def test_a_sent_recipient_has_its_provider_message_id_and_time(table, store) -> None:
    store.record(TRACE_ID, OWNER, [SENT_SMS], EXECUTION_ARN)

    item = items(table)["cust456#SMS#+16048621234"]
    assert item["Status"] == SENT
    assert item["ProviderMessageId"] == "sms-message-1"
    assert item["SentAt"] == "2026-11-24T10:00:01+00:00"
    assert (item["TraceId"], item["Owner"], item["Address"], item["ChannelType"]) == (
        TRACE_ID,
        OWNER,
        "+16048621234",
        "SMS",
    )
    assert item["ExecutionArn"] == EXECUTION_ARN
    assert "Error" not in item
    assert "Reason" not in item


@pytest.mark.parametrize(
    ("outcome", "sk", "error", "reason"),
    [
        pytest.param(
            REJECTED_EMAIL,
            "cust456#EMAIL#bad@example",
            "PermanentError",
            "InvalidAddress: email 'bad@example'",
            id="rejected",
        ),
        pytest.param(
            FAILED_SMS,
            "cust456#SMS#+447911123456",
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
        pytest.param([SENT_EMAIL, REJECTED_EMAIL, FAILED_SMS], "FAILED", id="one-failed"),
        pytest.param([FAILED_SMS], "FAILED", id="all-failed"),
    ],
)
def test_the_trace_is_failed_when_any_recipient_failed_else_completed(
    table, store, outcomes, status
) -> None:
    assert store.record(TRACE_ID, OWNER, outcomes, EXECUTION_ARN) == status

    header = items(table)[OWNER]
    assert header["Status"] == status
    assert header["Owner"] == OWNER  # the rest of the header item is kept


def test_every_item_expires_after_the_retention_period(table, store) -> None:
    before = int(time.time())

    store.record(TRACE_ID, OWNER, [SENT_EMAIL, FAILED_SMS], EXECUTION_ARN)

    retention = RETENTION_DAYS * 86400
    for item in items(table).values():
        assert before + retention <= item["ExpiresAt"] <= int(time.time()) + retention
        assert item["UpdatedAt"]


# ---------------------------------------------------------------- attempts and reads
SMS_KEY = "cust456#SMS#+16048621234"


def test_each_attempt_is_counted_on_the_recipient_before_its_outcome_exists(table, store) -> None:
    assert store.count_attempt(TRACE_ID, OWNER, "SMS", "+16048621234") == 1
    first = items(table)[SMS_KEY]
    assert store.count_attempt(TRACE_ID, OWNER, "SMS", "+16048621234") == 2

    item = items(table)[SMS_KEY]
    assert item["Attempts"] == 2
    assert item["FirstAttemptAt"] == first["FirstAttemptAt"] <= item["LastAttemptAt"]
    assert (item["Owner"], item["Address"], item["ChannelType"]) == (OWNER, "+16048621234", "SMS")
    assert item["ExpiresAt"] > time.time()
    assert "Status" not in item


def test_recording_the_outcome_keeps_the_attempts_and_the_delivery_status(table, store) -> None:
    store.count_attempt(TRACE_ID, OWNER, "SMS", "+16048621234")
    store.count_attempt(TRACE_ID, OWNER, "SMS", "+16048621234")
    table.update_item(
        Key={"TraceId": TRACE_ID, "Sk": SMS_KEY},
        UpdateExpression="SET DeliveryStatus = :s, DeliveryRank = :r",
        ExpressionAttributeValues={":s": "delivered", ":r": 4},
    )

    store.record(TRACE_ID, OWNER, [SENT_SMS], EXECUTION_ARN)

    item = items(table)[SMS_KEY]
    assert (item["Status"], item["ProviderMessageId"]) == (SENT, "sms-message-1")
    assert item["Attempts"] == 2
    assert (item["DeliveryStatus"], item["DeliveryRank"]) == ("delivered", 4)


def test_a_recipient_sent_on_a_later_run_loses_the_earlier_runs_error(table, store) -> None:
    failed_then = FAILED_SMS | {"Recipient": SENT_SMS["Recipient"]}
    store.record(TRACE_ID, OWNER, [failed_then], EXECUTION_ARN)

    store.record(TRACE_ID, OWNER, [SENT_SMS], EXECUTION_ARN + "-redriven")

    item = items(table)[SMS_KEY]
    assert item["Status"] == SENT
    assert item["ExecutionArn"] == EXECUTION_ARN + "-redriven"
    assert "Error" not in item
    assert "Reason" not in item


def test_reading_a_trace_returns_the_owners_header_and_recipients_only(table, store) -> None:
    store.record(TRACE_ID, OWNER, [SENT_EMAIL, REJECTED_EMAIL], EXECUTION_ARN)
    # Another tenant with the same TraceId, and one whose name merely starts alike.
    for owner in ("other", "cust4567"):
        table.put_item(Item={"TraceId": TRACE_ID, "Sk": owner, "Status": "RUNNING"})
        store.record(TRACE_ID, owner, [SENT_SMS], EXECUTION_ARN)

    header, recipients = store.read(TRACE_ID, OWNER)

    assert header is not None
    assert (header["Sk"], header["Status"]) == (OWNER, "COMPLETED")
    assert sorted(r["Sk"] for r in recipients) == [
        "cust456#EMAIL#bad@example",
        "cust456#EMAIL#user@example.com",
    ]


@pytest.mark.parametrize(
    ("trace_id", "owner"),
    [
        pytest.param("no-such-trace", OWNER, id="unknown-trace"),
        pytest.param(TRACE_ID, "someone-else", id="another-owner"),
        pytest.param(TRACE_ID, "cust45", id="an-owner-that-is-a-prefix"),
    ],
)
def test_reading_a_trace_of_no_such_owner_finds_nothing(table, store, trace_id, owner) -> None:
    store.record(TRACE_ID, OWNER, [SENT_EMAIL], EXECUTION_ARN)

    assert store.read(trace_id, owner) == (None, [])
