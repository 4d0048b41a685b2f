"""The EventBridge Pipe: SQS -> StartExecution, with the input shape the real pipe sends."""

from __future__ import annotations

import json
import threading
import uuid
from typing import Any


def pipe_record(message: dict[str, Any], queue_arn: str, region: str) -> dict[str, Any]:
    """An SQS message as Pipes hands it to a target (the Lambda event-source shape)."""
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": message.get("Attributes", {}),
        "messageAttributes": {
            name: {"stringValue": value.get("StringValue"), "dataType": value["DataType"]}
            for name, value in message.get("MessageAttributes", {}).items()
        },
        "md5OfBody": message["MD5OfBody"],
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }


class Pipe:
    """Batch size 1, FIRE_AND_FORGET: a message is deleted once its execution has started.

    A message whose StartExecution fails stays on the queue; after the queue's
    maxReceiveCount receives, SQS moves it to the DLQ, as it does in AWS.
    """

    def __init__(self, sqs: Any, sfn: Any, queue: dict[str, str], state_machine_arn: str) -> None:
        self._sqs = sqs
        self._sfn = sfn
        self._queue_url = queue["QueueUrl"]
        self._queue_arn = queue["Arn"]
        self._region = queue["Arn"].split(":")[3]
        self.state_machine_arn = state_machine_arn
        self._stopping = threading.Event()

    def poll_once(self, wait_seconds: int = 0) -> list[str]:
        """Receive one message, start its execution; return the execution ARNs started."""
        messages = self._sqs.receive_message(
            QueueUrl=self._queue_url,
            MaxNumberOfMessages=1,
            WaitTimeSeconds=wait_seconds,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        return [self.start(message) for message in messages]

    def start(self, message: dict[str, Any]) -> str:
        record = pipe_record(message, self._queue_arn, self._region)
        # Pipes cannot name executions; AWS gives each a UUID, moto needs one given.
        execution = self._sfn.start_execution(
            stateMachineArn=self.state_machine_arn,
            name=str(uuid.uuid4()),
            input=json.dumps([record]),
        )["executionArn"]
        self._sqs.delete_message(QueueUrl=self._queue_url, ReceiptHandle=message["ReceiptHandle"])
        return execution

    def run(self) -> None:
        while not self._stopping.is_set():
            self.poll_once(wait_seconds=1)

    def stop(self) -> None:
        self._stopping.set()
