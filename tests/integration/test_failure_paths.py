"""The workflow's own failure paths: nothing accepted is dropped, a dead letter means unsent.

Each test breaks something on purpose (a lost DynamoDB answer, a stopped or timed-out
execution, a lost status-change event) and shows that every recipient ends sent exactly
once, or in exactly one dead letter that a redrive then sends.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from conftest import (
    EXECUTION_TIMEOUT_SECONDS,
    all_dead_letters,
    dead_letters,
    reconciled,
    trace_items,
)

from emulator.providers import Fault
from emulator.soak import soak
from notify.domain.reconcile import SWEEP_GRACE_SECONDS

EMAIL, SMS, SMS2 = "user@example.com", "+16048621234", "+16048621235"
RECONCILER = "messaging-ReconcileFunction"


def request(trace_id: str) -> dict:
    return {
        "TraceId": trace_id,
        "EmailMessage": {"FromAddress": "alerts@example.com", "Subject": "Hi", "TextBody": "Hi"},
        "SMSMessage": {"MessageBody": "Hi"},
        "Addresses": {
            EMAIL: {"ChannelType": "EMAIL"},
            SMS: {"ChannelType": "SMS"},
            SMS2: {"ChannelType": "SMS"},
        },
    }


def header(local, trace_id: str) -> dict:
    [item] = [i for sk, i in trace_items(local, trace_id).items() if "#" not in sk]
    return item


def sent_counts(local, trace_id: str) -> Counter:
    return Counter((m.channel, m.to) for m in local.providers.sent(trace_id))


def dead_lettered_addresses(local, trace_id: str) -> list[str]:
    return sorted(
        address
        for message in dead_letters(local, trace_id)
        for address in json.loads(message["Body"])["Request"]["Addresses"]
    )


def redrive(client, local, trace_id: str):
    """What `messaging dlq redrive` does for this trace: each dead letter back to the queue."""
    executions = []
    for message in dead_letters(local, trace_id):
        client.sqs.send_message(QueueUrl=client.queue_url, MessageBody=message["Body"])
        dlq = local.stack.physical("DeadLetterQueue")["QueueUrl"]
        client.sqs.delete_message(QueueUrl=dlq, ReceiptHandle=message["ReceiptHandle"])
        executions.append(client.wait(client.start_next(), trace_id=trace_id))
    return executions


def start(client, trace_id: str) -> str:
    client.queue(request(trace_id))
    return client.start_next()


def wait_until_sent(local, trace_id: str, count: int) -> None:
    deadline = time.monotonic() + 30
    while len(local.providers.sent(trace_id)) < count:
        assert time.monotonic() < deadline, f"only {local.providers.sent(trace_id)} sent"
        time.sleep(0.05)


def wait_until_attempted(local, trace_id: str, count: int) -> None:
    """Until `count` of the trace's recipients have had an attempt counted on the trace."""
    deadline = time.monotonic() + 30
    while sum("Attempts" in item for item in trace_items(local, trace_id).values()) < count:
        assert time.monotonic() < deadline, f"fewer than {count} recipients attempted"
        time.sleep(0.05)


def test_a_claim_whose_write_landed_then_errored_still_delivers_each_recipient_once(
    client, local, providers, trace_id
):
    # The claim is the first write with this TraceId in its key: it lands, then answers 500.
    providers.add_fault(Fault(channel="DYNAMODB", error="lost-response", address=trace_id, times=1))

    execution = client.send(request(trace_id))

    assert execution.status == "SUCCEEDED"
    assert execution.already_handled() == []
    [lost] = execution.failed_attempts("TaskFailed")
    assert lost["taskFailedEventDetails"]["error"] == "TransientError"
    assert sent_counts(local, trace_id) == {("EMAIL", EMAIL): 1, ("SMS", SMS): 1, ("SMS", SMS2): 1}
    assert header(local, trace_id)["Status"] == "COMPLETED"


def test_a_recipient_that_fails_the_first_map_and_succeeds_in_the_retry_leaves_no_dead_letter(
    client, local, providers, trace_id
):
    # 1 try + 3 retries in Deliver fail; the one more attempt in RetryExhausted succeeds.
    providers.add_fault(Fault(channel="EMAIL", error="5xx", address=EMAIL, times=4))

    execution = client.send(request(trace_id))

    assert execution.status == "SUCCEEDED"
    assert "RetryExhausted" in execution.states_entered()
    assert sent_counts(local, trace_id)[("EMAIL", EMAIL)] == 1
    assert dead_letters(local, trace_id) == []
    assert header(local, trace_id)["Status"] == "COMPLETED"
    assert {i["Status"] for sk, i in trace_items(local, trace_id).items() if "#" in sk} == {"SENT"}


def crowd(trace_id: str) -> dict:
    """12 SMS recipients: the Map sends 10 at once, so the last two wait for a slot."""
    numbers = [f"+1604555{n:04d}" for n in range(12)]
    addresses = {number: {"ChannelType": "SMS"} for number in numbers}
    return {"TraceId": trace_id, "SMSMessage": {"MessageBody": "Hi"}, "Addresses": addresses}


@reconciled
def test_an_execution_stopped_mid_flight_dead_letters_exactly_its_unsent_recipients(
    client, local, providers, trace_id
):
    # The first ten sends are slow; the execution is stopped while they are at the provider.
    providers.add_fault(Fault(channel="SMS", error="slow", seconds=3, times=10))
    client.queue(crowd(trace_id))
    arn = client.start_next()
    wait_until_attempted(local, trace_id, 10)

    client.sfn.stop_execution(executionArn=arn, error="Operator", cause="stopped by a test")
    execution = client.wait(arn, trace_id=trace_id)

    assert execution.status == "ABORTED"
    # A stop does not recall calls already at the provider (nor does it in AWS): they land
    # (on a loaded machine, after the reconciler saw them begin), and the reconciler waits
    # for them, so only the two never reached are dead-lettered.
    wait_until_sent(local, trace_id, 10)
    assert len(local.providers.sent(trace_id)) == 10
    assert dead_lettered_addresses(local, trace_id) == ["+16045550010", "+16045550011"]
    [letter] = dead_letters(local, trace_id)
    attributes = {k: v["StringValue"] for k, v in letter["MessageAttributes"].items()}
    assert attributes["ExecutionArn"] == arn
    assert "stopped" in attributes["Cause"]
    assert json.loads(letter["Body"])["Caller"] == {"sub": "user-1"}
    assert header(local, trace_id)["Status"] == "FAILED"

    # `messaging faults clear` + `messaging dlq redrive`: each recipient ends sent once.
    providers.clear_faults()
    [redriven] = redrive(client, local, trace_id)

    assert redriven.status == "SUCCEEDED"
    assert set(sent_counts(local, trace_id).values()) == {1}
    assert len(sent_counts(local, trace_id)) == 12
    assert header(local, trace_id)["Status"] == "COMPLETED"
    assert dead_letters(local, trace_id) == []


@reconciled
def test_an_execution_that_times_out_is_reconciled_like_a_stopped_one(
    client, local, providers, trace_id
):
    slow = EXECUTION_TIMEOUT_SECONDS + 3
    providers.add_fault(Fault(channel="SMS", error="slow", seconds=slow, times=10))
    client.queue(crowd(trace_id))

    execution = client.wait(client.start_next(), trace_id=trace_id)

    assert execution.status == "TIMED_OUT"
    assert dead_lettered_addresses(local, trace_id) == ["+16045550010", "+16045550011"]
    assert len(local.providers.sent(trace_id)) == 10
    assert header(local, trace_id)["Status"] == "FAILED"


@reconciled
def test_a_recipient_that_exhausts_every_retry_is_dead_lettered_once(
    client, local, providers, trace_id
):
    providers.add_fault(Fault(channel="SMS", error="5xx", address=SMS2))

    execution = client.send(request(trace_id))

    assert execution.status == "FAILED"
    assert dead_lettered_addresses(local, trace_id) == [SMS2]
    items = trace_items(local, trace_id)
    assert {i["Address"]: i["Status"] for sk, i in items.items() if "#" in sk} == {
        EMAIL: "SENT",
        SMS: "SENT",
        SMS2: "FAILED",
    }
    assert header(local, trace_id)["Status"] == "FAILED"


@reconciled
def test_a_lost_status_event_is_made_good_by_the_sweep(client, local, providers, trace_id):
    providers.add_fault(Fault(channel="EMAIL", error="5xx", address=EMAIL))
    with local.events.losing_events():
        arn = start(client, trace_id)
        wait_until_sent(local, trace_id, 2)
        wait_until_attempted(local, trace_id, 3)  # the email too: it is now retrying
        client.sfn.stop_execution(executionArn=arn)
        assert client.wait(arn).status == "ABORTED"
    assert dead_letters(local, trace_id) == []
    assert header(local, trace_id)["Status"] == "RUNNING"  # stuck, until the sweep

    # A sweep before the timeout has passed leaves a claim that may still be running; just
    # past it, the execution's own (late, retried) status event still has the grace.
    local.events.scheduled(RECONCILER)
    assert header(local, trace_id)["Status"] == "RUNNING"
    age_claim(local, trace_id, seconds=EXECUTION_TIMEOUT_SECONDS + 1)
    local.events.scheduled(RECONCILER)
    assert header(local, trace_id)["Status"] == "RUNNING"
    age_claim(local, trace_id, seconds=SWEEP_GRACE_SECONDS)
    result, error = local.events.scheduled(RECONCILER)

    assert error is None, result
    assert arn in result["Reconciled"]
    assert dead_lettered_addresses(local, trace_id) == [EMAIL]
    assert header(local, trace_id)["Status"] == "FAILED"
    # A second sweep (or a late event) finds nothing left to do.
    local.events.scheduled(RECONCILER)
    assert dead_lettered_addresses(local, trace_id) == [EMAIL]


@pytest.mark.both_workflows("a claim held until the timeout, then stale: how EXPRESS retries")
def test_a_running_claim_older_than_the_timeout_may_be_claimed_again(client, local, trace_id):
    client.send(request(trace_id))
    table = local.session.resource("dynamodb").Table(local.stack.physical("TracesTable")["Ref"])
    key = {"TraceId": trace_id, "Sk": header(local, trace_id)["Sk"]}
    # A claim whose execution ended unseen, and which no sweep has reconciled yet.
    table.update_item(
        Key=key,
        UpdateExpression="SET #s = :r",
        ExpressionAttributeNames={"#s": "Status"},
        ExpressionAttributeValues={":r": "RUNNING"},
    )

    again = client.send(request(trace_id))
    assert again.already_handled() == [trace_id]

    age_claim(local, trace_id, seconds=EXECUTION_TIMEOUT_SECONDS + 1)
    third = client.send(request(trace_id))

    assert third.already_handled() == []
    assert third.status == "SUCCEEDED"
    # Its recipients were sent by the first run: idempotency sends nobody twice.
    assert set(sent_counts(local, trace_id).values()) == {1}


@pytest.mark.both_workflows("a record dead-lettered out of its batch, which EXPRESS deletes")
@pytest.mark.parametrize(
    "address", [pytest.param("x" * 1100 + "@example.com", id="an-address-over-a-key's-size")]
)
def test_a_request_no_trace_can_record_is_dead_lettered_whole_not_stuck(
    client, local, trace_id, address
):
    # The API's schema refuses such an address; a hand-edited dead letter can still carry it.
    body = request(trace_id) | {"Addresses": {address: {"ChannelType": "EMAIL"}}}

    execution = client.send(body)

    assert execution.status == "SUCCEEDED"  # Plan dead-letters it alone; its batch goes on
    assert trace_items(local, trace_id) == {}
    [letter] = [m for m in all_dead_letters(local) if trace_id in m["Body"]]
    assert json.loads(letter["Body"])["Request"]["Addresses"] == {address: {"ChannelType": "EMAIL"}}
    cause = letter["MessageAttributes"]["Cause"]["StringValue"]
    assert "at most 254 characters" in cause


def age_claim(local, trace_id: str, seconds: int) -> None:
    """Move the trace's claim `seconds` into the past, as if that much time had gone by."""
    table = local.session.resource("dynamodb").Table(local.stack.physical("TracesTable")["Ref"])
    item = header(local, trace_id)
    claimed = datetime.fromisoformat(item["ClaimedAt"]) - timedelta(seconds=seconds)
    table.update_item(
        Key={"TraceId": trace_id, "Sk": item["Sk"]},
        UpdateExpression="SET ClaimedAt = :at",
        ExpressionAttributeValues={
            ":at": claimed.astimezone(UTC).isoformat(timespec="microseconds")
        },
    )


@reconciled
def test_a_small_fault_soak_loses_nothing_sends_nothing_twice_and_dead_letters_only_the_unsent(
    local, providers
):
    # `make soak` runs 50 requests of 20; CI runs 30 of 4 (batches of up to 10) and the
    # poisoned one, half the calls failing, every second batch stopped soon after it
    # starts (a stop with a send in flight costs the reconciler's wait of up to 65 s).
    # Failing with 5xx, not throttled: a throttle is outlasted (paced, with a backoff of
    # up to minutes), and is covered in test_send_budgets.py.
    result = soak(
        local, requests=30, recipients=4, stop_every=2, stop_after=(0.5, 1.5), fault="5xx"
    )

    assert result.stopped >= 1
    assert result.problems() == []
    assert (result.lost, result.duplicated, result.dead_lettered_but_sent) == (0, 0, 0)
    assert result.traces_running == 0
    assert result.dead_letters == result.requests_with_unsent
    assert result.dead_letters_exactly_unsent == result.dead_letters
    assert len(result.poison_errors_before) == 1
    assert result.poison_errors_after == ["InvalidMessage"]
    assert result.poison_sent == 0


@pytest.mark.express_only("a synchronous pipe returns a failed execution's requests to the queue")
def test_express_a_request_whose_execution_failed_returns_until_sent_or_dead_lettered(
    client, local, providers, trace_id
):
    # SMS2 always fails: each execution fails after its retries, and the pipe leaves the
    # request on the queue. Each receive re-sends only what is unsent; after the queue's
    # maxReceiveCount (3) SQS moves the request to the DLQ, where it means "not delivered".
    providers.add_fault(Fault(channel="SMS", error="5xx", address=SMS2))
    first = client.send(request(trace_id))
    age_claim(local, trace_id, seconds=EXECUTION_TIMEOUT_SECONDS + 1)  # its visibility timeout
    second = client.redeliver(trace_id)
    age_claim(local, trace_id, seconds=EXECUTION_TIMEOUT_SECONDS + 1)
    third = client.redeliver(trace_id)
    local.pipe.wait_settled()
    local.pipe.expire_visibility()

    assert [first.status, second.status, third.status] == ["FAILED"] * 3
    assert local.pipe.poll_once() == []  # the fourth receive moved it to the DLQ
    assert sent_counts(local, trace_id) == Counter({("EMAIL", EMAIL): 1, ("SMS", SMS): 1})
    [letter] = dead_letters(local, trace_id)
    assert json.loads(letter["Body"])["Request"] == request(trace_id)

    providers.clear_faults()
    age_claim(local, trace_id, seconds=EXECUTION_TIMEOUT_SECONDS + 1)  # the dead run's claim
    [redriven] = redrive(client, local, trace_id)
    assert redriven.status == "SUCCEEDED"
    assert set(sent_counts(local, trace_id).values()) == {1}
    assert len(sent_counts(local, trace_id)) == 3


@pytest.mark.express_only("a synchronous pipe returns a timed-out execution's requests")
def test_express_a_timed_out_execution_returns_its_request_and_each_recipient_is_sent_once(
    client, local, providers, trace_id
):
    slow = EXECUTION_TIMEOUT_SECONDS + 3
    providers.add_fault(Fault(channel="SMS", error="slow", seconds=slow, times=10))
    client.queue(crowd(trace_id))
    timed_out = client.wait(client.start_next(), trace_id=trace_id)
    wait_until_sent(local, trace_id, 10)  # the slow sends still land, as in AWS

    again = client.redeliver(trace_id)  # its claim is now older than the timeout

    assert (timed_out.status, again.status) == ("TIMED_OUT", "SUCCEEDED")
    assert set(sent_counts(local, trace_id).values()) == {1}
    assert len(sent_counts(local, trace_id)) == 12
    assert header(local, trace_id)["Status"] == "COMPLETED"
    assert dead_letters(local, trace_id) == []


@pytest.mark.express_only("only a synchronous pipe acts on batchItemFailures")
def test_express_a_duplicate_of_a_running_request_is_handed_back_not_dropped(
    client, local, providers, trace_id
):
    providers.add_fault(Fault(channel="SMS", error="slow", seconds=2, times=3))
    arn = start(client, trace_id)
    wait_until_attempted(local, trace_id, 1)
    duplicate = client.send(request(trace_id))  # while the first still runs
    local.pipe.wait_settled()

    assert duplicate.already_handled() == [trace_id]
    assert client.wait(arn).status == "SUCCEEDED"
    # The duplicate is back on the queue; received again, the trace is COMPLETED: done.
    third = client.redeliver(trace_id)
    assert third.already_handled() == [trace_id]
    local.pipe.wait_settled()
    local.pipe.expire_visibility()
    assert local.pipe.poll_once() == []
    assert set(sent_counts(local, trace_id).values()) == {1}
