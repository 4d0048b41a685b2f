"""The Delivery state machine's own steps, Plan and Record, called as the ASL calls them."""

from __future__ import annotations

import importlib
import json
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any

import pytest

from notify.domain.outcomes import RecipientsExhausted
from notify.domain.pacing import (
    COME_BACK_EARLY,
    NOT_BEFORE,
    SLOT_HELD,
    WAIT_IN_FUNCTION,
    WAIT_UNTIL,
)
from notify.domain.schedule import pointer_body, read_pointer, schedule_name

EXECUTION = "arn:aws:states:us-east-1:123456789012:execution:messaging-delivery:run-1"
ENVIRONMENT = {
    "TRACES_TABLE": "steps-traces",
    "OPT_OUTS_TABLE": "steps-opt-outs",
    "TRACE_RETENTION_DAYS": "1",
    "EXECUTION_TIMEOUT_SECONDS": "3600",
    "SEND_EMAIL_FUNCTION_ARN": "arn:email",
    "SEND_SMS_FUNCTION_ARN": "arn:sms",
    "SEND_WHATSAPP_FUNCTION_ARN": "arn:whatsapp",
    "SEND_VOICE_FUNCTION_ARN": "arn:voice",
    "POWERTOOLS_METRICS_NAMESPACE": "Messaging",
    "SCHEDULE_GROUP": "steps-sends",
    "SCHEDULER_ROLE_ARN": "arn:aws:iam::123456789012:role/steps-scheduler",
    "MESSAGE_QUEUE_ARN": "arn:aws:sqs:us-east-1:123456789012:steps-messages",
    "LARGE_MESSAGE_QUEUE_ARN": "arn:aws:sqs:us-east-1:123456789012:steps-large-messages",
    "DEAD_LETTER_QUEUE_ARN": "arn:aws:sqs:us-east-1:123456789012:steps-dlq",
    "SEND_BUDGETS_TABLE": "steps-budgets",
    "JOBS_TABLE": "steps-jobs",
    # Budgets with room for every send here: Plan books each recipient a slot of 1 ms.
    "SEND_RATE_EMAIL": "1000",
    "SEND_RATE_SMS": "1000",
    "SEND_RATE_WHATSAPP": "1000",
    "SEND_RATE_VOICE": "1000",
}
DLQ = "steps-dlq"
QUEUES = {"MESSAGE_QUEUE_URL": "steps-messages", "LARGE_MESSAGE_QUEUE_URL": "steps-large-messages"}


@pytest.fixture(scope="module")
def steps(mocked_aws, table_from_template) -> Iterator[dict[str, Any]]:
    traces = table_from_template("TracesTable", "steps-traces")
    opt_outs = table_from_template("OptOutsTable", "steps-opt-outs")
    table_from_template("SendBudgetsTable", ENVIRONMENT["SEND_BUDGETS_TABLE"])
    table_from_template("JobsTable", ENVIRONMENT["JOBS_TABLE"])
    sqs = mocked_aws.client("sqs")
    dlq = sqs.create_queue(QueueName=DLQ)["QueueUrl"]
    queues = {name: sqs.create_queue(QueueName=queue)["QueueUrl"] for name, queue in QUEUES.items()}
    mocked_aws.client("scheduler").create_schedule_group(Name=ENVIRONMENT["SCHEDULE_GROUP"])
    handlers = {}
    with pytest.MonkeyPatch.context() as env:
        for name, value in ENVIRONMENT.items():
            env.setenv(name, value)
        env.setenv("DEAD_LETTER_QUEUE_URL", dlq)
        for name, url in queues.items():
            env.setenv(name, url)
        for step in ("plan", "record_outcomes"):
            module = f"notify.handlers.{step}"
            sys.modules.pop(module, None)
            handlers[step] = importlib.import_module(module).handler
        yield handlers | {"traces": traces, "opt_outs": opt_outs, "dlq": dlq} | queues
        for step in ("plan", "record_outcomes"):
            sys.modules.pop(f"notify.handlers.{step}", None)


def record(trace_id: str, addresses: dict[str, Any]) -> dict[str, Any]:
    body = {
        "Caller": {"sub": "user-1"},
        "Request": {
            "TraceId": trace_id,
            "SMSMessage": {"MessageBody": "Hi"},
            "Addresses": addresses,
        },
    }
    return {"body": json.dumps(body), "messageId": str(uuid.uuid4())}


def test_plan_claims_the_trace_and_lists_each_recipient_with_its_function_and_slot(
    steps, lambda_context
):
    trace_id = f"t-{uuid.uuid4()}"
    records = [record(trace_id, {"+16048621234": {"ChannelType": "SMS"}})]

    before = time.time()
    planned = steps["plan"]({"Records": records, "ExecutionArn": EXECUTION}, lambda_context)

    assert planned["Requests"] == [
        {
            "TraceId": trace_id,
            "Owner": "user:user-1",
            "Caller": {"sub": "user-1"},
            "Messages": {"SMSMessage": {"MessageBody": "Hi"}},
        }
    ]
    # Its send slot, booked on the SMS budget (room: now), held for its send function,
    # which waits for slots up to a moment after Plan, and leaves later ones paced.
    recipient = planned["Deliveries"][0]["Recipient"]
    slot, until = recipient.get(NOT_BEFORE), recipient.get(WAIT_UNTIL)
    assert planned["Deliveries"] == [
        {
            "Request": 0,
            "Function": "arn:sms",
            "Recipient": {
                "Address": "+16048621234",
                "ChannelType": "SMS",
                NOT_BEFORE: slot,
                SLOT_HELD: True,
                WAIT_UNTIL: until,
            },
        }
    ]
    assert before - 1e-6 <= slot <= time.time()
    assert before + WAIT_IN_FUNCTION - 1e-6 <= until <= time.time() + WAIT_IN_FUNCTION
    assert planned["AlreadyHandled"] == planned["Rejected"] == []


def test_plan_of_a_trace_another_execution_holds_sends_nothing(steps, lambda_context):
    trace_id = f"t-{uuid.uuid4()}"
    records = [record(trace_id, {"+16048621234": {"ChannelType": "SMS"}})]
    steps["plan"]({"Records": records, "ExecutionArn": EXECUTION}, lambda_context)

    again = steps["plan"]({"Records": records, "ExecutionArn": EXECUTION + "-2"}, lambda_context)

    assert again["Deliveries"] == []
    assert again["AlreadyHandled"] == [{"TraceId": trace_id, "Owner": "user:user-1"}]


def test_plan_hands_back_a_record_whose_trace_another_execution_is_running(steps, lambda_context):
    trace_id = f"t-{uuid.uuid4()}"
    running = record(trace_id, {"+16048621234": {"ChannelType": "SMS"}})
    steps["plan"]({"Records": [running], "ExecutionArn": EXECUTION}, lambda_context)
    fresh = record(f"t-{uuid.uuid4()}", {"+16048621234": {"ChannelType": "SMS"}})

    batch = {"Records": [running, fresh], "ExecutionArn": EXECUTION + "-2"}
    again = steps["plan"](batch, lambda_context)

    assert [request["TraceId"] for request in again["Requests"]] == [
        json.loads(fresh["body"])["Request"]["TraceId"]
    ]
    assert again["batchItemFailures"] == [{"itemIdentifier": running["messageId"]}]


def dead_letters(steps, sqs) -> list[dict[str, Any]]:
    return sqs.receive_message(
        QueueUrl=steps["dlq"], MaxNumberOfMessages=10, VisibilityTimeout=0
    ).get("Messages", [])


def test_an_unreadable_record_is_dead_lettered_alone_and_once(steps, mocked_aws, lambda_context):
    sqs = mocked_aws.client("sqs")
    sqs.purge_queue(QueueUrl=steps["dlq"])
    good = record(f"t-{uuid.uuid4()}", {"+16048621234": {"ChannelType": "SMS"}})
    unreadable = {"body": '{"Caller": {"sub": "user-1"}}', "messageId": str(uuid.uuid4())}
    batch = {"Records": [unreadable, good], "ExecutionArn": EXECUTION}

    planned = steps["plan"](batch, lambda_context)
    steps["plan"](batch, lambda_context)  # retried after a lost answer

    assert len(planned["Deliveries"]) == 1
    [message] = dead_letters(steps, sqs)
    assert message["Body"] == unreadable["body"]


def test_plan_rejects_a_recipient_who_opted_out_of_the_channel(steps, lambda_context):
    steps["opt_outs"].put_item(Item={"Address": "+16048620099", "Channel": "SMS"})
    trace_id = f"t-{uuid.uuid4()}"
    addresses = {"+16048620099": {"ChannelType": "SMS"}, "+16048621234": {"ChannelType": "SMS"}}

    planned = steps["plan"](
        {"Records": [record(trace_id, addresses)], "ExecutionArn": EXECUTION}, lambda_context
    )

    assert [d["Recipient"]["Address"] for d in planned["Deliveries"]] == ["+16048621234"]
    [rejected] = planned["Rejected"]
    assert (rejected["Recipient"]["Address"], rejected["Status"]) == ("+16048620099", "REJECTED")


def outcome(trace_id: str, address: str, status: str) -> dict[str, Any]:
    return {
        "TraceId": trace_id,
        "Owner": "user:user-1",
        "Recipient": {"Address": address, "ChannelType": "SMS"},
        "Status": status,
        "Error": "PermanentError" if status == "REJECTED" else "TransientError",
        "Cause": "InvalidAddress: +1604" if status == "REJECTED" else "Throttled: slow down",
    }


def claimed(steps, lambda_context) -> str:
    trace_id = f"t-{uuid.uuid4()}"
    records = [record(trace_id, {"+1604": {"ChannelType": "SMS"}})]
    steps["plan"]({"Records": records, "ExecutionArn": EXECUTION}, lambda_context)
    return trace_id


def test_record_writes_a_rejection_and_completes_the_trace(steps, lambda_context):
    trace_id = claimed(steps, lambda_context)
    event = {"Outcomes": [outcome(trace_id, "+1604", "REJECTED")], "ExecutionArn": EXECUTION}

    assert steps["record_outcomes"](event, lambda_context) == {"batchItemFailures": []}

    items = {i["Sk"]: i for i in steps["traces"].scan()["Items"] if i["TraceId"] == trace_id}
    assert items["user:user-1"]["Status"] == "COMPLETED"
    assert items["user:user-1#SMS#+1604"]["Reason"] == "InvalidAddress: +1604"


def test_record_says_when_a_recipient_exhausted_its_retries(steps, lambda_context):
    trace_id = claimed(steps, lambda_context)
    event = {"Outcomes": [outcome(trace_id, "+1604", "FAILED")], "ExecutionArn": EXECUTION}

    with pytest.raises(RecipientsExhausted):
        steps["record_outcomes"](event, lambda_context)

    items = {i["Sk"]: i for i in steps["traces"].scan()["Items"] if i["TraceId"] == trace_id}
    assert items["user:user-1"]["Status"] == "RUNNING"  # the retry, or the reconciler, ends it
    assert items["user:user-1#SMS#+1604"]["Status"] == "FAILED"


def scheduled_record(trace_id: str, send_at: str) -> dict[str, Any]:
    queued = record(trace_id, {"+16048621234": {"ChannelType": "SMS"}})
    body = json.loads(queued["body"])
    body["Request"]["SendAt"] = send_at
    return queued | {"body": json.dumps(body)}


def test_plan_schedules_a_request_whose_send_at_is_ahead_and_sends_nothing_now(
    steps, lambda_context, mocked_aws
):
    trace_id = f"t-{uuid.uuid4()}"
    send_at = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    event = {"Records": [scheduled_record(trace_id, send_at)], "ExecutionArn": EXECUTION}

    planned = steps["plan"](event, lambda_context)
    steps["plan"](event, lambda_context)  # a retried Plan: the same schedule

    assert (planned["Deliveries"], planned["Rejected"]) == ([], [])
    header = steps["traces"].get_item(Key={"TraceId": trace_id, "Sk": "user:user-1"})["Item"]
    assert header["Status"] == "SCHEDULED"
    assert header["Recipients"] == [["SMS#+16048621234"]]
    scheduler = mocked_aws.client("scheduler")
    [summary] = [
        s
        for s in scheduler.list_schedules(GroupName="steps-sends")["Schedules"]
        if s["Name"] == schedule_name("user:user-1", trace_id)
    ]
    schedule = scheduler.get_schedule(Name=summary["Name"], GroupName="steps-sends")
    assert schedule["ActionAfterCompletion"] == "DELETE"
    assert schedule["FlexibleTimeWindow"] == {"Mode": "OFF"}
    assert schedule["Target"]["Arn"] == ENVIRONMENT["MESSAGE_QUEUE_ARN"]
    assert read_pointer(schedule["Target"]["Input"]) == (trace_id, "user:user-1")


def test_a_fired_schedule_is_planned_from_the_request_kept_on_its_trace(steps, lambda_context):
    trace_id = f"t-{uuid.uuid4()}"
    soon = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    steps["plan"](
        {"Records": [scheduled_record(trace_id, soon)], "ExecutionArn": EXECUTION}, lambda_context
    )
    # Its time has come (as if an hour went by).
    key = {"TraceId": trace_id, "Sk": "user:user-1"}
    steps["traces"].update_item(
        Key=key, UpdateExpression="SET SendAt = :past", ExpressionAttributeValues={":past": "2000"}
    )
    body = json.loads(steps["traces"].get_item(Key=key)["Item"]["ScheduledRequest"])
    body["Request"]["SendAt"] = "2000-01-01T00:00:00Z"
    steps["traces"].update_item(
        Key=key,
        UpdateExpression="SET ScheduledRequest = :body",
        ExpressionAttributeValues={":body": json.dumps(body)},
    )
    pointer = {"body": pointer_body(trace_id, "user:user-1"), "messageId": "m-1"}

    planned = steps["plan"]({"Records": [pointer], "ExecutionArn": EXECUTION}, lambda_context)

    assert [d["Recipient"]["Address"] for d in planned["Deliveries"]] == ["+16048621234"]
    assert steps["traces"].get_item(Key=key)["Item"]["Status"] == "RUNNING"


def test_a_send_at_more_than_a_year_ahead_rejects_every_recipient(steps, lambda_context):
    trace_id = f"t-{uuid.uuid4()}"
    too_late = (datetime.now(UTC) + timedelta(days=400)).isoformat()
    event = {"Records": [scheduled_record(trace_id, too_late)], "ExecutionArn": EXECUTION}

    planned = steps["plan"](event, lambda_context)

    assert planned["Deliveries"] == []
    [rejected] = planned["Rejected"]
    assert rejected["Cause"].startswith("SendAtOutOfRange: SendAt")


def drain(steps, sqs) -> None:
    """Empty the DLQ (PurgeQueue is allowed once a minute)."""
    while messages := sqs.receive_message(QueueUrl=steps["dlq"], MaxNumberOfMessages=10).get(
        "Messages"
    ):
        for message in messages:
            sqs.delete_message(QueueUrl=steps["dlq"], ReceiptHandle=message["ReceiptHandle"])


def fail_for(trace_id: str, method: Any) -> Any:
    """A store method that fails (a bug, a value a service refuses) for one trace alone."""

    def failing(trace: str, *args: Any, **kwargs: Any) -> Any:
        if trace == trace_id:
            raise RuntimeError(f"cannot store {trace}")
        return method(trace, *args, **kwargs)

    return failing


def test_a_request_that_cannot_be_claimed_is_dead_lettered_alone_and_once(
    steps, mocked_aws, lambda_context, monkeypatch
):
    sqs = mocked_aws.client("sqs")
    drain(steps, sqs)
    poisoned, fine = f"t-{uuid.uuid4()}", f"t-{uuid.uuid4()}"
    module = sys.modules["notify.handlers.plan"]
    monkeypatch.setattr(module.store, "claim", fail_for(poisoned, module.store.claim))
    records = [
        record(trace_id, {"+16048621234": {"ChannelType": "SMS"}}) for trace_id in (poisoned, fine)
    ]
    batch = {"Records": records, "ExecutionArn": EXECUTION}

    planned = steps["plan"](batch, lambda_context)
    steps["plan"](batch, lambda_context)  # retried after a lost answer

    assert [request["TraceId"] for request in planned["Requests"]] == [fine]
    [letter] = dead_letters(steps, sqs)
    assert letter["Body"] == records[0]["body"]


def test_a_trace_whose_outcomes_cannot_be_written_is_dead_lettered_alone(
    steps, mocked_aws, lambda_context, monkeypatch
):
    sqs = mocked_aws.client("sqs")
    drain(steps, sqs)
    poisoned, fine = claimed(steps, lambda_context), claimed(steps, lambda_context)
    module = sys.modules["notify.handlers.record_outcomes"]
    monkeypatch.setattr(module.store, "record", fail_for(poisoned, module.store.record))
    requests = [
        {"TraceId": t, "Owner": "user:user-1", "Caller": {"sub": "user-1"}, "Messages": {}}
        for t in (poisoned, fine)
    ]
    event = {
        "Outcomes": [outcome(poisoned, "+1604", "FAILED"), outcome(fine, "+1604", "REJECTED")],
        "Requests": requests,
        "ExecutionArn": EXECUTION,
    }

    # Its exhausted recipient is dead-lettered rather than retried: nothing is exhausted.
    assert steps["record_outcomes"](event, lambda_context) == {"batchItemFailures": []}
    steps["record_outcomes"](event, lambda_context)  # retried: no second letter

    headers = {
        i["TraceId"]: i["Status"]
        for i in steps["traces"].scan()["Items"]
        if i["Sk"] == "user:user-1"
    }
    assert (headers[poisoned], headers[fine]) == ("FAILED", "COMPLETED")
    [letter] = dead_letters(steps, sqs)
    assert list(json.loads(letter["Body"])["Request"]["Addresses"]) == ["+1604"]


def test_plan_books_a_bulk_requests_slots_together_in_the_bulk_lane(steps, lambda_context):
    trace_id = f"t-{uuid.uuid4()}"
    addresses = {f"+1604862100{n}": {"ChannelType": "SMS"} for n in range(3)}
    queued = record(trace_id, addresses)
    body = json.loads(queued["body"])
    body["Request"]["Priority"] = "bulk"

    planned = steps["plan"](
        {"Records": [queued | {"body": json.dumps(body)}], "ExecutionArn": EXECUTION},
        lambda_context,
    )

    [request] = planned["Requests"]
    assert request["Priority"] == "bulk"  # kept for its continuations and its fallbacks
    slots = [d["Recipient"][NOT_BEFORE] for d in planned["Deliveries"]]
    assert all(d["Recipient"][SLOT_HELD] for d in planned["Deliveries"])
    # Contiguous, one interval (1 ms at 1000/s) apart: the request comes back once if paced.
    assert [round(b - a, 6) for a, b in pairwise(slots)] == [0.001, 0.001]


def paced(trace_id: str, address: str, not_before: float) -> dict[str, Any]:
    """The PACED outcome of a send that left the execution for its slot at `not_before`."""
    recipient = {"Address": address, "ChannelType": "SMS", NOT_BEFORE: not_before, SLOT_HELD: True}
    return {
        "TraceId": trace_id,
        "Owner": "user:user-1",
        "Recipient": recipient,
        "Status": "PACED",
        "Delivery": {"Request": 0, "Function": "arn:sms", "Recipient": recipient},
    }


def request_entry(trace_id: str) -> dict[str, Any]:
    return {
        "TraceId": trace_id,
        "Owner": "user:user-1",
        "Caller": {"sub": "user-1"},
        "Messages": {"SMSMessage": {"MessageBody": "Hi"}},
    }


def test_record_continues_a_paced_send_with_its_slot_on_a_message_delayed_until_due_back(
    steps, mocked_aws, lambda_context
):
    trace_id = claimed(steps, lambda_context)
    slot = time.time() + COME_BACK_EARLY + 2.5
    due = slot - COME_BACK_EARLY  # back early, to wait for its slot in the function
    event = {
        "Outcomes": [paced(trace_id, "+1604", slot)],
        "Requests": [request_entry(trace_id)],
        "ExecutionArn": EXECUTION,
    }

    assert steps["record_outcomes"](event, lambda_context) == {"batchItemFailures": []}

    header = steps["traces"].get_item(Key={"TraceId": trace_id, "Sk": "user:user-1"})["Item"]
    assert header["Status"] == "SCHEDULED"  # waiting is not failing: nothing recorded failed
    assert datetime.fromisoformat(header["SendAt"]).timestamp() == pytest.approx(due, abs=1e-5)
    continued = json.loads(header["ScheduledRequest"])["Request"]["Addresses"]
    assert continued == {"+1604": {"ChannelType": "SMS", NOT_BEFORE: slot, SLOT_HELD: True}}
    # On the request's own queue, delayed whole seconds: not yet, and never after it is due.
    sqs, queue = mocked_aws.client("sqs"), steps["MESSAGE_QUEUE_URL"]
    assert sqs.receive_message(QueueUrl=queue).get("Messages", []) == []
    time.sleep(max(0.0, due - time.time()))
    [message] = sqs.receive_message(QueueUrl=queue)["Messages"]
    assert read_pointer(message["Body"]) == (trace_id, "user:user-1")
    sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])


def test_record_continues_a_send_paced_beyond_fifteen_minutes_with_a_one_time_schedule(
    steps, mocked_aws, lambda_context
):
    trace_id = claimed(steps, lambda_context)
    event = {
        "Outcomes": [paced(trace_id, "+1604", time.time() + 3600)],
        "Requests": [request_entry(trace_id)],
        "ExecutionArn": EXECUTION,
    }

    steps["record_outcomes"](event, lambda_context)

    header = steps["traces"].get_item(Key={"TraceId": trace_id, "Sk": "user:user-1"})["Item"]
    name = schedule_name("user:user-1", trace_id, header["SendAt"])
    schedule = mocked_aws.client("scheduler").get_schedule(Name=name, GroupName="steps-sends")
    assert schedule["Target"]["Arn"] == ENVIRONMENT["MESSAGE_QUEUE_ARN"]
    assert read_pointer(schedule["Target"]["Input"]) == (trace_id, "user:user-1")
