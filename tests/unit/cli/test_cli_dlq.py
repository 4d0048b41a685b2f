"""Dead letters: summarised for an operator, and moved back by hand without loss."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from cli.dlq import move_by_hand, read_all, render_summary, summarise
from cli.errors import CommandError
from emulator.moto_patches import refuse_what_sqs_refuses
from notify.domain.outcomes import as_it_arrived

EXECUTION = "arn:aws:states:us-east-1:123456789012:execution:messaging-delivery:run-1"
LAMBDA_CAUSE = json.dumps(
    {
        "errorMessage": "ProviderUnavailable: injected 5xx for user@example.com",
        "errorType": "TransientError",
        "stackTrace": ["  File x\n"],
    }
)


def dead_letter(trace_id: str = "t-1", cause: str = LAMBDA_CAUSE) -> dict[str, Any]:
    body = {
        "Caller": {"sub": "user-1"},
        "Request": {
            "TraceId": trace_id,
            "Addresses": {"user@example.com": {"ChannelType": "EMAIL"}, "+1604": {}},
        },
    }
    return {
        "MessageId": "m-1",
        "Body": json.dumps(body),
        "MessageAttributes": {
            "Error": {"DataType": "String", "StringValue": "TransientError"},
            "Cause": {"DataType": "String", "StringValue": cause},
            "ExecutionArn": {"DataType": "String", "StringValue": EXECUTION},
        },
    }


def test_a_dead_letter_is_summarised_by_trace_recipients_and_reason():
    assert summarise(dead_letter()) == {
        "MessageId": "m-1",
        "TraceId": "t-1",
        "Recipients": ["user@example.com", "+1604"],
        "Error": "TransientError",
        "Cause": "ProviderUnavailable: injected 5xx for user@example.com",
        "ExecutionArn": EXECUTION,
    }


def test_a_plain_cause_keeps_only_its_first_line():
    assert summarise(dead_letter(cause="first line\nsecond line"))["Cause"] == "first line"


def test_a_dead_letter_that_is_not_a_request_is_still_summarised():
    summary = summarise({"MessageId": "m-2", "Body": "not json"})

    assert summary["TraceId"] is None
    assert summary["Recipients"] == []
    assert summary["Error"] is None


def test_the_summary_renders_one_labelled_line_per_fact():
    assert render_summary(summarise(dead_letter())) == [
        "t-1  (message m-1)",
        "  recipients  user@example.com, +1604",
        "  error       TransientError",
        "  cause       ProviderUnavailable: injected 5xx for user@example.com",
        f"  execution   {EXECUTION}",
    ]


@pytest.fixture
def queues(mocked_aws, request) -> tuple[Any, str, str]:
    sqs = mocked_aws.client("sqs")
    suffix = request.node.name[-40:].replace("[", "-").replace("]", "")
    main = sqs.create_queue(QueueName=f"main-{suffix}")["QueueUrl"]
    dlq = sqs.create_queue(QueueName=f"dlq-{suffix}")["QueueUrl"]
    return sqs, main, dlq


def send(sqs: Any, url: str, message: dict[str, Any]) -> None:
    sqs.send_message(
        QueueUrl=url, MessageBody=message["Body"], MessageAttributes=message["MessageAttributes"]
    )


def receive_all(sqs: Any, url: str) -> list[dict[str, Any]]:
    return sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
    ).get("Messages", [])


def count(sqs: Any, url: str, attribute: str = "ApproximateNumberOfMessages") -> int:
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=[attribute])
    return int(attributes["Attributes"][attribute])


def test_reading_lists_each_message_once_and_leaves_them_all_visible(queues):
    sqs, _, dlq = queues
    for trace_id in ("a", "b"):
        send(sqs, dlq, dead_letter(trace_id))

    seen = read_all(sqs, dlq, wait_seconds=0)

    assert sorted(summarise(m)["TraceId"] for m in seen) == ["a", "b"]
    assert count(sqs, dlq) == 2
    assert count(sqs, dlq, "ApproximateNumberOfMessagesNotVisible") == 0


def test_reading_lists_every_message_not_the_ten_a_receive_returns(queues):
    sqs, main, dlq = queues
    trace_ids = [f"t-{n:02d}" for n in range(25)]
    for trace_id in trace_ids:
        send(sqs, dlq, dead_letter(trace_id))

    seen = read_all(sqs, dlq, wait_seconds=0)

    assert sorted(summarise(m)["TraceId"] for m in seen) == trace_ids
    assert count(sqs, dlq) == 25
    assert move_by_hand(sqs, dlq, main, limit=25, wait_seconds=0) == 25
    assert count(sqs, dlq) == 0


POISON = "p\ud800@example.com"  # a lone surrogate: JSON can say it, SQS cannot hold it


def test_a_letter_whose_cause_held_a_lone_surrogate_is_listed_and_redriven(queues):
    refuse_what_sqs_refuses()  # the local stack answers such a SendMessage as AWS does: 400
    sqs, main, dlq = queues
    request = {"TraceId": "poison", "Addresses": {POISON: {}}}
    body = json.dumps({"Caller": {"sub": "u"}, "Request": request}, ensure_ascii=False)
    cause = f"'utf-8' codec can't encode character '\ud800': address {POISON}"
    sqs.send_message(QueueUrl=dlq, **as_it_arrived(body, "InvalidMessage", cause, EXECUTION))
    send(sqs, dlq, dead_letter("healthy"))

    summaries = {s["TraceId"]: s for s in map(summarise, read_all(sqs, dlq, wait_seconds=0))}

    assert sorted(summaries) == ["healthy", "poison"]
    assert summaries["poison"]["Recipients"] == ["p\\ud800@example.com"]
    assert summaries["poison"]["Cause"] == (
        "'utf-8' codec can't encode character '\\ud800': address p\\ud800@example.com"
    )
    assert move_by_hand(sqs, dlq, main, limit=2, wait_seconds=0) == 2
    moved = {json.loads(m["Body"])["Request"]["TraceId"]: m for m in receive_all(sqs, main)}
    assert json.loads(moved["poison"]["Body"]) == json.loads(body)  # the same request


def test_moving_by_hand_copies_body_and_attributes_then_empties_the_dlq(queues):
    sqs, main, dlq = queues
    for trace_id in ("a", "b", "c"):
        send(sqs, dlq, dead_letter(trace_id))

    assert move_by_hand(sqs, dlq, main, limit=3, wait_seconds=0) == 3

    moved = receive_all(sqs, main)
    assert sorted(json.loads(m["Body"])["Request"]["TraceId"] for m in moved) == ["a", "b", "c"]
    assert {m["MessageAttributes"]["Error"]["StringValue"] for m in moved} == {"TransientError"}
    assert count(sqs, dlq) == 0
    assert count(sqs, dlq, "ApproximateNumberOfMessagesNotVisible") == 0


def test_moving_by_hand_stops_at_the_limit(queues):
    sqs, main, dlq = queues
    for trace_id in ("a", "b", "c"):
        send(sqs, dlq, dead_letter(trace_id))

    assert move_by_hand(sqs, dlq, main, limit=2, wait_seconds=0) == 2

    assert count(sqs, dlq) == 1
    assert len(receive_all(sqs, main)) == 2


class FailingSecondSend:
    """The real client, except that the second send_message is refused."""

    def __init__(self, sqs: Any) -> None:
        self._sqs = sqs
        self.sends = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sqs, name)

    def send_message(self, **params: Any) -> Any:
        self.sends += 1
        if self.sends == 2:
            error: Any = {"Error": {"Code": "AccessDenied", "Message": "no"}}
            raise ClientError(error, "SendMessage")
        return self._sqs.send_message(**params)


def test_a_message_whose_copy_failed_is_not_deleted(queues):
    sqs, main, dlq = queues
    for trace_id in ("a", "b"):
        send(sqs, dlq, dead_letter(trace_id))

    with pytest.raises(CommandError, match=r"moved 1 message\(s\), then SendMessage failed"):
        move_by_hand(FailingSecondSend(sqs), dlq, main, limit=2, wait_seconds=0)

    assert len(receive_all(sqs, main)) == 1
    # The other one is still in the DLQ (hidden for the move's visibility timeout).
    assert count(sqs, dlq, "ApproximateNumberOfMessagesNotVisible") == 1
