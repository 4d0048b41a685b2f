"""Passing time in the emulator: queues and tables age as if the seconds had gone by."""

from __future__ import annotations

import pytest

from emulator.clock import earlier, pass_time


@pytest.mark.parametrize(
    ("text", "moved"),
    [
        ("2025-01-01T00:05:00+00:00", "2025-01-01T00:00:00+00:00"),
        ("2025-01-01T00:05:00.123456+00:00", "2025-01-01T00:00:00.123456+00:00"),
        ("2025-01-01T00:05:00Z", "2025-01-01T00:00:00Z"),
        ("2025-01-01T00:02:00+00:00", "2024-12-31T23:57:00+00:00"),
    ],
    ids=["seconds", "microseconds", "zulu", "across-midnight"],
)
def test_an_instant_is_moved_back_in_the_form_it_was_written(text, moved):
    assert earlier(text, 300) == moved


@pytest.mark.parametrize(
    "text",
    ["2025-01-01", "2025-01-01T00:05:00", "+16048621234", "user@example.com", ""],
    ids=["date", "no-offset", "phone", "email", "empty"],
)
def test_what_is_not_an_instant_is_left_alone(text):
    assert earlier(text, 300) is None


def test_a_received_message_becomes_visible_when_its_visibility_timeout_has_passed(mocked_aws):
    sqs = mocked_aws.client("sqs")
    url = sqs.create_queue(QueueName="clock", Attributes={"VisibilityTimeout": "300"})["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="hello")
    [received] = sqs.receive_message(QueueUrl=url)["Messages"]

    pass_time(290)
    hidden = sqs.receive_message(QueueUrl=url).get("Messages", [])
    pass_time(11)
    [returned] = sqs.receive_message(QueueUrl=url, AttributeNames=["All"])["Messages"]

    assert hidden == []
    assert returned["MessageId"] == received["MessageId"]
    assert returned["Attributes"]["ApproximateReceiveCount"] == "2"


def test_instants_a_table_holds_grow_older_and_nothing_else_changes(mocked_aws):
    dynamodb = mocked_aws.client("dynamodb")
    dynamodb.create_table(
        TableName="clock",
        KeySchema=[{"AttributeName": "Id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "Id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    key = {"Id": {"S": "2025-01-01T00:05:00+00:00"}}  # a key is never moved
    item = key | {
        "ClaimedAt": {"S": "2025-01-01T00:05:00.000001+00:00"},
        "Nested": {"M": {"At": {"S": "2025-01-01T00:05:00Z"}, "List": {"L": [{"S": "x"}]}}},
        "Owner": {"S": "user-1"},
        "ExpiresAt": {"N": "1735690000"},
    }
    dynamodb.put_item(TableName="clock", Item=item)

    pass_time(300)

    assert dynamodb.get_item(TableName="clock", Key=key)["Item"] == item | {
        "ClaimedAt": {"S": "2025-01-01T00:00:00.000001+00:00"},
        "Nested": {"M": {"At": {"S": "2025-01-01T00:00:00Z"}, "List": {"L": [{"S": "x"}]}}},
    }
