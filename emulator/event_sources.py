"""SQS -> Lambda event source mappings, as template.yaml declares them.

A mapping is an `AWS::Lambda::EventSourceMapping` resource whose source is a queue (how
the template maps InboundQueue, so SAM adds no SQS policy on "*") or a function's
`Events: Type: SQS` (from which SAM generates the same resource).

One poller per mapping receives up to `BatchSize` messages, invokes the function with
the records Lambda would send, and deletes what succeeded: every message when the
invocation succeeds, all but the reported `batchItemFailures` when the mapping has
`ReportBatchItemFailures`, none when the function fails. What is not deleted comes
back after the queue's visibility timeout and, after `maxReceiveCount` receives, moves
to the dead-letter queue, as in AWS.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from emulator.lambdas import LambdaRuntime
from emulator.pipe import pipe_record

MAX_BATCH = 10  # SQS returns at most 10 messages per receive


@dataclass(frozen=True)
class SqsEventSource:
    function: str  # the function's name, as Invoke names it
    queue_arn: str
    batch_size: int
    report_batch_item_failures: bool

    @property
    def queue_name(self) -> str:
        return self.queue_arn.rsplit(":", 1)[1]


def sqs_event_sources(stack: Any) -> list[SqsEventSource]:
    """Every SQS -> Lambda mapping in the template, resolved for this stack."""
    sources = [
        _source(function, properties["Queue"], properties)
        for function, properties in stack.function_events("SQS")
    ]
    for resource in stack.template["Resources"].values():
        if resource["Type"] == "AWS::Lambda::EventSourceMapping" and _from_queue(
            stack, resource["Properties"]["EventSourceArn"]
        ):
            properties = stack.resolve(resource["Properties"])
            sources.append(
                _source(properties["FunctionName"], properties["EventSourceArn"], properties)
            )
    return sources


def _from_queue(stack: Any, source_arn: Any) -> bool:
    # Told apart before resolving: resolving another source (a table's stream) creates it.
    if isinstance(source_arn, dict) and "Fn::GetAtt" in source_arn:
        target = source_arn["Fn::GetAtt"]
        logical_id = target[0] if isinstance(target, list) else target.split(".", 1)[0]
        return stack.template["Resources"][logical_id]["Type"] == "AWS::SQS::Queue"
    return str(stack.resolve(source_arn)).startswith("arn:aws:sqs:")


def _source(function: str, queue_arn: str, properties: dict[str, Any]) -> SqsEventSource:
    return SqsEventSource(
        function=function.rsplit(":function:", 1)[-1],  # a name or an ARN, as Lambda takes
        queue_arn=queue_arn,
        batch_size=int(properties.get("BatchSize", MAX_BATCH)),
        report_batch_item_failures="ReportBatchItemFailures"
        in properties.get("FunctionResponseTypes", []),
    )


class SqsPoller:
    def __init__(self, source: SqsEventSource, sqs: Any, runtime: LambdaRuntime) -> None:
        self.source = source
        self._sqs = sqs
        self._runtime = runtime
        self._queue_url = sqs.get_queue_url(QueueName=source.queue_name)["QueueUrl"]
        self._region = source.queue_arn.split(":")[3]
        self._stopping = threading.Event()
        # Since start: records deleted (done) and records left on the queue (to retry).
        self.done = 0
        self.returned = 0

    def poll_once(self, wait_seconds: int = 0) -> tuple[int, int]:
        """Receive one batch and invoke the function; return (deleted, left on the queue)."""
        messages = self._sqs.receive_message(
            QueueUrl=self._queue_url,
            MaxNumberOfMessages=min(self.source.batch_size, MAX_BATCH),
            WaitTimeSeconds=wait_seconds,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            return 0, 0
        records = [pipe_record(m, self.source.queue_arn, self._region) for m in messages]
        result, error = self._runtime.invoke(self.source.function, {"Records": records})
        failed = self._failed(records, result, error)
        done = [r for r in records if r["messageId"] not in failed]
        if done:
            self._sqs.delete_message_batch(
                QueueUrl=self._queue_url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": r["receiptHandle"]} for i, r in enumerate(done)
                ],
            )
        self.done += len(done)
        self.returned += len(records) - len(done)
        return len(done), len(records) - len(done)

    def _failed(self, records: list[dict[str, Any]], result: Any, error: str | None) -> set[str]:
        every = {record["messageId"] for record in records}
        if error:
            return every
        if not self.source.report_batch_item_failures:
            return set()
        failures = (result or {}).get("batchItemFailures", []) if isinstance(result, dict) else []
        ids = {failure.get("itemIdentifier") for failure in failures}
        # Lambda treats a failure it cannot match to a record as a failure of the whole batch.
        return every if not ids <= every else ids

    def run(self) -> None:
        while not self._stopping.is_set():
            self.poll_once(wait_seconds=1)

    def stop(self) -> None:
        self._stopping.set()
