"""Reading a trace: one owner's items for the API and functions, every item for the CLI."""

from __future__ import annotations

import pytest

from notify.integration.traces.attempts import AttemptStore
from notify.integration.traces.outcomes import OutcomeStore
from notify.integration.traces.reads import TraceReader
from tests.unit.integration.traces.trace_items import (
    EXECUTION_ARN,
    LATER,
    OWNER,
    REJECTED_EMAIL,
    RETENTION_DAYS,
    SENT_EMAIL,
    TRACE_ID,
)

OTHER_OWNERS = ("customer:other", "customer:cust4567", "customer:cust456.eu", "user:cust456")


@pytest.fixture
def outcomes(table) -> OutcomeStore:
    return OutcomeStore(table, RETENTION_DAYS)


@pytest.fixture
def reads(table) -> TraceReader:
    return TraceReader(table)


def test_reading_a_trace_returns_the_owners_header_and_recipients_only(
    table, outcomes, reads
) -> None:
    AttemptStore(table, RETENTION_DAYS).begin_send(
        TRACE_ID, OWNER, "EMAIL", "user@example.com", LATER
    )
    outcomes.record(TRACE_ID, OWNER, [SENT_EMAIL, REJECTED_EMAIL], EXECUTION_ARN)
    # Another tenant with the same TraceId, and one whose name merely starts alike.
    for owner in OTHER_OWNERS:
        table.put_item(Item={"TraceId": TRACE_ID, "Sk": owner, "Status": "RUNNING"})
        outcomes.record(TRACE_ID, owner, [REJECTED_EMAIL], EXECUTION_ARN)

    header, recipients = reads.read(TRACE_ID, OWNER)

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
def test_reading_a_trace_of_no_such_owner_finds_nothing(outcomes, reads, trace_id, owner) -> None:
    outcomes.record(TRACE_ID, OWNER, [SENT_EMAIL], EXECUTION_ARN)

    assert reads.read(trace_id, owner) == (None, [])


def test_an_owner_holding_the_key_separator_is_refused(reads) -> None:
    with pytest.raises(ValueError, match="an owner holds no '#'"):
        reads.read(TRACE_ID, "customer:a#b")


def test_the_operator_reads_every_owner_of_a_trace_id_and_every_item(
    table, outcomes, reads
) -> None:
    for owner in OTHER_OWNERS[:2]:
        table.put_item(Item={"TraceId": TRACE_ID, "Sk": owner, "Status": "RUNNING"})
        outcomes.record(TRACE_ID, owner, [REJECTED_EMAIL], EXECUTION_ARN)
    table.put_item(Item={"TraceId": "another", "Sk": OWNER, "Status": "COMPLETED"})

    assert sorted(item["Sk"] for item in reads.every_owner(TRACE_ID)) == [
        OWNER,
        "customer:cust4567",
        "customer:cust4567#EMAIL#bad@example",
        "customer:other",
        "customer:other#EMAIL#bad@example",
    ]
    every = reads.every_trace()
    assert {item["TraceId"] for item in every} == {TRACE_ID, "another"}
    assert len(every) == 6  # three headers of TRACE_ID, their two recipients, another's header
