"""ReconcileFunction: an execution's status-change event, or the sweep, to one dead letter."""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from notify.integration.dynamodb_table import DynamoTable
from notify.integration.traces.attempts import AttemptStore
from notify.integration.traces.claims import ClaimStore
from notify.integration.traces.reads import TraceReader

MODULE = "notify.handlers.reconcile"
OWNER = "user:user-1"
DEFINITION = {"StartAt": "Wait", "States": {"Wait": {"Type": "Wait", "Seconds": 60, "End": True}}}


@pytest.fixture(scope="module")
def reconciler(mocked_aws, table_from_template) -> Iterator[dict[str, Any]]:
    traces = table_from_template("TracesTable", "reconcile-traces")
    sqs = mocked_aws.client("sqs")
    dlq = sqs.create_queue(QueueName="reconcile-dlq")["QueueUrl"]
    mocked_aws.client("scheduler").create_schedule_group(Name="reconcile-sends")
    sfn = mocked_aws.client("stepfunctions")
    machine = sfn.create_state_machine(
        name="reconcile-delivery",
        definition=json.dumps(DEFINITION),
        roleArn="arn:aws:iam::123456789012:role/delivery",
    )["stateMachineArn"]
    with pytest.MonkeyPatch.context() as env:
        env.setenv("TRACES_TABLE", "reconcile-traces")
        env.setenv("TRACE_RETENTION_DAYS", "1")
        env.setenv("EXECUTION_TIMEOUT_SECONDS", "3600")
        env.setenv("DEAD_LETTER_QUEUE_URL", dlq)
        env.setenv("SCHEDULE_GROUP", "reconcile-sends")
        sys.modules.pop(MODULE, None)
        table = DynamoTable(mocked_aws.client("dynamodb"), traces.name)
        yield {
            "handler": importlib.import_module(MODULE).handler,
            "claims": ClaimStore(table, 1),
            "attempts": AttemptStore(table, 1),
            "reads": TraceReader(table),
            "sqs": sqs,
            "dlq": dlq,
            "sfn": sfn,
            "machine": machine,
        }
    sys.modules.pop(MODULE, None)


def stopped_execution(reconciler: dict[str, Any], trace_id: str, addresses: list[str]) -> str:
    """An execution of one queued request, claimed by it, then stopped (ABORTED)."""
    request = {
        "TraceId": trace_id,
        "SMSMessage": {"MessageBody": "Hi"},
        "Addresses": {address: {"ChannelType": "SMS"} for address in addresses},
    }
    body = json.dumps({"Caller": {"sub": "user-1"}, "Request": request})
    sfn = reconciler["sfn"]
    arn = sfn.start_execution(
        stateMachineArn=reconciler["machine"],
        input=json.dumps([{"messageId": f"m-{trace_id}", "body": body}]),
    )["executionArn"]
    reconciler["claims"].claim(trace_id, OWNER, arn, "2000-01-01T00:00:00+00:00")
    sfn.stop_execution(executionArn=arn, error="Operator", cause="stopped by a test")
    return arn


def status_change(arn: str) -> dict[str, Any]:
    return {
        "detail-type": "Step Functions Execution Status Change",
        "source": "aws.states",
        "detail": {"executionArn": arn, "status": "ABORTED"},
    }


def dead_letters(reconciler: dict[str, Any], trace_id: str) -> list[dict[str, Any]]:
    messages = (
        reconciler["sqs"]
        .receive_message(
            QueueUrl=reconciler["dlq"],
            MaxNumberOfMessages=10,
            VisibilityTimeout=0,
            MessageAttributeNames=["All"],
        )
        .get("Messages", [])
    )
    return [m for m in messages if json.loads(m["Body"])["Request"]["TraceId"] == trace_id]


def test_a_stopped_execution_dead_letters_its_unsent_recipients_once(reconciler, lambda_context):
    arn = stopped_execution(reconciler, "stopped", ["+16048621234", "+16048621235"])
    attempts = reconciler["attempts"]
    attempts.begin_send("stopped", OWNER, "SMS", "+16048621234", "2000-01-01T00:00:00+00:00")
    attempts.complete_send("stopped", OWNER, "SMS", "+16048621234", "p-1", "2026-11-27T10:00:00")

    result = reconciler["handler"](status_change(arn), lambda_context)
    reconciler["handler"](status_change(arn), lambda_context)  # the event delivered twice

    assert "dead-lettered 1 unsent recipient(s)" in result["Reconciled"][arn]
    [letter] = dead_letters(reconciler, "stopped")
    assert list(json.loads(letter["Body"])["Request"]["Addresses"]) == ["+16048621235"]
    assert letter["MessageAttributes"]["ExecutionArn"]["StringValue"] == arn
    header, _ = reconciler["reads"].read("stopped", OWNER)
    assert header["Status"] == "FAILED"


def test_the_sweep_reconciles_a_trace_still_running_past_the_timeout(
    reconciler, mocked_aws, lambda_context
):
    arn = stopped_execution(reconciler, "swept", ["+16048621236"])
    # Its status-change event was lost, and an hour and more has gone by since the claim.
    mocked_aws.resource("dynamodb").Table("reconcile-traces").update_item(
        Key={"TraceId": "swept", "Sk": OWNER},
        UpdateExpression="SET ClaimedAt = :long_ago",
        ExpressionAttributeValues={":long_ago": "2000-01-01T00:00:00.000000+00:00"},
    )

    result = reconciler["handler"]({"source": "aws.events"}, lambda_context)

    assert arn in result["Reconciled"]
    [letter] = dead_letters(reconciler, "swept")
    assert list(json.loads(letter["Body"])["Request"]["Addresses"]) == ["+16048621236"]
