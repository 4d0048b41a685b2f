"""The local DynamoDB stream -> Lambda event source: records in order, retries, give-up."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from emulator.stack import Stack
from emulator.stream_sources import (
    STREAMS_CLIENT_CONFIG,
    StreamEventSource,
    StreamPoller,
    stream_event_sources,
)


class FakeRuntime:
    """Answers each invocation with what the test says; remembers the batches."""

    def __init__(self) -> None:
        self.batches: list[list[dict[str, Any]]] = []
        self.answer: Any = lambda records: ({"batchItemFailures": []}, None)

    def invoke(self, function: str, payload: dict[str, Any]) -> tuple[Any, str | None]:
        self.batches.append(payload["Records"])
        return self.answer(payload["Records"])


@pytest.fixture
def table(mocked_aws) -> tuple[str, str]:
    name = f"t-{uuid.uuid4().hex}"
    created = mocked_aws.client("dynamodb").create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    return name, created["TableDescription"]["LatestStreamArn"]


@pytest.fixture
def failures(mocked_aws) -> str:
    return mocked_aws.client("sqs").create_queue(QueueName=f"f-{uuid.uuid4().hex}")["QueueUrl"]


def poller(mocked_aws, table, runtime, failures=None, **options: Any) -> StreamPoller:
    queue_arn = None
    if failures:
        attributes = mocked_aws.client("sqs").get_queue_attributes(
            QueueUrl=failures, AttributeNames=["QueueArn"]
        )["Attributes"]
        queue_arn = attributes["QueueArn"]
    source = StreamEventSource(
        function="fn",
        stream_arn=table[1],
        batch_size=options.get("batch", 100),
        starting_position="TRIM_HORIZON",
        report_batch_item_failures=True,
        bisect=options.get("bisect", False),
        maximum_retry_attempts=options.get("retries", 2),
        on_failure=queue_arn,
    )
    streams = mocked_aws.client("dynamodbstreams", config=STREAMS_CLIENT_CONFIG)
    return StreamPoller(source, streams, mocked_aws.client("sqs"), runtime)


def write(mocked_aws, table, *values: str) -> None:
    for value in values:
        mocked_aws.client("dynamodb").put_item(
            TableName=table[0], Item={"k": {"S": "item"}, "v": {"S": value}}
        )


def test_the_template_maps_the_traces_tables_stream_to_the_status_events_function(mocked_aws):
    stack = Stack(mocked_aws, "unit-streams").deploy()

    [source] = stream_event_sources(stack)

    assert (source.function, source.batch_size, source.starting_position) == (
        "unit-streams-StatusEventsFunction",
        100,
        "TRIM_HORIZON",
    )
    assert source.stream_arn == stack.physical("TracesTable")["StreamArn"]
    assert source.on_failure.endswith(":unit-streams-status-events-dlq")
    assert (source.report_batch_item_failures, source.bisect) == (True, True)
    assert source.maximum_retry_attempts == 10


def test_each_write_reaches_the_function_in_order_with_old_and_new_images(mocked_aws, table):
    runtime = FakeRuntime()
    source = poller(mocked_aws, table, runtime)
    write(mocked_aws, table, "a", "b")

    assert source.poll_once() == 2

    [batch] = runtime.batches
    assert [r["eventName"] for r in batch] == ["INSERT", "MODIFY"]
    assert batch[1]["dynamodb"]["OldImage"]["v"] == {"S": "a"}
    assert batch[1]["dynamodb"]["NewImage"]["v"] == {"S": "b"}
    assert batch[0]["eventSourceARN"] == table[1]
    assert isinstance(batch[0]["dynamodb"]["ApproximateCreationDateTime"], int)
    assert source.poll_once() == 0  # read once


def test_a_reported_failure_is_retried_from_that_record_on(mocked_aws, table):
    runtime = FakeRuntime()
    answers = iter([1, None])

    def fail_second_once(records):
        failed = next(answers, None)
        items = (
            [{"itemIdentifier": records[failed]["dynamodb"]["SequenceNumber"]}] if failed else []
        )
        return {"batchItemFailures": items}, None

    runtime.answer = fail_second_once
    source = poller(mocked_aws, table, runtime)
    write(mocked_aws, table, "a", "b", "c")

    source.poll_once()

    assert [[r["dynamodb"]["NewImage"]["v"]["S"] for r in b] for b in runtime.batches] == [
        ["a", "b", "c"],
        ["b", "c"],
    ]


def test_a_batch_that_keeps_failing_goes_to_the_on_failure_queue_and_the_shard_moves_on(
    mocked_aws, table, failures
):
    runtime = FakeRuntime()
    runtime.answer = lambda records: ({"errorMessage": "boom"}, "RuntimeError")
    source = poller(mocked_aws, table, runtime, failures, retries=1)
    write(mocked_aws, table, "a")

    source.poll_once()

    assert len(runtime.batches) == 2  # the first attempt and one retry
    [message] = mocked_aws.client("sqs").receive_message(QueueUrl=failures)["Messages"]
    info = json.loads(message["Body"])
    assert info["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert info["DDBStreamBatchInfo"]["batchSize"] == 1
    assert info["DDBStreamBatchInfo"]["streamArn"] == table[1]
    runtime.answer = lambda records: ({"batchItemFailures": []}, None)
    write(mocked_aws, table, "b")
    source.poll_once()
    assert runtime.batches[-1][0]["dynamodb"]["NewImage"]["v"] == {"S": "b"}


def test_a_failing_batch_is_halved_when_bisecting(mocked_aws, table):
    runtime = FakeRuntime()

    def fail_with_c(records):
        values = [r["dynamodb"]["NewImage"]["v"]["S"] for r in records]
        return ({"errorMessage": "c"}, "RuntimeError") if "c" in values else ({}, None)

    runtime.answer = fail_with_c
    source = poller(mocked_aws, table, runtime, bisect=True, retries=2)
    write(mocked_aws, table, "a", "b", "c", "d")

    source.poll_once()

    sizes = [len(batch) for batch in runtime.batches]
    assert sizes[:3] == [4, 2, 2]  # whole, then each half
    assert ["a", "b"] in [[r["dynamodb"]["NewImage"]["v"]["S"] for r in b] for b in runtime.batches]
