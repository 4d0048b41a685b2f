"""Claiming a TraceId for an execution, scheduling it, and ending its run."""

from __future__ import annotations

import time

import pytest

from notify.integration.traces.claims import Claim, ClaimStore
from tests.unit.integration.traces.trace_items import (
    EXECUTION_ARN,
    FUTURE,
    LONG_AGO,
    OTHER_EXECUTION,
    OWNER,
    RETENTION_DAYS,
    TRACE_ID,
    items,
)


@pytest.fixture
def claims(empty) -> ClaimStore:
    return ClaimStore(empty, RETENTION_DAYS)


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


# ---------------------------------------------------------------- dead-letter markers
def test_a_dead_letter_is_marked_once_under_its_sqs_message_id(empty, claims) -> None:
    assert claims.claim_dead_letter("m-1", EXECUTION_ARN) is True
    assert claims.claim_dead_letter("m-1", EXECUTION_ARN) is True  # a retry of the same run
    assert claims.claim_dead_letter("m-1", OTHER_EXECUTION) is False

    claims.end_dead_letter("m-1", EXECUTION_ARN)

    assert claims.claim_dead_letter("m-1", EXECUTION_ARN) is False  # the letter was sent
    marker = empty.get_item(Key={"TraceId": "sqs-message:m-1", "Sk": "unreadable"})["Item"]
    assert (marker["Status"], marker["ExecutionArn"]) == ("COMPLETED", EXECUTION_ARN)


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


def test_a_claim_by_another_run_of_a_job_is_stale_and_a_delivery_claim_drops_the_run(
    empty, claims
) -> None:
    """Every run of a job but the current one has ended: a retry takes over the rows a
    failed batch left claimed; the same run's claim, or a delivery execution's, it does not."""
    third = OTHER_EXECUTION + "-third"
    assert claims.claim(TRACE_ID, OWNER, EXECUTION_ARN, LONG_AGO, run="job-1") is Claim.CLAIMED
    assert claims.claim(TRACE_ID, OWNER, OTHER_EXECUTION, LONG_AGO, run="job-1") is Claim.HELD

    assert (
        claims.claim(TRACE_ID, OWNER, OTHER_EXECUTION, LONG_AGO, run="job-1-retry-1")
        is Claim.CLAIMED
    )
    assert items(empty)[OWNER]["JobRun"] == "job-1-retry-1"
    claims.finish(TRACE_ID, OWNER, "FAILED", OTHER_EXECUTION)
    assert claims.claim(TRACE_ID, OWNER, EXECUTION_ARN, LONG_AGO) is Claim.CLAIMED  # redriven
    assert "JobRun" not in items(empty)[OWNER]
    assert claims.claim(TRACE_ID, OWNER, third, LONG_AGO, run="job-1-retry-2") is Claim.HELD


def test_a_test_keys_trace_is_marked_test_on_its_header_and_a_live_one_is_not(
    empty, claims
) -> None:
    claims.claim(TRACE_ID, OWNER, EXECUTION_ARN, LONG_AGO, test=True)
    assert items(empty)[OWNER]["Test"] is True

    claims.claim("live-trace", OWNER, EXECUTION_ARN, LONG_AGO)
    live = empty.get_item(Key={"TraceId": "live-trace", "Sk": OWNER})["Item"]
    assert "Test" not in live
