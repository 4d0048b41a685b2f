"""The local Scheduler: a due one-time schedule sends its input to its queue, then is deleted."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from emulator.schedules import LocalScheduler, fire_time

GROUP = "local-sends"
AT = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def scheduler_and_queue(fresh_aws):
    scheduler, sqs = fresh_aws.client("scheduler"), fresh_aws.client("sqs")
    url = sqs.create_queue(QueueName="local-messages")["QueueUrl"]
    scheduler.create_schedule_group(Name=GROUP)
    scheduler.create_schedule(
        Name="send-1",
        GroupName=GROUP,
        ScheduleExpression="at(2026-12-01T09:00:00)",
        FlexibleTimeWindow={"Mode": "OFF"},
        ActionAfterCompletion="DELETE",
        Target={
            "Arn": "arn:aws:sqs:us-east-1:123456789012:local-messages",
            "RoleArn": "arn:aws:iam::123456789012:role/scheduler",
            "Input": '{"ScheduledRequest": {"TraceId": "t-1", "Owner": "user:bob"}}',
        },
    )
    return LocalScheduler(scheduler, sqs), scheduler, sqs, url


def messages(sqs, url) -> list[str]:
    received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)
    return [m["Body"] for m in received.get("Messages", [])]


def test_a_schedule_not_due_sends_nothing(scheduler_and_queue):
    local, _, sqs, url = scheduler_and_queue

    assert local.fire_due(datetime(2026, 12, 1, 8, 59, 59, tzinfo=UTC)) == []
    assert messages(sqs, url) == []


def test_a_due_schedule_sends_its_input_once_and_is_deleted(scheduler_and_queue):
    local, scheduler, sqs, url = scheduler_and_queue

    assert local.fire_due(AT) == ["send-1"]
    assert local.fire_due(AT) == []

    assert messages(sqs, url) == ['{"ScheduledRequest": {"TraceId": "t-1", "Owner": "user:bob"}}']
    assert scheduler.list_schedules()["Schedules"] == []


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("at(2026-12-01T09:00:00)", AT),
        ("rate(5 minutes)", None),
        ("cron(0 9 * * ? *)", None),
    ],
    ids=["at", "rate", "cron"],
)
def test_only_one_time_schedules_have_a_fire_time(expression, expected):
    assert fire_time(expression) == expected
