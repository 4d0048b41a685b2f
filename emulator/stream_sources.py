"""DynamoDB stream -> Lambda event source mappings, as template.yaml declares them.

A mapping is an `AWS::Lambda::EventSourceMapping` whose `EventSourceArn` is a table's
stream (`!GetAtt Table.StreamArn`). One poller per mapping reads each shard of the
stream in order (moto keeps one shard per table) from its `StartingPosition`, and
invokes the function with up to `BatchSize` records in the shape Lambda sends. As in
Lambda, a shard does not move past a failed batch: with `ReportBatchItemFailures` the
batch is retried from the first reported record, else whole (halved first, with
`BisectBatchOnFunctionError`), up to `MaximumRetryAttempts`; then a description of
the batch goes to the `OnFailure` destination queue and the shard moves on.
"""

from __future__ import annotations

import json
import threading
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from botocore.config import Config

from emulator.lambdas import LambdaRuntime

# boto3 sends stream calls to an account endpoint (<account>.streams-ddb...), which moto does
# not serve; the regional endpoint reaches the same streams.
STREAMS_CLIENT_CONFIG = Config(account_id_endpoint_mode="disabled")

# Lambda polls a stream about four times a second.
IDLE_SECONDS = 0.25
MAX_BACKOFF_SECONDS = 2.0


@dataclass(frozen=True)
class StreamEventSource:
    function: str  # the function's name, as Invoke names it
    stream_arn: str
    batch_size: int
    starting_position: str
    report_batch_item_failures: bool
    bisect: bool
    maximum_retry_attempts: int  # -1: until the record expires (here: forever)
    on_failure: str | None  # an SQS queue's ARN

    @property
    def function_arn(self) -> str:
        region, account = self.stream_arn.split(":")[3:5]
        return f"arn:aws:lambda:{region}:{account}:function:{self.function}"


def stream_event_sources(stack: Any) -> list[StreamEventSource]:
    """Every DynamoDB stream -> Lambda mapping in the template, resolved for this stack."""
    sources = []
    for _, resource in stack.resources():
        if resource["Type"] != "AWS::Lambda::EventSourceMapping":
            continue
        properties = stack.resolve(resource["Properties"])
        arn = properties["EventSourceArn"]
        if arn.startswith("arn:aws:dynamodb:") and "/stream/" in arn:
            sources.append(_source(properties))
    return sources


def _source(properties: dict[str, Any]) -> StreamEventSource:
    destination = properties.get("DestinationConfig", {}).get("OnFailure", {})
    return StreamEventSource(
        function=properties["FunctionName"].rsplit(":function:", 1)[-1],
        stream_arn=properties["EventSourceArn"],
        batch_size=int(properties.get("BatchSize", 100)),
        starting_position=properties.get("StartingPosition", "LATEST"),
        report_batch_item_failures="ReportBatchItemFailures"
        in properties.get("FunctionResponseTypes", []),
        bisect=bool(properties.get("BisectBatchOnFunctionError", False)),
        maximum_retry_attempts=int(properties.get("MaximumRetryAttempts", -1)),
        on_failure=destination.get("Destination"),
    )


def lambda_record(record: dict[str, Any], stream_arn: str) -> dict[str, Any]:
    """A stream record as GetRecords returns it, in the shape Lambda hands to a function."""
    stream = dict(record["dynamodb"])
    created = stream.get("ApproximateCreationDateTime")
    if isinstance(created, datetime):
        stream["ApproximateCreationDateTime"] = int(created.timestamp())
    return {
        "eventID": record["eventID"],
        "eventName": record["eventName"],
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": record.get("awsRegion", stream_arn.split(":")[3]),
        "dynamodb": stream,
        "eventSourceARN": stream_arn,
    }


class StreamPoller:
    def __init__(
        self, source: StreamEventSource, streams: Any, sqs: Any, runtime: LambdaRuntime
    ) -> None:
        self.source = source
        self._streams = streams
        self._sqs = sqs
        self._runtime = runtime
        self._stopping = threading.Event()
        shards = streams.describe_stream(StreamArn=source.stream_arn)["StreamDescription"]
        self._iterators = {
            shard["ShardId"]: streams.get_shard_iterator(
                StreamArn=source.stream_arn,
                ShardId=shard["ShardId"],
                ShardIteratorType=source.starting_position,
            )["ShardIterator"]
            for shard in shards["Shards"]
        }

    def poll_once(self) -> int:
        """Read each shard once and deliver what it holds; return how many records were read."""
        read = 0
        for shard, iterator in list(self._iterators.items()):
            response = self._streams.get_records(
                ShardIterator=iterator, Limit=self.source.batch_size
            )
            records = [lambda_record(r, self.source.stream_arn) for r in response["Records"]]
            if records:
                self._deliver(shard, records, self._attempts())
                read += len(records)
            self._iterators[shard] = response["NextShardIterator"]
        return read

    def run(self) -> None:
        while not self._stopping.is_set():
            if not self.poll_once():
                self._stopping.wait(IDLE_SECONDS)

    def stop(self) -> None:
        self._stopping.set()

    def _attempts(self) -> int | None:
        retries = self.source.maximum_retry_attempts
        return None if retries < 0 else retries + 1

    def _deliver(self, shard: str, records: list[dict[str, Any]], attempts: int | None) -> None:
        """Invoke until the batch succeeds or its attempts run out; never skip ahead."""
        tried = 0
        while records:
            result, error = self._runtime.invoke(self.source.function, {"Records": records})
            tried += 1
            failed_from = self._first_failure(records, result, error)
            if failed_from is None:
                return
            if attempts is not None and tried >= attempts:
                self._give_up(shard, records[failed_from:], tried)
                return
            if error and self.source.bisect and len(records) > 1:
                half = len(records) // 2
                self._deliver(shard, records[:half], None if attempts is None else attempts - tried)
                self._deliver(shard, records[half:], None if attempts is None else attempts - tried)
                return
            records = records[failed_from:]
            if self._stopping.wait(min(MAX_BACKOFF_SECONDS, 0.1 * 2**tried)):
                return

    def _first_failure(
        self, records: list[dict[str, Any]], result: Any, error: str | None
    ) -> int | None:
        if error:
            return 0
        if not self.source.report_batch_item_failures or not isinstance(result, dict):
            return None
        numbers = [r["dynamodb"]["SequenceNumber"] for r in records]
        reported = {f.get("itemIdentifier") for f in result.get("batchItemFailures") or []}
        if not reported:
            return None
        # Lambda retries from the lowest failed record; an unknown one fails the whole batch.
        positions = [numbers.index(n) for n in reported if n in numbers]
        return min(positions) if len(positions) == len(reported) else 0

    def _give_up(self, shard: str, records: list[dict[str, Any]], tried: int) -> None:
        if not self.source.on_failure:
            return
        queue_name = self.source.on_failure.rsplit(":", 1)[1]
        queue_url = self._sqs.get_queue_url(QueueName=queue_name)["QueueUrl"]
        self._sqs.send_message(
            QueueUrl=queue_url,
            MessageBody=json.dumps(failure_record(self.source, shard, records, tried)),
        )


def failure_record(
    source: StreamEventSource, shard: str, records: list[dict[str, Any]], tried: int
) -> dict[str, Any]:
    """What Lambda sends an on-failure destination for a stream batch: where it is, not what."""
    arrivals = [r["dynamodb"].get("ApproximateCreationDateTime") for r in records]
    return {
        "requestContext": {
            "requestId": str(uuid.uuid4()),
            "functionArn": source.function_arn,
            "condition": "RetryAttemptsExhausted",
            "approximateInvokeCount": tried,
        },
        "version": "1.0",
        "timestamp": datetime.now(UTC).isoformat(),
        "DDBStreamBatchInfo": {
            "shardId": shard,
            "startSequenceNumber": records[0]["dynamodb"]["SequenceNumber"],
            "endSequenceNumber": records[-1]["dynamodb"]["SequenceNumber"],
            "approximateArrivalOfFirstRecord": _iso(arrivals[0]),
            "approximateArrivalOfLastRecord": _iso(arrivals[-1]),
            "batchSize": len(records),
            "streamArn": source.stream_arn,
        },
    }


def _iso(epoch: Any) -> str | None:
    return datetime.fromtimestamp(epoch, UTC).isoformat() if epoch else None
