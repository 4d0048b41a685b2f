"""S3 in the local stack: the template's buckets, their function notifications, pre-signed PUTs.

Beside template.yaml's resources the stack gets a bucket without a name, a function notified
of objects created under `incoming/` in it (`record_upload`, below: it puts each event on a
queue the test reads) and a function that uploads or hands out a pre-signed PUT URL
(`upload`), as the jobs' functions do.
"""

from __future__ import annotations

import json
import os
import re
import time
import urllib.request
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote_plus

import boto3
import pytest

from emulator.local import LocalStack, s3_endpoint
from emulator.stack import load_template

MODULE = "tests.unit.emulator.test_s3_local"
DEADLINE = 10
# The functions' settings, read at import: the local runtime sets a function's environment
# for its cold start.
SEEN_QUEUE_URL = os.environ.get("SEEN_QUEUE_URL", "")
UPLOADS_BUCKET = os.environ.get("UPLOADS_BUCKET", "")


def record_upload(event: dict[str, Any], context: Any) -> None:
    """The notified function: what S3 sent it goes on the SEEN_QUEUE_URL queue."""
    boto3.client("sqs").send_message(QueueUrl=SEEN_QUEUE_URL, MessageBody=json.dumps(event))


def upload(event: dict[str, Any], context: Any) -> str:
    """Put `Body` at `Key` in UPLOADS_BUCKET, or answer a pre-signed PUT URL for `Key`."""
    s3 = boto3.client("s3")
    if "Body" in event:
        s3.put_object(Bucket=UPLOADS_BUCKET, Key=event["Key"], Body=event["Body"].encode())
        return event["Key"]
    return s3.generate_presigned_url(
        "put_object",
        Params={"Bucket": UPLOADS_BUCKET, "Key": event["Key"], "ContentType": "text/csv"},
        ExpiresIn=3600,
    )


@pytest.fixture(scope="module")
def local() -> Iterator[LocalStack]:
    template = load_template()
    template["Resources"] |= {
        "UploadsBucket": {"Type": "AWS::S3::Bucket"},
        # A bucket whose own NotificationConfiguration sends to a queue (S3 itself, in moto).
        "DropsBucket": {
            "Type": "AWS::S3::Bucket",
            "Properties": {
                "BucketName": {"Fn::Sub": "${AWS::StackName}-drops"},
                "NotificationConfiguration": {
                    "QueueConfigurations": [
                        {
                            "Event": "s3:ObjectCreated:*",
                            "Queue": {"Fn::GetAtt": ["SeenQueue", "Arn"]},
                            "Filter": {"S3Key": {"Rules": [{"Name": "suffix", "Value": ".csv"}]}},
                        }
                    ]
                },
            },
        },
        "SeenQueue": {
            "Type": "AWS::SQS::Queue",
            "Properties": {"QueueName": {"Fn::Sub": "${AWS::StackName}-seen-uploads"}},
        },
        "RecordUploadFunction": {
            "Type": "AWS::Serverless::Function",
            "Properties": {
                "Handler": f"{MODULE}.record_upload",
                "Environment": {"Variables": {"SEEN_QUEUE_URL": {"Ref": "SeenQueue"}}},
                "Events": {
                    "Uploaded": {
                        "Type": "S3",
                        "Properties": {
                            "Bucket": {"Ref": "UploadsBucket"},
                            "Events": "s3:ObjectCreated:*",
                            "Filter": {
                                "S3Key": {"Rules": [{"Name": "prefix", "Value": "incoming/"}]}
                            },
                        },
                    }
                },
            },
        },
        "UploadFunction": {
            "Type": "AWS::Serverless::Function",
            "Properties": {
                "Handler": f"{MODULE}.upload",
                "Environment": {"Variables": {"UPLOADS_BUCKET": {"Ref": "UploadsBucket"}}},
            },
        },
    }
    environment = dict(os.environ)  # a stack sets its clients' variables for the process
    stack = LocalStack.start(template=template)
    yield stack
    stack.stop()
    os.environ.clear()
    os.environ.update(environment)


def invoke(local: LocalStack, function: str, payload: dict[str, Any]) -> Any:
    name = local.stack.physical(function)["Ref"]
    answer = local.client("lambda").invoke(FunctionName=name, Payload=json.dumps(payload))
    return json.loads(answer["Payload"].read())


def seen(local: LocalStack, key: str) -> list[dict[str, Any]]:
    """The S3 events the notified function received for `key` (its uploads' key, unescaped)."""
    local.events.wait_idle()  # S3 invokes the function asynchronously
    sqs = local.client("sqs")
    url = local.stack.physical("SeenQueue")["Ref"]
    found = []
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            break
        for message in messages:
            event = json.loads(message["Body"])
            # The queue also holds the s3:TestEvent S3 sends when its configuration is put.
            records = event.get("Records", [])
            if records and unquote_plus(records[0]["s3"]["object"]["key"]) == key:
                found.append(event)
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return found


def test_a_bucket_without_a_name_gets_one_of_cloudformations_form(local):
    name = local.stack.physical("UploadsBucket")["Ref"]

    assert re.fullmatch(r"messaging-uploadsbucket-[0-9a-f]{12}", name)
    assert local.stack.resolve({"Fn::GetAtt": ["UploadsBucket", "Arn"]}) == f"arn:aws:s3:::{name}"
    local.client("s3").head_bucket(Bucket=name)


def test_the_templates_jobs_bucket_resolves_its_sub_name_and_arn(local):
    name = "messaging-jobs-123456789012-us-east-1"

    assert local.stack.resolve({"Ref": "JobsBucket"}) == name
    assert local.stack.resolve({"Fn::Sub": "${JobsBucket.Arn}/jobs/*"}) == (
        f"arn:aws:s3:::{name}/jobs/*"
    )
    assert local.buckets() == [
        name,
        local.stack.physical("UploadsBucket")["Ref"],
        "messaging-drops",
    ]


def test_the_templates_jobs_bucket_notifies_its_upload_function_of_uploads(local):
    configuration = local.client("s3").get_bucket_notification_configuration(
        Bucket=local.stack.physical("JobsBucket")["Ref"]
    )

    assert configuration["LambdaFunctionConfigurations"] == [
        {
            "Id": configuration["LambdaFunctionConfigurations"][0]["Id"],
            "LambdaFunctionArn": local.stack.physical("JobUploadFunction")["Arn"],
            "Events": ["s3:ObjectCreated:*"],
            "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "uploads/"}]}},
        }
    ]


def test_an_object_put_under_the_prefix_invokes_the_function_with_the_event_s3_sends(local):
    bucket = local.stack.physical("UploadsBucket")["Ref"]
    key = "incoming/red flower+1.csv"
    local.client("s3").put_object(Bucket=bucket, Key=key, Body=b"address\na@example.com\n")

    (event,) = seen(local, key)
    (record,) = event["Records"]
    assert {k: record[k] for k in ("eventVersion", "eventSource", "awsRegion", "eventName")} == {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": "us-east-1",
        "eventName": "ObjectCreated:Put",
    }
    assert set(record) >= {"eventTime", "userIdentity", "requestParameters", "responseElements"}
    assert record["s3"]["bucket"]["name"] == bucket
    assert record["s3"]["bucket"]["arn"] == f"arn:aws:s3:::{bucket}"
    obj = record["s3"]["object"]
    assert obj["key"] == "incoming/red+flower%2B1.csv"  # URL-encoded, slashes kept
    assert obj["size"] == len(b"address\na@example.com\n")
    assert set(obj) == {"key", "size", "eTag", "sequencer"}


def test_an_object_put_outside_the_prefix_invokes_nothing(local):
    bucket = local.stack.physical("UploadsBucket")["Ref"]
    local.client("s3").put_object(Bucket=bucket, Key="elsewhere/incoming/a.csv", Body=b"x")

    assert seen(local, "elsewhere/incoming/a.csv") == []


def test_an_object_a_function_puts_invokes_the_notified_function(local):
    key = invoke(local, "UploadFunction", {"Key": "incoming/from-a-function.csv", "Body": "x"})

    assert len(seen(local, key)) == 1


def test_a_put_to_a_functions_pre_signed_url_lands_in_the_bucket_and_is_notified(local):
    url = invoke(local, "UploadFunction", {"Key": "incoming/pre signed.csv"})
    assert url.startswith(f"{s3_endpoint(local.aws)}/")  # the AWS endpoint, on this machine

    # What `curl -X PUT --data-binary @file.csv -H 'Content-Type: text/csv' URL` sends.
    put = urllib.request.Request(
        url, data=b"address\nb@example.com\n", method="PUT", headers={"Content-Type": "text/csv"}
    )
    with urllib.request.urlopen(put, timeout=DEADLINE) as answer:
        assert answer.status == 200

    bucket = local.stack.physical("UploadsBucket")["Ref"]
    stored = local.client("s3").get_object(Bucket=bucket, Key="incoming/pre signed.csv")
    assert (stored["Body"].read(), stored["ContentType"]) == (
        b"address\nb@example.com\n",
        "text/csv",
    )
    (event,) = seen(local, "incoming/pre signed.csv")
    assert event["Records"][0]["s3"]["object"]["key"] == "incoming/pre+signed.csv"


def test_a_buckets_own_notification_configuration_sends_its_events_to_a_queue(local):
    local.client("s3").put_object(Bucket="messaging-drops", Key="a/b.csv", Body=b"x")
    local.client("s3").put_object(Bucket="messaging-drops", Key="a/b.txt", Body=b"x")

    (event,) = seen(local, "a/b.csv")
    assert event["Records"][0]["s3"]["bucket"]["name"] == "messaging-drops"
    assert seen(local, "a/b.txt") == []
