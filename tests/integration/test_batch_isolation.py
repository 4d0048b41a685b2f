"""One request never harms another of its batch: poison, waits and late sends, through the real ASL.

An execution carries up to ten requests, of different tenants. Each test puts one
troublesome request beside nine ordinary ones from another tenant, all in one batch.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from conftest import (
    Client,
    all_dead_letters,
    dead_letters,
    end_the_wait,
    reconciled,
    trace_items,
    trace_status,
)

from emulator.local import LocalStack
from emulator.providers import Fault

# What leaves or re-enters a batch is where the pipes of the two workflow types part.
pytestmark = pytest.mark.both_workflows("one execution carries ten requests")

OWNER = "user:user-1"
OTHER_TENANT = {"sub": "tenant-b", "customer_id": "tenant-b"}
OTHER_OWNER = "customer:tenant-b"


def email(trace_id: str, *addresses: str, **fields: Any) -> dict[str, Any]:
    return {
        "TraceId": trace_id,
        "EmailMessage": {"FromAddress": "alerts@example.com", "Subject": "Hi", "TextBody": "Hi"},
        "Addresses": {address: {"ChannelType": "EMAIL"} for address in addresses},
    } | fields


def batch_mates(trace_id: str) -> list[str]:
    return [f"{trace_id}-mate-{n}" for n in range(9)]


def queue_mates(client: Client, trace_id: str) -> list[str]:
    mates = batch_mates(trace_id)
    for n, mate in enumerate(mates):
        client.queue(email(mate, f"mate{n}@example.com"), OTHER_TENANT)
    return mates


def run_queued(client: Client) -> list[Any]:
    """Start executions until the queue is drained (one batch of ten), and wait for each."""
    arns: list[str] = []
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        arns += client.local.pipe.poll_once()
        attributes = client.sqs.get_queue_attributes(
            QueueUrl=client.queue_url, AttributeNames=["ApproximateNumberOfMessages"]
        )["Attributes"]
        if arns and attributes["ApproximateNumberOfMessages"] == "0":
            break
    assert arns, "nothing reached the pipe"
    return [client.wait(arn) for arn in arns]


def assert_mates_sent_once(local: LocalStack, mates: list[str]) -> None:
    for n, mate in enumerate(mates):
        assert [m.to for m in local.providers.sent(mate)] == [f"mate{n}@example.com"], mate
        assert trace_items(local, mate)[OTHER_OWNER]["Status"] == "COMPLETED", mate


def test_a_poisoned_request_is_dead_lettered_alone_and_its_nine_batch_mates_are_sent_once(
    client, local, trace_id
):
    # Past the API's schema (a hand-edited dead letter): an address no service can store.
    client.queue(email(trace_id, "p\ud800@example.com"))  # first: where it did most harm
    mates = queue_mates(client, trace_id)

    executions = run_queued(client)

    assert {e.status for e in executions} == {"SUCCEEDED"}
    assert_mates_sent_once(local, mates)
    [letter] = dead_letters(local, trace_id)
    attributes = {k: v["StringValue"] for k, v in letter["MessageAttributes"].items()}
    assert attributes["Error"] == "InvalidMessage"
    assert "unpaired UTF-16 surrogate" in attributes["Cause"]
    assert all(item.get("Status") != "RUNNING" for item in trace_items(local, trace_id).values())
    assert not any(dead_letters(local, mate) for mate in mates)


def fallback_request(trace_id: str, recipients: int, seconds: int) -> dict[str, Any]:
    return {
        "TraceId": trace_id,
        "EmailMessage": {"FromAddress": "alerts@example.com", "Subject": "Hi", "TextBody": "Hi"},
        "SMSMessage": {"MessageBody": "Hi, by SMS"},
        "FallbackAfterSeconds": seconds,
        "Addresses": {
            f"r{n}@example.com": {
                "ChannelType": "EMAIL",
                "Fallback": [{"ChannelType": "SMS", "Address": f"+1604862{n:04d}"}],
            }
            for n in range(recipients)
        },
    }


def test_a_fallback_wait_holds_neither_its_batch_mates_nor_its_own_other_recipients(
    client, local, trace_id
):
    client.queue(fallback_request(trace_id, recipients=20, seconds=60))
    mates = queue_mates(client, trace_id)

    started = time.monotonic()
    executions = run_queued(client)

    # Nothing waited in the execution: it ended as soon as its sends were done.
    assert {e.status for e in executions} == {"SUCCEEDED"}
    assert time.monotonic() - started < 30
    assert all("Wait" not in e.states_entered() for e in executions)
    # 29 e-mails are over the account's budget for the execution's second and a half: the
    # last are paced, and come back through the queue long before the SMS fallbacks.
    client.until(
        lambda: (
            len(local.providers.sent(trace_id)) == 20
            and all(trace_status(local, mate, OTHER_OWNER) == "COMPLETED" for mate in mates)
        ),
        lambda: {t: trace_status(local, t, OTHER_OWNER) for t in mates},
        deadline=10,
    )
    assert_mates_sent_once(local, mates)
    assert sorted(m.to for m in local.providers.sent(trace_id)) == sorted(
        f"r{n}@example.com" for n in range(20)
    )
    header = trace_items(local, trace_id)[OWNER]
    assert header["Status"] == "SCHEDULED"  # its SMS fallbacks, 60 s after the e-mails

    # One e-mail is reported delivered within the wait; the other 19 fall back to SMS.
    table = local.session.resource("dynamodb").Table(local.stack.physical("TracesTable")["Ref"])
    table.update_item(
        Key={"TraceId": trace_id, "Sk": f"{OWNER}#EMAIL#r0@example.com"},
        UpdateExpression="SET DeliveryStatus = :delivered",
        ExpressionAttributeValues={":delivered": "delivered"},
    )
    end_the_wait(local, trace_id, OWNER)
    continued = client.wait(client.start_next(), trace_id=trace_id)

    assert continued.status == "SUCCEEDED"
    sms = sorted(m.to for m in continued.sent if m.channel == "SMS")
    assert sms == sorted(f"+1604862{n:04d}" for n in range(1, 20))
    assert trace_items(local, trace_id)[OWNER]["Status"] == "COMPLETED"
    assert dead_letters(local, trace_id) == []


@reconciled
def test_a_send_still_landing_when_its_execution_failed_stays_sent_and_is_never_sent_again(
    client, local, providers, trace_id
):
    failing, late = "fails@example.com", "late@example.com"
    providers.add_fault(Fault(channel="EMAIL", error="5xx", address=failing))
    # The late recipient fails its first Map (4 attempts, each a begin and an end on its
    # item, then Record's FAILED: 9 writes), then its second try is slow to reach its send
    # record: the execution fails (the other recipient's last try) before it is sent.
    providers.add_fault(Fault(channel="EMAIL", error="5xx", address=late, times=4))
    providers.add_fault(
        Fault(channel="DYNAMODB", error="slow", address=late, seconds=2, after=9, times=1)
    )

    execution = client.send(email(trace_id, failing, late))

    assert execution.status == "FAILED"
    items = trace_items(local, trace_id)
    assert items[f"{OWNER}#EMAIL#{late}"]["Status"] == "SENT"
    assert items[f"{OWNER}#EMAIL#{failing}"]["Status"] == "FAILED"
    [letter] = dead_letters(local, trace_id)
    assert list(json.loads(letter["Body"])["Request"]["Addresses"]) == [failing]

    # Redriven once the provider recovered: only the failed recipient is sent.
    providers.clear_faults()
    client.sqs.send_message(QueueUrl=client.queue_url, MessageBody=letter["Body"])
    redriven = client.wait(client.start_next(), trace_id=trace_id)

    assert redriven.status == "SUCCEEDED"
    assert sorted(m.to for m in local.providers.sent(trace_id)) == [failing, late]
    assert trace_items(local, trace_id)[OWNER]["Status"] == "COMPLETED"


def test_reconciling_or_planning_twice_never_writes_a_second_dead_letter(client, local, trace_id):
    client.queue(email(trace_id, "p\ud800@example.com"))
    message = client.sqs.receive_message(QueueUrl=client.queue_url, AttributeNames=["All"])[
        "Messages"
    ][0]
    pipe = local.pipe["QueueToStateMachinePipe"]
    before = len(all_dead_letters(local))

    # At-least-once: the same record in two executions, one after the other.
    executions = [client.wait(pipe.start(message)), client.wait(pipe.start(message))]

    assert [e.status for e in executions] == ["SUCCEEDED", "SUCCEEDED"]
    assert len(dead_letters(local, trace_id)) == 1
    assert len(all_dead_letters(local)) == before + 1
