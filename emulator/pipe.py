"""The EventBridge Pipes of template.yaml: SQS -> Delivery executions, as the real pipes do it."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any

SQS_MAX_BATCH = 10  # ReceiveMessage's limit; the pipe gathers larger batches over calls
SETTLE_POLL_SECONDS = 0.05


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


@dataclass(frozen=True)
class PipeSpec:
    """An AWS::Pipes::Pipe from an SQS queue to a state machine, resolved for one stack."""

    name: str
    queue: dict[str, str]  # QueueUrl, Arn
    state_machine_arn: str
    batch_size: int = 1
    batching_window_seconds: float = 0
    synchronous: bool = False  # REQUEST_RESPONSE (EXPRESS) rather than FIRE_AND_FORGET


def pipe_specs(stack: Any) -> list[PipeSpec]:
    """Every pipe of the template whose source is one of its queues."""
    queues = {
        stack.physical(logical_id)["Arn"]: stack.physical(logical_id)
        for logical_id, resource in stack.resources()
        if resource["Type"] == "AWS::SQS::Queue"
    }
    specs = []
    for logical_id, resource in stack.resources():
        if resource["Type"] != "AWS::Pipes::Pipe":
            continue
        wanted = ("Source", "SourceParameters", "Target", "TargetParameters")  # not the role
        props = stack.resolve({key: resource["Properties"].get(key, {}) for key in wanted})
        source = props.get("SourceParameters", {}).get("SqsQueueParameters", {})
        target = props.get("TargetParameters", {}).get("StepFunctionStateMachineParameters", {})
        specs.append(
            PipeSpec(
                name=logical_id,
                queue=queues[props["Source"]],
                state_machine_arn=props["Target"],
                batch_size=int(source.get("BatchSize", 10)),
                batching_window_seconds=float(source.get("MaximumBatchingWindowInSeconds", 0)),
                synchronous=target.get("InvocationType") == "REQUEST_RESPONSE",
            )
        )
    return specs


class Pipe:
    """One pipe. FIRE_AND_FORGET: a batch is deleted once its execution has started.

    REQUEST_RESPONSE: the pipe waits for the execution; a batch is deleted when it
    succeeded, except the records its output names in `batchItemFailures`. What is not
    deleted reappears after the queue's visibility timeout, and after maxReceiveCount
    receives SQS moves it to the DLQ, as it does in AWS.
    """

    def __init__(self, sqs: Any, sfn: Any, spec: PipeSpec) -> None:
        self._sqs = sqs
        self._sfn = sfn
        self.spec = spec
        self._queue_url = spec.queue["QueueUrl"]
        self._region = spec.queue["Arn"].split(":")[3]
        self._stopping = threading.Event()
        self.paused = threading.Event()  # set: run() takes nothing (a backlog builds up)
        self._lock = threading.Lock()
        self._settling: list[threading.Thread] = []
        self.returned: list[str] = []  # receipt handles a synchronous execution gave back

    @property
    def state_machine_arn(self) -> str:
        return self.spec.state_machine_arn

    def poll_once(self, wait_seconds: int = 0) -> list[str]:
        """Receive one batch and start its execution; return the execution ARNs started."""
        messages = self._receive_batch(wait_seconds)
        return [self.start(*messages)] if messages else []

    def start(self, *messages: dict[str, Any]) -> str:
        records = [pipe_record(m, self.spec.queue["Arn"], self._region) for m in messages]
        # Pipes cannot name executions; AWS gives each a UUID, moto needs one given.
        execution = self._sfn.start_execution(
            stateMachineArn=self.spec.state_machine_arn,
            name=str(uuid.uuid4()),
            input=json.dumps(records),
        )["executionArn"]
        if self.spec.synchronous:
            settle = threading.Thread(target=self._settle, args=(execution, messages), daemon=True)
            settle.start()
            with self._lock:
                self._settling.append(settle)
        else:
            self._delete(messages)
        return execution

    def expire_visibility(self) -> None:
        """Make what synchronous executions gave back visible now (the timeout, fast-forwarded)."""
        with self._lock:
            handles, self.returned = self.returned, []
        for handle in handles:
            # Gone since: deleted by another execution of the same message, or moved.
            with suppress(self._sqs.exceptions.ReceiptHandleIsInvalid):
                self._sqs.change_message_visibility(
                    QueueUrl=self._queue_url, ReceiptHandle=handle, VisibilityTimeout=0
                )

    def wait_settled(self, timeout: float = 30) -> None:
        """Wait until every synchronous execution started so far has been answered."""
        with self._lock:
            settling = list(self._settling)
        for thread in settling:
            thread.join(timeout)

    def run(self) -> None:
        while not self._stopping.is_set():
            if self.paused.is_set():
                time.sleep(0.05)
                continue
            self.poll_once(wait_seconds=1)

    def stop(self) -> None:
        self._stopping.set()

    def _receive_batch(self, wait_seconds: int) -> list[dict[str, Any]]:
        deadline = time.monotonic() + self.spec.batching_window_seconds
        batch: list[dict[str, Any]] = []
        while len(batch) < self.spec.batch_size:
            wait = wait_seconds if not batch else min(1, max(0, int(deadline - time.monotonic())))
            batch += self._sqs.receive_message(
                QueueUrl=self._queue_url,
                MaxNumberOfMessages=min(SQS_MAX_BATCH, self.spec.batch_size - len(batch)),
                WaitTimeSeconds=wait,
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
            ).get("Messages", [])
            # The batching window: with 0, a batch is what the queue holds right now.
            if not batch or time.monotonic() >= deadline:
                break
        return batch

    def _settle(self, execution: str, messages: tuple[dict[str, Any], ...]) -> None:
        while True:
            described = self._sfn.describe_execution(executionArn=execution)
            if described["status"] != "RUNNING":
                break
            time.sleep(SETTLE_POLL_SECONDS)
        failed = _batch_item_failures(described)
        kept = [m for m in messages if failed is None or m["MessageId"] in failed]
        self._delete([m for m in messages if m not in kept])
        with self._lock:
            self.returned += [m["ReceiptHandle"] for m in kept]

    def _delete(self, messages: list[dict[str, Any]] | tuple[dict[str, Any], ...]) -> None:
        if messages:
            self._sqs.delete_message_batch(
                QueueUrl=self._queue_url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                    for i, m in enumerate(messages)
                ],
            )


def _batch_item_failures(described: dict[str, Any]) -> set[str] | None:
    """The message ids a successful execution hands back; None when it did not succeed."""
    if described["status"] != "SUCCEEDED":
        return None
    output = json.loads(described.get("output") or "{}")
    failures = output.get("batchItemFailures", []) if isinstance(output, dict) else []
    return {failure["itemIdentifier"] for failure in failures}


class Pipes:
    """Every pipe of the stack, polled together."""

    def __init__(self, sqs: Any, sfn: Any, specs: list[PipeSpec]) -> None:
        self.all = [Pipe(sqs, sfn, spec) for spec in specs]
        self.state_machine_arn = specs[0].state_machine_arn

    def __getitem__(self, name: str) -> Pipe:
        return next(pipe for pipe in self.all if pipe.spec.name == name)

    def poll_once(self, wait_seconds: int = 0) -> list[str]:
        return [arn for pipe in self.all for arn in pipe.poll_once(wait_seconds)]

    def expire_visibility(self) -> None:
        for pipe in self.all:
            pipe.expire_visibility()

    def wait_settled(self, timeout: float = 30) -> None:
        for pipe in self.all:
            pipe.wait_settled(timeout)

    @contextmanager
    def paused(self) -> Iterator[None]:
        """No pipe takes anything inside: what is queued meanwhile waits, as in a backlog."""
        for pipe in self.all:
            pipe.paused.set()
        try:
            yield
        finally:
            for pipe in self.all:
                pipe.paused.clear()

    def threads(self) -> list[threading.Thread]:
        return [
            threading.Thread(target=pipe.run, name=pipe.spec.name, daemon=True) for pipe in self.all
        ]

    def stop(self) -> None:
        for pipe in self.all:
            pipe.stop()
