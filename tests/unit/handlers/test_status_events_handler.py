"""StatusEventsFunction over the traces table's stream: one MessageStatus event per change.

The writes are the real writers' (integration/traces) on a moto table with the template's stream;
the stream's records reach the handler as Lambda hands them; the bus has the template's
CallbacksRule pattern, targeting a queue, so each test reads what the bus delivered.
EventBridge refusing entries is the one thing moto cannot do: a botocore hook answers
PutEvents for chosen traces as EventBridge does when it refuses every entry of a call.
"""

from __future__ import annotations

import importlib
import json
import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cfnlint.decode import cfn_yaml

from emulator.botocore_hooks import SessionHooks, response
from emulator.stream_sources import STREAMS_CLIENT_CONFIG, lambda_record
from notify.domain.provider_events import DeliveryUpdate
from notify.integration.traces.attempts import AttemptStore
from notify.integration.traces.deliveries import DeliveryStatusStore

MODULE = "notify.handlers.status_events"
ROOT = Path(__file__).resolve().parents[3]
TEMPLATE = cfn_yaml.load(str(ROOT / "template.yaml"))["Resources"]
# The detail as docs/events.md shows it: the fields a receiver is promised.
DOCUMENTED = json.loads(
    re.search(r"```json\n(.*?)```", (ROOT / "docs" / "events.md").read_text(), re.S).group(1)
)
TABLE = "status-events-traces"
BUS = "status-events-bus"
OWNER = "customer:acme"
PHONE = "+16048621234"


@dataclass
class StatusEvents:
    handler: Any
    table: Any
    streams: Any
    stream_arn: str
    iterator: str  # where the last read of the stream ended
    sqs: Any
    watch: str  # the queue the bus's rule delivers to
    refused: set[str]  # TraceIds whose events EventBridge refuses

    @property
    def store(self) -> AttemptStore:
        return AttemptStore(self.table, retention_days=1)

    @property
    def deliveries(self) -> DeliveryStatusStore:
        return DeliveryStatusStore(self.table)

    def records(self) -> list[dict[str, Any]]:
        """The stream's records since the last read, in the shape Lambda sends them."""
        read = self.streams.get_records(ShardIterator=self.iterator)
        self.iterator = read["NextShardIterator"]
        return [lambda_record(record, self.stream_arn) for record in read["Records"]]

    def published(self) -> list[dict[str, Any]]:
        """The events the bus delivered since the last look."""
        found = []
        receive = {"QueueUrl": self.watch, "MaxNumberOfMessages": 10}
        while messages := self.sqs.receive_message(**receive).get("Messages"):
            for message in messages:
                found.append(json.loads(message["Body"]))
                self.sqs.delete_message(QueueUrl=self.watch, ReceiptHandle=message["ReceiptHandle"])
        return found


def refuse(refused: set[str]) -> Callable[..., Any]:
    """EventBridge's answer when it refuses every entry of a call: HTTP 200, each entry failed.

    A `before-call` answer stops the call there, as botocore's Stubber does: moto never
    sees it, so nothing reaches the bus.
    """

    def before_call(params: dict[str, Any], **kwargs: Any) -> Any:
        entries = json.loads(params["body"])["Entries"]
        traces = {json.loads(entry["Detail"])["TraceId"] for entry in entries}
        if not traces <= refused:
            return None  # moto puts them on the bus
        failed = {"ErrorCode": "InternalFailure", "ErrorMessage": "Internal service error."}
        answer = {"FailedEntryCount": len(entries), "Entries": [failed] * len(entries)}
        return response(params["url"], 200, answer), answer

    return before_call


@pytest.fixture(scope="module")
def stack(mocked_aws, table_from_template) -> Iterator[StatusEvents]:
    table = table_from_template("TracesTable", TABLE)
    stream = TEMPLATE["TracesTable"]["Properties"]["StreamSpecification"]
    arn = mocked_aws.client("dynamodb").update_table(
        TableName=TABLE, StreamSpecification={"StreamEnabled": True, **stream}
    )["TableDescription"]["LatestStreamArn"]
    streams = mocked_aws.client("dynamodbstreams", config=STREAMS_CLIENT_CONFIG)
    [shard] = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]
    iterator = streams.get_shard_iterator(
        StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]

    events, sqs = mocked_aws.client("events"), mocked_aws.client("sqs")
    events.create_event_bus(Name=BUS)
    watch = sqs.create_queue(QueueName="status-events-watch")["QueueUrl"]
    watch_arn = sqs.get_queue_attributes(QueueUrl=watch, AttributeNames=["QueueArn"])
    pattern = TEMPLATE["CallbacksRule"]["Properties"]["EventPattern"]
    events.put_rule(Name="callbacks", EventBusName=BUS, EventPattern=json.dumps(pattern))
    events.put_targets(
        Rule="callbacks",
        EventBusName=BUS,
        Targets=[{"Id": "watch", "Arn": watch_arn["Attributes"]["QueueArn"]}],
    )

    refused: set[str] = set()
    hooks = SessionHooks({"before-call.events.PutEvents": refuse(refused)})
    with pytest.MonkeyPatch.context() as env:
        env.setenv("STATUS_EVENT_BUS", BUS)
        env.setenv("POWERTOOLS_METRICS_NAMESPACE", "Messaging")
        hooks.default_session(region_name="us-east-1")  # the handler's boto3.client("events")
        sys.modules.pop(MODULE, None)
        handler = importlib.import_module(MODULE).handler
        yield StatusEvents(handler, table, streams, arn, iterator, sqs, watch, refused)
    hooks.remove()
    sys.modules.pop(MODULE, None)


@pytest.fixture
def events(stack, lambda_context) -> StatusEvents:
    """The stack with the earlier tests' records handled and their events read."""
    if records := stack.records():  # Lambda never sends an empty batch
        stack.handler({"Records": records}, lambda_context)
    stack.published()
    return stack


def sent(store: AttemptStore, trace_id: str, provider_message_id: str) -> None:
    """One send attempt to PHONE, then SENT, as the SMS function writes them."""
    store.begin_send(trace_id, OWNER, "SMS", PHONE, "2099-01-01T00:00:00+00:00")
    store.complete_send(
        trace_id, OWNER, "SMS", PHONE, provider_message_id, "2026-06-01T10:00:00.000001+00:00"
    )


def failed_ids(response: dict[str, Any]) -> list[str]:
    return [failure["itemIdentifier"] for failure in response["batchItemFailures"]]


def test_a_recipient_sent_publishes_one_outcome_event_with_the_documented_detail(
    events, lambda_context
):
    sent(events.store, "status-sent", "SMsent")
    records = events.records()

    response = events.handler({"Records": records}, lambda_context)

    assert failed_ids(response) == []
    [event] = events.published()
    assert (event["source"], event["detail-type"]) == ("messaging.status", "MessageStatus")
    detail = event["detail"]
    assert detail.keys() == DOCUMENTED.keys()
    assert {k: v for k, v in detail.items() if k != "EventId"} == {
        "TraceId": "status-sent",
        "Tenant": OWNER,
        "Channel": "SMS",
        "Address": PHONE,
        "Kind": "Outcome",
        "Status": "SENT",
        "ErrorCode": None,
        "Reason": None,
        "ProviderMessageId": "SMsent",
        "Attempts": 1,
        "At": "2026-06-01T10:00:00.000001+00:00",
    }
    # The stream delivers at least once: the same record again is the same event to receivers.
    events.handler({"Records": records}, lambda_context)
    [repeat] = events.published()
    assert repeat["detail"]["EventId"] == detail["EventId"]


def test_a_providers_delivery_status_publishes_a_delivery_event_once(events, lambda_context):
    sent(events.store, "status-delivered", "SMdelivered")
    events.handler({"Records": events.records()}, lambda_context)
    events.published()
    delivered = DeliveryUpdate("twilio", "SMdelivered", "delivered", "2026-06-01T10:00:05+00:00")

    events.deliveries.record_delivery(delivered)
    events.deliveries.record_delivery(delivered)  # repeated by the provider: the rank rule drops it
    response = events.handler({"Records": events.records()}, lambda_context)

    assert failed_ids(response) == []
    [event] = events.published()
    assert {k: event["detail"][k] for k in ("Kind", "Status", "At", "ProviderMessageId")} == {
        "Kind": "Delivery",
        "Status": "delivered",
        "At": "2026-06-01T10:00:05+00:00",
        "ProviderMessageId": "SMdelivered",
    }


def test_writes_that_change_no_status_publish_nothing(events, lambda_context):
    trace_id = "status-unchanged"
    store = events.store
    # An attempt claimed and ended (no status yet), and the trace's header item.
    store.begin_send(trace_id, OWNER, "SMS", PHONE, "2099-01-01T00:00:00+00:00")
    store.end_attempt(trace_id, OWNER, "SMS", PHONE)
    events.table.put_item(Item={"TraceId": trace_id, "Sk": OWNER, "Status": "RUNNING"})
    quiet = events.records()
    store.complete_send(trace_id, OWNER, "SMS", PHONE, "SMsame", "2026-06-01T10:00:00Z")
    events.handler({"Records": quiet + events.records()}, lambda_context)
    events.published()
    # The same SENT written again: moto still streams it (DynamoDB would not), old == new.
    store.complete_send(trace_id, OWNER, "SMS", PHONE, "SMsame", "2026-06-01T10:00:00Z")
    rewrite = events.records()

    response = events.handler({"Records": quiet + rewrite}, lambda_context)

    assert len(quiet) >= 3
    assert len(rewrite) == 1
    assert failed_ids(response) == []
    assert events.published() == []


def test_only_the_record_whose_events_eventbridge_refuses_is_reported_for_a_retry(
    events, lambda_context
):
    for trace_id in ("status-accepted", "status-refused"):
        events.store.begin_send(trace_id, OWNER, "SMS", PHONE, "2099-01-01T00:00:00+00:00")
    events.handler({"Records": events.records()}, lambda_context)
    for trace_id in ("status-accepted", "status-refused"):
        events.store.complete_send(trace_id, OWNER, "SMS", PHONE, f"SM-{trace_id}", "2026-06-01")
    accepted, refused = events.records()
    events.refused.add("status-refused")

    response = events.handler({"Records": [accepted, refused]}, lambda_context)

    assert failed_ids(response) == [refused["dynamodb"]["SequenceNumber"]]
    assert [e["detail"]["TraceId"] for e in events.published()] == ["status-accepted"]
    # Lambda retries from the failed record; EventBridge takes it this time.
    events.refused.clear()
    retried = events.handler({"Records": [refused]}, lambda_context)
    assert failed_ids(retried) == []
    assert [e["detail"]["TraceId"] for e in events.published()] == ["status-refused"]
