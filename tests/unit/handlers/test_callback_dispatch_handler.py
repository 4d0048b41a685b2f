"""CallbackDispatchFunction over CallbacksQueue: each event POSTed, signed, to its tenant.

The events take the stack's path in moto: the status publisher puts them on the bus, the
template's CallbacksRule pattern puts them on the queue, and the records the handler gets
are received from that queue (real receipt handles and receive counts). The tenants'
callbacks are registered with CallbackStore (tenants table, Secrets Manager) and point at
a receiver on 127.0.0.1, which the local stack's configuration allows.
"""

from __future__ import annotations

import hashlib
import hmac
import importlib
import json
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
from cfnlint.decode import cfn_yaml

from emulator.pipe import pipe_record
from notify.domain.status_events import status_events
from notify.integration.callback_store import CallbackStore
from notify.integration.status_events import StatusEventPublisher

MODULE = "notify.handlers.callback_dispatch"
TEMPLATE = Path(__file__).resolve().parents[3] / "template.yaml"
TABLE = "dispatch-tenants"
BUS = "dispatch-status"
SECRET_PREFIX = "dispatch-callbacks"
RETRY_BASE_SECONDS = 1  # as the local stack's CallbackRetryBaseSeconds
QUEUE_VISIBILITY_SECONDS = 30  # far longer than the first backoff
ENVIRONMENT = {
    "TENANTS_TABLE": TABLE,
    "TENANT_CACHE_SECONDS": "0",
    "CALLBACK_SECRET_PREFIX": SECRET_PREFIX,
    # The local stack's setting (emulator/local.py), so a receiver on 127.0.0.1 is allowed.
    "CALLBACK_ALLOW_LOOPBACK": "true",
    "CALLBACK_TIMEOUT_SECONDS": "5",
    "CALLBACK_RETRY_BASE_SECONDS": str(RETRY_BASE_SECONDS),
    "CALLBACK_RETRY_MAX_SECONDS": "3600",
    "POWERTOOLS_METRICS_NAMESPACE": "Messaging",
}


@dataclass(frozen=True)
class Post:
    path: str
    headers: dict[str, str]
    body: bytes


class Receiver(BaseHTTPRequestHandler):
    """A tenant's endpoint: answers the status its path names (/answer/503), records each POST."""

    posts: ClassVar[list[Post]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Receiver.posts.append(Post(self.path, dict(self.headers), body))
        self.send_response(int(self.path.rsplit("/", 1)[1]))
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def receiver() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@dataclass
class Dispatch:
    handler: Any
    store: CallbackStore
    publisher: StatusEventPublisher
    sqs: Any
    queue_url: str
    queue_arn: str

    def records(self, count: int) -> list[dict[str, Any]]:
        """The next `count` messages of the queue, as the SQS event source hands them over."""
        messages: list[dict[str, Any]] = []
        deadline = time.monotonic() + 5
        while len(messages) < count and time.monotonic() < deadline:
            messages += self.sqs.receive_message(
                QueueUrl=self.queue_url,
                MaxNumberOfMessages=count - len(messages),
                AttributeNames=["All"],
            ).get("Messages", [])
            time.sleep(0.05)
        assert len(messages) == count, f"{len(messages)} of {count} messages on the queue"
        return [pipe_record(message, self.queue_arn, "us-east-1") for message in messages]

    def invoke(self, records: list[dict[str, Any]], context: Any) -> dict[str, Any]:
        """Invoke as the event source does: records not reported as failures are deleted."""
        response = self.handler({"Records": records}, context)
        failed = {failure["itemIdentifier"] for failure in response["batchItemFailures"]}
        for record in records:
            if record["messageId"] not in failed:
                self.sqs.delete_message(
                    QueueUrl=self.queue_url, ReceiptHandle=record["receiptHandle"]
                )
        return response

    def register(self, tenant: str, url: str, secret: str) -> None:
        self.store.put(tenant, url, secret, "2026-06-01T09:00:00+00:00")


@pytest.fixture(scope="module")
def dispatch(mocked_aws, table_from_template) -> Iterator[Dispatch]:
    table_from_template("TenantsTable", TABLE)
    sqs, events = mocked_aws.client("sqs"), mocked_aws.client("events")
    queue_url = sqs.create_queue(
        QueueName="dispatch-callbacks",
        Attributes={"VisibilityTimeout": str(QUEUE_VISIBILITY_SECONDS)},
    )["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])
    queue_arn = queue_arn["Attributes"]["QueueArn"]
    events.create_event_bus(Name=BUS)
    rule = cfn_yaml.load(str(TEMPLATE))["Resources"]["CallbacksRule"]["Properties"]
    events.put_rule(
        Name="callbacks", EventBusName=BUS, EventPattern=json.dumps(rule["EventPattern"])
    )
    events.put_targets(
        Rule="callbacks", EventBusName=BUS, Targets=[{"Id": "queue", "Arn": queue_arn}]
    )
    store = CallbackStore(
        mocked_aws.client("dynamodb"), TABLE, mocked_aws.client("secretsmanager"), SECRET_PREFIX
    )
    with pytest.MonkeyPatch.context() as env:
        for name, value in ENVIRONMENT.items():
            env.setenv(name, value)
        env.setenv("CALLBACKS_QUEUE_URL", queue_url)
        sys.modules.pop(MODULE, None)
        yield Dispatch(
            importlib.import_module(MODULE).handler,
            store,
            StatusEventPublisher(events, BUS),
            sqs,
            queue_url,
            queue_arn,
        )
    sys.modules.pop(MODULE, None)


@pytest.fixture(autouse=True)
def clear_posts() -> None:
    Receiver.posts.clear()


def sent(tenant: str, trace_id: str) -> dict[str, Any]:
    """The status event of an SMS recipient of `tenant` being SENT, as the stream makes it."""
    item = {
        "TraceId": trace_id,
        "Sk": f"{tenant}#SMS#+16048621234",
        "Owner": tenant,
        "ChannelType": "SMS",
        "Address": "+16048621234",
        "Status": "SENT",
        "ProviderMessageId": f"SM-{trace_id}",
        "Attempts": 1,
        "SentAt": "2026-06-01T10:00:00.000001+00:00",
    }
    [event] = status_events(None, item, "2026-06-01T10:00:00+00:00")
    return event


def failed_ids(response: dict[str, Any]) -> list[str]:
    return [failure["itemIdentifier"] for failure in response["batchItemFailures"]]


def test_a_delivered_event_is_the_detail_signed_with_the_tenants_secret(
    dispatch, receiver, lambda_context
):
    secret = "s" * 40
    dispatch.register("customer:acme", f"{receiver}/hooks/answer/200", secret)
    event = sent("customer:acme", "dispatch-delivered")
    dispatch.publisher.publish([event])

    response = dispatch.invoke(dispatch.records(1), lambda_context)

    assert failed_ids(response) == []
    [post] = Receiver.posts
    assert post.path == "/hooks/answer/200"
    assert json.loads(post.body) == event
    assert post.headers["Content-Type"] == "application/json"
    assert post.headers["X-Messaging-Event-Id"] == event["EventId"]
    parts = dict(part.split("=", 1) for part in post.headers["X-Messaging-Signature"].split(","))
    expected = hmac.new(secret.encode(), parts["t"].encode() + b"." + post.body, hashlib.sha256)
    assert parts["v1"] == expected.hexdigest()
    assert abs(time.time() - int(parts["t"])) < 60


def test_a_busy_receivers_event_is_retried_alone_after_its_backoff(
    dispatch, receiver, lambda_context
):
    dispatch.register("customer:busy", f"{receiver}/answer/503", "b" * 32)
    dispatch.publisher.publish([sent("customer:busy", "dispatch-busy")])
    [record] = dispatch.records(1)

    response = dispatch.invoke([record], lambda_context)

    assert failed_ids(response) == [record["messageId"]]
    # Hidden for RETRY_BASE_SECONDS, not the queue's 30 s: back on the queue, second receive.
    started = time.monotonic()
    [again] = dispatch.records(1)
    assert time.monotonic() - started < QUEUE_VISIBILITY_SECONDS / 2
    assert again["messageId"] == record["messageId"]
    assert again["attributes"]["ApproximateReceiveCount"] == "2"
    assert len(Receiver.posts) == 1
    dispatch.sqs.delete_message(QueueUrl=dispatch.queue_url, ReceiptHandle=again["receiptHandle"])


@pytest.mark.parametrize(
    ("tenant", "path", "posts"),
    [
        pytest.param("customer:refuses", "/answer/400", 1, id="400-refused"),
        pytest.param("customer:moved", "/answer/301", 1, id="redirect-refused"),
        pytest.param("customer:no-callback", None, 0, id="no-callback-dropped"),
    ],
)
def test_an_event_that_cannot_be_delivered_is_not_retried(
    dispatch, receiver, lambda_context, tenant, path, posts
):
    if path:
        dispatch.register(tenant, receiver + path, "r" * 32)
    dispatch.publisher.publish([sent(tenant, f"dispatch-{tenant}")])

    response = dispatch.invoke(dispatch.records(1), lambda_context)

    assert failed_ids(response) == []
    assert len(Receiver.posts) == posts


def test_in_a_batch_only_the_busy_receivers_event_is_reported_for_a_retry(
    dispatch, receiver, lambda_context
):
    dispatch.register("customer:fine", f"{receiver}/answer/204", "f" * 32)
    dispatch.register("customer:down", f"{receiver}/answer/502", "d" * 32)
    events = [
        sent("customer:fine", "dispatch-batch-1"),
        sent("customer:down", "dispatch-batch-2"),
        sent("customer:nobody", "dispatch-batch-3"),
    ]
    dispatch.publisher.publish(events)
    records = dispatch.records(3)
    down = next(r for r in records if json.loads(r["body"])["detail"]["Tenant"] == "customer:down")

    response = dispatch.invoke(records, lambda_context)

    assert failed_ids(response) == [down["messageId"]]
    assert sorted(post.path for post in Receiver.posts) == ["/answer/204", "/answer/502"]
    [again] = dispatch.records(1)  # after its backoff; the others were done
    assert again["messageId"] == down["messageId"]
    dispatch.sqs.delete_message(QueueUrl=dispatch.queue_url, ReceiptHandle=again["receiptHandle"])
