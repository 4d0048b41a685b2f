"""Scheduled sends and cancellation through the real ASL, Plan and the local Scheduler."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from conftest import cancel, dead_letters, reconciled, trace_items

from emulator.providers import Fault
from notify.domain.schedule import DUE_TOLERANCE, schedule_name

OWNER = "user:user-1"
SMS = "+16048621234"
EMAIL = "user@example.com"


def request(trace_id: str, send_at: datetime | None = None, *addresses: str) -> dict:
    body = {
        "TraceId": trace_id,
        "SMSMessage": {"MessageBody": "Your code is 1234"},
        "EmailMessage": {"FromAddress": "alerts@example.com", "Subject": "Hi", "TextBody": "Hi"},
        "Addresses": {
            address: {"ChannelType": "EMAIL" if "@" in address else "SMS"}
            for address in addresses or (SMS,)
        },
    }
    return body | ({"SendAt": send_at.isoformat()} if send_at else {})


def schedules(local) -> list[str]:
    return [s["Name"] for s in local.client("scheduler").list_schedules()["Schedules"]]


@pytest.mark.both_workflows("the request comes back through the queue and the pipe")
def test_a_request_to_send_later_is_scheduled_then_sent_once_at_its_time(client, local, trace_id):
    send_at = datetime.now(UTC) + DUE_TOLERANCE + timedelta(seconds=2)

    first = client.send(request(trace_id, send_at))

    assert (first.status, first.sent) == ("SUCCEEDED", [])
    assert trace_items(local, trace_id)[OWNER]["Status"] == "SCHEDULED"
    assert schedule_name(OWNER, trace_id) in schedules(local)
    # Plan counts a SendAt within DUE_TOLERANCE as due: wait for that, then fire it.
    time.sleep(max(0.0, (send_at - DUE_TOLERANCE - datetime.now(UTC)).total_seconds()))
    fired = local.scheduler.fire_due(send_at + timedelta(seconds=1))  # at() has whole seconds
    assert fired == [schedule_name(OWNER, trace_id)]

    second = client.wait(client.start_next(), trace_id=trace_id)

    assert second.status == "SUCCEEDED"
    assert [m.to for m in second.sent] == [SMS]
    assert trace_items(local, trace_id)[OWNER]["Status"] == "COMPLETED"
    assert schedule_name(OWNER, trace_id) not in schedules(local)


def test_a_scheduled_request_cancelled_before_its_time_is_never_sent(client, local, trace_id):
    send_at = datetime.now(UTC) + timedelta(hours=1)
    client.send(request(trace_id, send_at, SMS, EMAIL))

    code, body = cancel(local, trace_id)

    assert (code, body["Status"]) == (200, "CANCELLED")
    assert sorted(r["Address"] for r in body["Cancelled"]) == [SMS, EMAIL]
    assert schedule_name(OWNER, trace_id) not in schedules(local)
    items = trace_items(local, trace_id)
    assert {item["Status"] for item in items.values()} == {"CANCELLED"}
    assert cancel(local, trace_id)[0] == 409
    assert dead_letters(local, trace_id) == []


def test_cancelling_mid_flight_stops_the_recipient_not_yet_begun_and_reports_the_others(
    client, local, providers, trace_id
):
    # The Map sends ten at a time: ten slow sends hold the eleventh back while we cancel.
    numbers = [f"+1604862{1200 + i}" for i in range(11)]
    providers.add_fault(Fault(channel="SMS", error="slow", seconds=1.5))
    client.queue(request(trace_id, None, *numbers))
    arn = client.start_next()
    deadline = time.monotonic() + 10
    while sum(channel == "SMS" and to in numbers for channel, to in providers.attempts) < 10:
        assert time.monotonic() < deadline, f"attempts so far: {providers.attempts}"
        time.sleep(0.02)

    code, body = cancel(local, trace_id)
    execution = client.wait(arn, trace_id=trace_id)

    assert code == 200
    [held_back] = [n for n in numbers if {"Address": n, "ChannelType": "SMS"} in body["Cancelled"]]
    assert sorted(r["Address"] for r in body["InFlight"]) == sorted(set(numbers) - {held_back})
    assert execution.status == "SUCCEEDED"
    assert sorted(m.to for m in execution.sent) == sorted(set(numbers) - {held_back})
    items = trace_items(local, trace_id)
    assert items[f"{OWNER}#SMS#{held_back}"]["Status"] == "CANCELLED"
    assert items[OWNER]["Status"] == "CANCELLED"
    assert dead_letters(local, trace_id) == []


@reconciled
def test_a_plan_that_fails_before_the_schedule_is_made_dead_letters_it_and_a_redrive_schedules_it(
    client, local, providers, trace_id
):
    providers.add_fault(Fault(channel="SCHEDULER", error="5xx"))
    send_at = datetime.now(UTC) + timedelta(hours=1)

    failed = client.send(request(trace_id, send_at))

    assert failed.status == "FAILED"
    assert trace_items(local, trace_id)[OWNER]["Status"] == "SCHEDULED"  # kept, not scheduled
    assert schedule_name(OWNER, trace_id) not in schedules(local)
    [letter] = dead_letters(local, trace_id)
    cause = letter["MessageAttributes"]["Cause"]["StringValue"]
    assert "before it was scheduled" in cause

    providers.clear_faults()
    client.sqs.send_message(QueueUrl=client.queue_url, MessageBody=letter["Body"])
    redriven = client.wait(client.start_next(), trace_id=trace_id)

    assert (redriven.status, redriven.sent) == ("SUCCEEDED", [])
    assert schedule_name(OWNER, trace_id) in schedules(local)
