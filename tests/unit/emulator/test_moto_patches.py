"""The emulator's corrections to moto (emulator/moto_patches.py), each against what AWS does."""

from __future__ import annotations

import json
import threading
import time

import boto3
import pytest
from moto import mock_aws

from emulator import moto_patches
from emulator.moto_patches import (
    atomic_dynamodb,
    empty_filters_match_nothing,
    first_end_wins,
    refuse_what_sqs_refuses,
)


@pytest.fixture
def aws(monkeypatch):
    for name, value in {"AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "t"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "t")
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        yield boto3.Session(region_name="us-east-1")


def test_of_many_writers_racing_one_condition_exactly_one_wins(aws):
    atomic_dynamodb()
    dynamodb = aws.client("dynamodb")
    dynamodb.create_table(
        TableName="race",
        KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    wins: list[int] = []

    def claim(n: int) -> None:
        try:
            dynamodb.update_item(
                TableName="race",
                Key={"k": {"S": "recipient"}},
                UpdateExpression="SET Holder = :n",
                ConditionExpression="attribute_not_exists(Holder)",
                ExpressionAttributeValues={":n": {"N": str(n)}},
            )
            wins.append(n)
        except dynamodb.exceptions.ConditionalCheckFailedException:
            pass

    threads = [threading.Thread(target=claim, args=(n,)) for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(wins) == 1


def test_a_read_waits_for_a_write_in_progress_so_it_sees_whole_items(aws):
    # moto updates an item in place: a query copying it meanwhile failed ("dictionary
    # changed size during iteration"), which a GET /jobs/{JobId} met as a 502 under load.
    atomic_dynamodb()
    dynamodb = aws.client("dynamodb")
    dynamodb.create_table(
        TableName="counted",
        KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    reads = {
        "get_item": lambda: dynamodb.get_item(TableName="counted", Key={"k": {"S": "a"}}),
        "query": lambda: dynamodb.query(
            TableName="counted",
            KeyConditionExpression="k = :k",
            ExpressionAttributeValues={":k": {"S": "a"}},
        ),
        "scan": lambda: dynamodb.scan(TableName="counted"),
    }
    for name, read in reads.items():
        with moto_patches._DYNAMODB:  # a write in progress, as another thread would hold it
            reader = threading.Thread(target=read)
            reader.start()
            reader.join(timeout=0.3)
            assert reader.is_alive(), f"{name} read during a write"
        reader.join(timeout=5)
        assert not reader.is_alive(), f"{name} never ran"


def run(aws, definition: dict, stop_after: float | None = None) -> dict:
    sfn = aws.client("stepfunctions")
    machine = sfn.create_state_machine(
        name=f"m{time.monotonic_ns()}",
        definition=json.dumps(definition),
        roleArn="arn:aws:iam::123456789012:role/x",
    )["stateMachineArn"]
    arn = sfn.start_execution(stateMachineArn=machine, input=json.dumps({"Items": [1, 2]}))[
        "executionArn"
    ]
    if stop_after is not None:
        time.sleep(stop_after)
        sfn.stop_execution(executionArn=arn)
    deadline = time.monotonic() + 20
    while (described := sfn.describe_execution(executionArn=arn))["status"] == "RUNNING":
        assert time.monotonic() < deadline, "the execution never ended"
        time.sleep(0.05)
    return described


def test_a_filter_that_matches_nothing_yields_an_empty_list(aws):
    empty_filters_match_nothing()
    definition = {
        "StartAt": "Pick",
        "States": {
            "Pick": {
                "Type": "Pass",
                "Parameters": {"None.$": "$.Items[?(@ > 5)]"},
                "End": True,
            }
        },
    }

    described = run(aws, definition)

    assert described["status"] == "SUCCEEDED"
    assert json.loads(described["output"]) == {"None": []}


def test_an_execution_stopped_inside_a_map_ends_aborted(aws):
    first_end_wins()
    wait = {"Type": "Wait", "Seconds": 5, "End": True}
    definition = {
        "StartAt": "Each",
        "States": {
            "Each": {
                "Type": "Map",
                "ItemsPath": "$.Items",
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "INLINE"},
                    "StartAt": "Wait",
                    "States": {"Wait": wait},
                },
                "End": True,
            }
        },
    }

    assert run(aws, definition, stop_after=0.5)["status"] == "ABORTED"


@pytest.mark.parametrize(
    ("body", "cause", "code"),
    [
        ("p\ud800@example.com", "ok", "InvalidMessageContents"),
        ("NUL \x00", "ok", "InvalidMessageContents"),
        ("ok", "lone \ud800", "InvalidParameterValue"),
        ("ok", "\ufffe", "InvalidParameterValue"),
    ],
    ids=["surrogate-in-body", "nul-in-body", "surrogate-in-attribute", "non-character"],
)
def test_a_message_with_a_character_sqs_refuses_is_refused_and_not_stored(aws, body, cause, code):
    refuse_what_sqs_refuses()
    sqs = aws.client("sqs")
    url = sqs.create_queue(QueueName="refuses")["QueueUrl"]
    attributes = {"Cause": {"DataType": "String", "StringValue": cause}}

    with pytest.raises(sqs.exceptions.ClientError) as refused:
        sqs.send_message(QueueUrl=url, MessageBody=body, MessageAttributes=attributes)

    assert refused.value.response["Error"]["Code"] == code
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert "Messages" not in sqs.receive_message(QueueUrl=url, MessageAttributeNames=["All"])


def test_a_batch_refuses_only_its_entries_that_hold_such_characters(aws):
    refuse_what_sqs_refuses()
    sqs = aws.client("sqs")
    url = sqs.create_queue(QueueName="refuses-batch")["QueueUrl"]
    allowed = "tab\t, é, \U0001f600 and \ufffd"

    answer = sqs.send_message_batch(
        QueueUrl=url,
        Entries=[
            {"Id": "good", "MessageBody": allowed},
            {"Id": "bad", "MessageBody": "\udfff"},
        ],
    )

    assert [entry["Id"] for entry in answer["Successful"]] == ["good"]
    assert [(e["Id"], e["Code"], e["SenderFault"]) for e in answer["Failed"]] == [
        ("bad", "InvalidMessageContents", True)
    ]
    [message] = sqs.receive_message(QueueUrl=url)["Messages"]
    assert message["Body"] == allowed


def test_the_patches_refuse_a_moto_version_they_were_not_written_for(monkeypatch):
    monkeypatch.setattr(moto_patches.moto, "__version__", "9.9.9")

    with pytest.raises(RuntimeError, match=r"written for moto 5\.2\.5, not 9\.9\.9"):
        moto_patches.apply()


def test_every_patch_marks_what_it_replaced():
    moto_patches.apply()

    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser
    from moto.stepfunctions.parser.asl.utils import json_path
    from moto.stepfunctions.parser.backend.execution import BaseExecutionWorkerCommunication

    assert hasattr(AmazonStateLanguageParser.parse, "cache_info")
    assert BaseExecutionWorkerCommunication.terminated.reports_ends
    assert json_path._contains_slice_or_wildcard_array.filters_too
    assert moto_patches.DynamoDBBackend.update_item.atomic
    assert hasattr(json_path.parse, "cache_info")
    assert moto_patches.DynamoDBStreamsHandler.get_records.plain
    assert moto_patches.SQSBackend.is_message_valid_based_on_retention_period.cheap
    assert moto_patches.SQSBackend.send_message.checks_contents
