"""The local SQS -> Lambda event source: what is deleted, what is left for a retry."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from emulator.event_sources import SqsEventSource, SqsPoller, sqs_event_sources
from emulator.stack import Stack


class FakeRuntime:
    """Answers each invocation with what the test says; remembers the batches."""

    def __init__(self) -> None:
        self.batches: list[list[dict[str, Any]]] = []
        self.answer: Any = lambda records: ({"batchItemFailures": []}, None)

    def invoke(self, function: str, payload: dict[str, Any]) -> tuple[Any, str | None]:
        self.batches.append(payload["Records"])
        return self.answer(payload["Records"])


@pytest.fixture
def queue(mocked_aws) -> tuple[str, str]:
    sqs = mocked_aws.client("sqs")
    url = sqs.create_queue(QueueName=f"q-{uuid.uuid4().hex}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
    return url, arn["QueueArn"]


def poller(mocked_aws, queue, runtime, report: bool = True, batch: int = 10) -> SqsPoller:
    source = SqsEventSource("fn", queue[1], batch, report)
    return SqsPoller(source, mocked_aws.client("sqs"), runtime)


def fill(mocked_aws, queue, count: int) -> None:
    for i in range(count):
        mocked_aws.client("sqs").send_message(QueueUrl=queue[0], MessageBody=f"m{i}")


def left(mocked_aws, queue) -> dict[str, int]:
    attributes = mocked_aws.client("sqs").get_queue_attributes(
        QueueUrl=queue[0],
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return {k: int(v) for k, v in attributes.items()}


def test_the_template_declares_the_inbound_and_callbacks_queues_as_batch_sources(mocked_aws):
    stack = Stack(mocked_aws, "unit")

    sources = sqs_event_sources(stack)

    assert sources == [
        SqsEventSource(
            function=f"unit-{function}",
            queue_arn=f"arn:aws:sqs:us-east-1:123456789012:unit-{queue}",
            batch_size=10,
            report_batch_item_failures=True,
        )
        for function, queue in (
            ("InboundFunction", "inbound"),
            ("CallbackDispatchFunction", "callbacks"),
        )
    ]


def test_a_functions_sqs_event_is_a_source_too(mocked_aws):
    stack = Stack(mocked_aws, "unit")
    resources = stack.template["Resources"]
    del resources["InboundQueueEventSource"]
    resources["InboundFunction"]["Properties"]["Events"] = {
        "Inbound": {
            "Type": "SQS",
            "Properties": {"Queue": {"Fn::GetAtt": ["InboundQueue", "Arn"]}, "BatchSize": 5},
        }
    }

    assert sqs_event_sources(stack)[0] == SqsEventSource(
        function="unit-InboundFunction",
        queue_arn="arn:aws:sqs:us-east-1:123456789012:unit-inbound",
        batch_size=5,
        report_batch_item_failures=False,
    )


def test_a_successful_batch_is_deleted(mocked_aws, queue):
    runtime = FakeRuntime()
    fill(mocked_aws, queue, 3)

    assert poller(mocked_aws, queue, runtime).poll_once() == (3, 0)
    assert [r["body"] for r in runtime.batches[0]] == ["m0", "m1", "m2"]
    assert left(mocked_aws, queue) == {
        "ApproximateNumberOfMessages": 0,
        "ApproximateNumberOfMessagesNotVisible": 0,
    }


def test_reported_failures_stay_on_the_queue_and_the_rest_is_deleted(mocked_aws, queue):
    runtime = FakeRuntime()
    runtime.answer = lambda records: (
        {"batchItemFailures": [{"itemIdentifier": records[1]["messageId"]}]},
        None,
    )
    fill(mocked_aws, queue, 3)

    assert poller(mocked_aws, queue, runtime).poll_once() == (2, 1)
    assert left(mocked_aws, queue)["ApproximateNumberOfMessagesNotVisible"] == 1


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param(lambda records: ({"errorMessage": "boom"}, "RuntimeError"), id="error"),
        pytest.param(
            lambda records: ({"batchItemFailures": [{"itemIdentifier": "not-in-batch"}]}, None),
            id="unknown item",
        ),
    ],
)
def test_a_failed_invocation_or_an_unknown_failure_leaves_the_whole_batch(
    mocked_aws, queue, answer
):
    runtime = FakeRuntime()
    runtime.answer = answer
    fill(mocked_aws, queue, 2)

    assert poller(mocked_aws, queue, runtime).poll_once() == (0, 2)


def test_without_report_batch_item_failures_a_returned_list_is_ignored(mocked_aws, queue):
    runtime = FakeRuntime()
    runtime.answer = lambda records: ({"batchItemFailures": [{"itemIdentifier": "x"}]}, None)
    fill(mocked_aws, queue, 2)

    assert poller(mocked_aws, queue, runtime, report=False).poll_once() == (2, 0)


def test_a_batch_is_at_most_the_batch_size(mocked_aws, queue):
    runtime = FakeRuntime()
    fill(mocked_aws, queue, 5)

    poller(mocked_aws, queue, runtime, batch=2).poll_once()

    assert len(runtime.batches[0]) <= 2
