"""Send budgets through the real ASL: paced to the budget, waiting is not failing, priority.

The EMAIL budget is the whole account's, shared by every test of this process: each test
lowers it with an operator's rate (`BudgetStore.set_rate`) and the fixture gives it back
to its default after. A send over budget leaves its execution PACED and comes back as a
delayed message on the queue, so what happens after its execution is where the workflow
types part: every test here runs on both.
"""

from __future__ import annotations

import json
import time
from bisect import bisect_left
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from conftest import Execution, all_dead_letters, dead_letters, trace_status

from emulator.local import LocalStack
from emulator.providers import Fault, SentMessage
from notify.domain.pacing import (
    NOT_BEFORE,
    PACED,
    THROTTLE_BACKOFF_BASE,
    THROTTLED,
    WAIT_IN_FUNCTION,
)
from notify.integration.budgets import BudgetStore

pytestmark = pytest.mark.both_workflows("a paced send comes back through the queue")

RATE = 10  # e-mails per second: the operator's rate for the account during a test
# The budget's rule (issue 19): at most RATE a second on average over any 5 s, and at most
# twice that in any one second (a burst allowance of one second's budget: a send a few
# milliseconds late beside one on time already makes RATE + 1).
BURST = 2 * RATE
# Timing margin for the local stack's own latency (the pipe, Plan, a cold function).
MARGIN = 0.5


@pytest.fixture
def email_budget(local: LocalStack) -> Iterator[BudgetStore]:
    """The account's EMAIL budget at RATE for one test, back to its default (14/s) after."""
    table = local.session.resource("dynamodb").Table(
        local.stack.physical("SendBudgetsTable")["Ref"]
    )
    budgets = BudgetStore(table)
    budgets.set_rate("EMAIL", RATE)
    yield budgets
    budgets.set_rate("EMAIL", None)


def emails(trace_id: str, count: int, prefix: str = "r", **fields: Any) -> dict[str, Any]:
    return {
        "TraceId": trace_id,
        "EmailMessage": {"FromAddress": "alerts@example.com", "Subject": "Hi", "TextBody": "Hi"},
        "Addresses": {f"{prefix}{n}@example.com": {"ChannelType": "EMAIL"} for n in range(count)},
    } | fields


def an_sms(trace_id: str) -> dict[str, Any]:
    return {
        "TraceId": trace_id,
        "SMSMessage": {"MessageBody": "Hi"},
        "Addresses": {"+16048620001": {"ChannelType": "SMS"}},
    }


def accepted_at(message: SentMessage) -> float:
    return datetime.fromisoformat(message.at).timestamp()


def most_in_any_window(times: list[float], seconds: float) -> int:
    """The most of `times` in any half-open window [t, t + seconds)."""
    ordered = sorted(times)
    return max((bisect_left(ordered, t + seconds) - i for i, t in enumerate(ordered)), default=0)


def wait_for_a_send(local: LocalStack, trace_id: str, deadline: float = 10) -> None:
    end = time.monotonic() + deadline
    while not local.providers.sent(trace_id):
        if time.monotonic() > end:
            raise AssertionError(f"{trace_id}: nothing sent after {deadline} s")
        time.sleep(0.02)


def outcomes(execution: Execution) -> list[dict[str, Any]]:
    """What the execution's Deliver map answered per recipient (Record's input)."""
    for event in execution.history:
        details = event.get("stateExitedEventDetails", {})
        if event["type"] == "MapStateExited" and details.get("name") == "Deliver":
            return json.loads(details["output"])["Outcomes"]["All"]
    return []


def statuses(execution: Execution, trace_id: str) -> dict[str, str]:
    return {
        o["Recipient"]["Address"]: o["Status"]
        for o in outcomes(execution)
        if o["TraceId"] == trace_id
    }


def failed_tasks(executions: list[Execution]) -> list[dict[str, Any]]:
    return [event for e in executions for event in e.failed_attempts("TaskFailed")]


def test_a_request_over_budget_is_sent_once_each_at_the_budget_and_completes(
    client, local, email_budget, trace_id
):
    client.queue(emails(trace_id, 30))

    first = client.wait(client.start_next(), trace_id=trace_id)
    later = client.until_ended(trace_id, deadline=30)

    sent = local.providers.sent(trace_id)
    assert Counter(m.to for m in sent) == {f"r{n}@example.com": 1 for n in range(30)}
    times = [accepted_at(m) for m in sent]
    assert most_in_any_window(times, 1) <= BURST
    assert most_in_any_window(times, 5) <= 5 * RATE
    # The first execution sent what its next second and a half holds and ended: the rest
    # left it PACED and came back through the queue.
    first_statuses = statuses(first, trace_id)
    assert set(first_statuses.values()) == {"SENT", PACED}
    assert first.status == "SUCCEEDED"
    in_first = [accepted_at(m) for m in first.sent]
    assert max(in_first) - min(in_first) <= WAIT_IN_FUNCTION + MARGIN
    assert later, "nothing came back through the queue"
    assert {e.status for e in later} == {"SUCCEEDED"}
    assert trace_status(local, trace_id) == "COMPLETED"
    assert dead_letters(local, trace_id) == []


def test_a_paced_recipient_never_fails_an_attempt_nor_uses_a_retry(
    client, local, email_budget, trace_id
):
    attempts = len(local.providers.attempts)
    client.queue(emails(trace_id, 25))

    executions = [client.wait(client.start_next(), trace_id=trace_id)]
    executions += client.until_ended(trace_id, deadline=30)

    paced = {
        a for e in executions for a, status in statuses(e, trace_id).items() if status == PACED
    }
    assert paced, "nothing was paced: the test no longer tests waiting"
    # Waiting is an answer, not an error: no send task failed or was retried, nobody
    # reached RetryExhausted, and each paced recipient was sent once, after waiting.
    assert failed_tasks(executions) == []
    assert all("RetryExhausted" not in e.states_entered() for e in executions)
    assert Counter(m.to for m in local.providers.sent(trace_id)) == {
        f"r{n}@example.com": 1 for n in range(25)
    }
    assert local.providers.attempts[attempts:].count(("EMAIL", min(paced))) == 1
    assert trace_status(local, trace_id) == "COMPLETED"


def test_a_transactional_request_queued_behind_bulk_is_sent_within_two_seconds(
    client, local, email_budget, trace_id
):
    bulk, urgent = f"{trace_id}-bulk", f"{trace_id}-urgent"
    client.queue(emails(bulk, 40, prefix="bulk", Priority="bulk"))  # 4 s of the budget
    client.start_next()
    wait_for_a_send(local, bulk)  # the bulk request fills the budget
    queued_at = time.time()
    client.queue(emails(urgent, 1, prefix="urgent"))

    client.until_ended(bulk, urgent, deadline=30)

    [sent] = local.providers.sent(urgent)
    assert accepted_at(sent) - queued_at <= 2.0
    bulk_sent = local.providers.sent(bulk)
    assert Counter(m.to for m in bulk_sent) == {f"bulk{n}@example.com": 1 for n in range(40)}
    # It did not wait for the bulk request's turn: most of the bulk went after it.
    before = [m for m in bulk_sent if accepted_at(m) < accepted_at(sent)]
    assert len(before) < len(bulk_sent) - len(before)
    times = [accepted_at(m) for m in [*bulk_sent, sent]]
    assert most_in_any_window(times, 1) <= BURST
    assert most_in_any_window(times, 5) <= 5 * RATE
    assert trace_status(local, bulk) == trace_status(local, urgent) == "COMPLETED"
    assert dead_letters(local, bulk) == dead_letters(local, urgent) == []


def test_a_provider_throttle_is_outlasted_with_backoff_and_holds_no_other_recipient(
    client, local, providers, trace_id
):
    throttled = "r0@example.com"
    providers.add_fault(Fault(channel="EMAIL", error="throttle", address=throttled, times=2))
    attempts = len(providers.attempts)
    client.queue(emails(trace_id, 3))

    executions = [client.wait(client.start_next(), trace_id=trace_id)]
    executions += client.until_ended(trace_id, deadline=30)

    # The others went in the first execution; the throttled one came back twice.
    assert sorted(m.to for m in executions[0].sent) == ["r1@example.com", "r2@example.com"]
    answers = [statuses(e, trace_id).get(throttled) for e in executions]
    assert [a for a in answers if a] == [PACED, PACED, "SENT"]
    paced = [
        o["Recipient"]
        for e in executions
        for o in outcomes(e)
        if o["TraceId"] == trace_id and o["Status"] == PACED
    ]
    assert [p[THROTTLED] for p in paced] == [1, 2]
    # Backoff: the first throttle books the next free slot at once, the second waits 2 s.
    assert float(paced[0][NOT_BEFORE]) == pytest.approx(float(paced[0]["ThrottledSince"]))
    between = float(paced[1][NOT_BEFORE]) - float(paced[0][NOT_BEFORE])
    assert THROTTLE_BACKOFF_BASE <= between <= THROTTLE_BACKOFF_BASE + 1 + MARGIN
    [sent] = [m for m in local.providers.sent(trace_id) if m.to == throttled]
    assert accepted_at(sent) >= float(paced[1][NOT_BEFORE]) - WAIT_IN_FUNCTION
    assert providers.attempts[attempts:].count(("EMAIL", throttled)) == 3
    assert failed_tasks(executions) == []
    assert all("RetryExhausted" not in e.states_entered() for e in executions)
    assert trace_status(local, trace_id) == "COMPLETED"
    assert dead_letters(local, trace_id) == []


def test_a_request_over_budget_holds_no_batch_mate_on_another_channel(
    client, local, email_budget, trace_id
):
    over, mate = f"{trace_id}-emails", f"{trace_id}-sms"
    client.queue(emails(over, 30))
    client.queue(an_sms(mate))

    first = client.wait(client.start_next())

    assert {o["TraceId"] for o in outcomes(first)} == {over, mate}  # one execution, both
    assert trace_status(local, mate) == "COMPLETED"
    assert trace_status(local, over) == "SCHEDULED"
    [sms] = local.providers.sent(mate)
    first_email = min(accepted_at(m) for m in local.providers.sent(over))
    assert accepted_at(sms) - first_email <= WAIT_IN_FUNCTION
    client.until_ended(over, deadline=30)
    assert Counter(m.to for m in local.providers.sent(over)) == {
        f"r{n}@example.com": 1 for n in range(30)
    }
    assert trace_status(local, over) == "COMPLETED"
    assert [m for m in all_dead_letters(local) if over in m["Body"] or mate in m["Body"]] == []
