"""The Delivery state machine's own steps, Plan and Record, called as the ASL calls them."""

from __future__ import annotations

import importlib
import json
import sys
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from notify.domain.outcomes import RecipientsExhausted

EXECUTION = "arn:aws:states:us-east-1:123456789012:execution:messaging-delivery:run-1"
ENVIRONMENT = {
    "TRACES_TABLE": "steps-traces",
    "OPT_OUTS_TABLE": "steps-opt-outs",
    "TRACE_RETENTION_DAYS": "1",
    "EXECUTION_TIMEOUT_SECONDS": "3600",
    "SEND_EMAIL_FUNCTION_ARN": "arn:email",
    "SEND_SMS_FUNCTION_ARN": "arn:sms",
    "SEND_WHATSAPP_FUNCTION_ARN": "arn:whatsapp",
    "POWERTOOLS_METRICS_NAMESPACE": "Messaging",
}
DLQ = "steps-dlq"


@pytest.fixture(scope="module")
def steps(mocked_aws, table_from_template) -> Iterator[dict[str, Any]]:
    traces = table_from_template("TracesTable", "steps-traces")
    opt_outs = table_from_template("OptOutsTable", "steps-opt-outs")
    dlq = mocked_aws.client("sqs").create_queue(QueueName=DLQ)["QueueUrl"]
    handlers = {}
    with pytest.MonkeyPatch.context() as env:
        for name, value in ENVIRONMENT.items():
            env.setenv(name, value)
        env.setenv("DEAD_LETTER_QUEUE_URL", dlq)
        for step in ("plan", "record_outcomes"):
            module = f"notify.handlers.{step}"
            sys.modules.pop(module, None)
            handlers[step] = importlib.import_module(module).handler
        yield handlers | {"traces": traces, "opt_outs": opt_outs, "dlq": dlq}
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


def test_plan_claims_the_trace_and_lists_each_recipient_with_its_function(steps, lambda_context):
    trace_id = f"t-{uuid.uuid4()}"
    records = [record(trace_id, {"+16048621234": {"ChannelType": "SMS"}})]

    planned = steps["plan"]({"Records": records, "ExecutionArn": EXECUTION}, lambda_context)

    assert planned["Requests"] == [
        {
            "TraceId": trace_id,
            "Owner": "user:user-1",
            "Messages": {"SMSMessage": {"MessageBody": "Hi"}},
        }
    ]
    assert planned["Deliveries"] == [
        {
            "Request": 0,
            "Function": "arn:sms",
            "Recipient": {"Address": "+16048621234", "ChannelType": "SMS"},
        }
    ]
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
