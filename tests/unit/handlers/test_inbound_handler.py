"""The inbound function over SQS batches: each provider event handled once, failures alone."""

from __future__ import annotations

import importlib
import json
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar
from urllib.parse import parse_qs

import pytest
from aws_lambda_powertools.utilities import parameters

from notify.integration.providers.twilio.events import twilio_envelope

MODULE = "notify.handlers.inbound"
HELP_TEXT = "Team bot: reply STOP to stop."
PLAYER_PARENT = "whatsapp:+16048621234"
BOT = "whatsapp:+14155238886"
# The bot's send budget, which its HELP replies spend (WhatsAppSendRate).
BOT_BUDGET = "WHATSAPP#whatsapp:+14155238886"
SEND_RATE = 20


class FakeTwilio(BaseHTTPRequestHandler):
    """Twilio's Messages API, answering every create with a new SID."""

    sent: ClassVar[list[dict[str, list[str]]]] = []

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        FakeTwilio.sent.append(parse_qs(self.rfile.read(length).decode()))
        body = json.dumps({"sid": f"SM{uuid.uuid4().hex}", "status": "queued"}).encode()
        self.send_response(201)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def twilio_api() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeTwilio)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture(scope="module")
def stack(mocked_aws, table_from_template, twilio_api) -> Iterator[dict[str, Any]]:
    """The function's resources in moto, an SQS queue watching the bus, the handler loaded."""
    opt_outs = table_from_template("OptOutsTable", "inbound-opt-outs")
    traces = table_from_template("TracesTable", "inbound-traces")
    table_from_template("IdempotencyTable", "inbound-idempotency")
    budgets = table_from_template("SendBudgetsTable", "inbound-send-budgets")
    events = mocked_aws.client("events")
    events.create_event_bus(Name="inbound-bus")
    sqs = mocked_aws.client("sqs")
    watch = sqs.create_queue(QueueName="bus-watch")["QueueUrl"]
    watch_arn = sqs.get_queue_attributes(QueueUrl=watch, AttributeNames=["QueueArn"])
    events.put_rule(
        Name="all-inbound",
        EventBusName="inbound-bus",
        EventPattern=json.dumps({"source": ["messaging.inbound"]}),
    )
    events.put_targets(
        Rule="all-inbound",
        EventBusName="inbound-bus",
        Targets=[{"Id": "watch", "Arn": watch_arn["Attributes"]["QueueArn"]}],
    )
    secret = json.dumps({"AccountSid": "AC" + "1" * 32, "AuthToken": "token"})
    mocked_aws.client("secretsmanager").create_secret(Name="inbound-twilio", SecretString=secret)
    environment = {
        "OPT_OUTS_TABLE": "inbound-opt-outs",
        "TRACES_TABLE": "inbound-traces",
        "IDEMPOTENCY_TABLE": "inbound-idempotency",
        "INBOUND_EVENT_BUS": "inbound-bus",
        "HELP_REPLY_TEXT": HELP_TEXT,
        "TWILIO_SECRET_NAME": "inbound-twilio",
        "TWILIO_SECRET_MAX_AGE_SECONDS": "300",
        "TWILIO_API_URL": twilio_api,
        "SEND_BUDGETS_TABLE": "inbound-send-budgets",
        "SEND_RATE": str(SEND_RATE),
    }
    parameters.clear_caches()
    with pytest.MonkeyPatch.context() as env:
        for name, value in environment.items():
            env.setenv(name, value)
        sys.modules.pop(MODULE, None)
        module = importlib.import_module(MODULE)
        yield {
            "handler": module.handler,
            "opt_outs": opt_outs,
            "traces": traces,
            "budgets": budgets,
            "watch": watch,
            "sqs": sqs,
        }
    sys.modules.pop(MODULE, None)
    parameters.clear_caches()


def record(body: str) -> dict[str, Any]:
    return {
        "messageId": str(uuid.uuid4()),
        "receiptHandle": "handle",
        "body": body,
        "attributes": {},
        "messageAttributes": {},
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:inbound",
        "awsRegion": "us-east-1",
    }


def message(body: str, sid: str | None = None, sender: str = PLAYER_PARENT) -> str:
    params = {"MessageSid": sid or f"SM{uuid.uuid4().hex}", "From": sender, "To": BOT, "Body": body}
    return twilio_envelope(params, {}, "application/x-www-form-urlencoded", "2026-11-24T10:00:00Z")


def status(sid: str, value: str, trace_id: str | None = "trace-1") -> str:
    query = {"TraceId": trace_id} if trace_id else {}
    params = {"MessageSid": sid, "MessageStatus": value}
    return twilio_envelope(params, query, "application/x-www-form-urlencoded", "2026-11-24T10:00Z")


def published(stack) -> list[dict[str, Any]]:
    found = []
    while batch := stack["sqs"].receive_message(QueueUrl=stack["watch"], MaxNumberOfMessages=10):
        if not batch.get("Messages"):
            break
        for m in batch["Messages"]:
            found.append(json.loads(m["Body"]))
            stack["sqs"].delete_message(QueueUrl=stack["watch"], ReceiptHandle=m["ReceiptHandle"])
    return found


def failed_ids(response: dict[str, Any]) -> set[str]:
    return {failure["itemIdentifier"] for failure in response["batchItemFailures"]}


def test_an_ordinary_message_is_published_once_even_when_delivered_twice(stack, lambda_context):
    body = message("Sam will be there on Saturday")
    first, duplicate = record(body), record(body)

    response = stack["handler"]({"Records": [first, duplicate]}, lambda_context)
    again = stack["handler"]({"Records": [record(body)]}, lambda_context)

    assert failed_ids(response) == set()
    assert failed_ids(again) == set()
    [event] = published(stack)
    assert (event["source"], event["detail-type"]) == ("messaging.inbound", "InboundMessage")
    assert event["detail"]["Body"] == "Sam will be there on Saturday"
    assert event["detail"]["Channel"] == "WHATSAPP"
    assert event["detail"]["Address"] == "+16048621234"


def test_stop_and_start_change_the_opt_outs_table(stack, lambda_context):
    key = {"Address": "+16048621234", "Channel": "SMS"}

    stack["handler"]({"Records": [record(message("STOP", sender="+16048621234"))]}, lambda_context)
    assert "Item" in stack["opt_outs"].get_item(Key=key)

    stack["handler"]({"Records": [record(message("Start", sender="+16048621234"))]}, lambda_context)
    assert "Item" not in stack["opt_outs"].get_item(Key=key)
    assert published(stack) == []


def test_help_is_answered_through_twilio_from_the_number_written_to(stack, lambda_context):
    FakeTwilio.sent.clear()

    response = stack["handler"]({"Records": [record(message("help"))]}, lambda_context)

    assert failed_ids(response) == set()
    assert [(s["To"], s["From"], s["Body"]) for s in FakeTwilio.sent] == [
        ([PLAYER_PARENT], [BOT], [HELP_TEXT])
    ]


def booked_until(stack, budget: str = BOT_BUDGET) -> float:
    """When the budget's next free slot begins (its `Tat`), or 0 if it was never booked."""
    item = stack["budgets"].get_item(Key={"Budget": budget}, ConsistentRead=True).get("Item", {})
    return float(item.get("Tat", 0))


def test_a_help_reply_spends_a_slot_of_the_replying_numbers_budget(stack, lambda_context):
    FakeTwilio.sent.clear()
    stack["budgets"].delete_item(Key={"Budget": BOT_BUDGET})
    before = time.time()

    response = stack["handler"]({"Records": [record(message("HELP"))]}, lambda_context)

    assert failed_ids(response) == set()
    assert len(FakeTwilio.sent) == 1
    # The budget was idle: the reply took the slot from now, the next begins one interval on.
    assert before + 1 / SEND_RATE <= booked_until(stack) <= time.time() + 1 / SEND_RATE


def test_a_help_reply_waits_for_a_near_slot_before_it_is_sent(stack, lambda_context):
    FakeTwilio.sent.clear()
    slot = time.time() + 0.5
    stack["budgets"].put_item(Item={"Budget": BOT_BUDGET, "Tat": Decimal(str(round(slot, 6)))})

    response = stack["handler"]({"Records": [record(message("help"))]}, lambda_context)

    assert failed_ids(response) == set()
    assert time.time() >= slot
    assert len(FakeTwilio.sent) == 1
    assert booked_until(stack) == pytest.approx(slot + 1 / SEND_RATE, abs=1e-6)


def test_a_help_reply_whose_slot_is_far_is_retried_by_sqs_then_sent_once(stack, lambda_context):
    FakeTwilio.sent.clear()
    far = Decimal(str(round(time.time() + 60, 6)))
    stack["budgets"].put_item(Item={"Budget": BOT_BUDGET, "Tat": far})
    help_record = record(message("HELP"))

    busy = stack["handler"]({"Records": [help_record]}, lambda_context)
    assert failed_ids(busy) == {help_record["messageId"]}
    assert FakeTwilio.sent == []

    stack["budgets"].delete_item(Key={"Budget": BOT_BUDGET})  # its turn has come
    retried = stack["handler"]({"Records": [help_record]}, lambda_context)
    again = stack["handler"]({"Records": [help_record]}, lambda_context)

    assert failed_ids(retried) == failed_ids(again) == set()
    assert [s["Body"] for s in FakeTwilio.sent] == [[HELP_TEXT]]


def test_only_the_records_that_fail_are_reported_for_a_retry(stack, lambda_context):
    stack["traces"].put_item(
        Item={"TraceId": "trace-1", "Sk": "c#WHATSAPP#x", "ProviderMessageId": "SMknown"}
    )
    good = record(status("SMknown", "delivered"))
    unrecorded = record(status("SMnotyet", "sent"))
    not_ours = record(status("SMother", "sent", trace_id=None))
    garbage = record("not json")

    response = stack["handler"]({"Records": [good, unrecorded, not_ours, garbage]}, lambda_context)

    assert failed_ids(response) == {unrecorded["messageId"], garbage["messageId"]}
    item = stack["traces"].get_item(Key={"TraceId": "trace-1", "Sk": "c#WHATSAPP#x"})["Item"]
    assert item["DeliveryStatus"] == "delivered"


def test_a_retried_status_is_recorded_once_its_send_is(stack, lambda_context):
    early = status("SMlate", "read")
    assert failed_ids(stack["handler"]({"Records": [record(early)]}, lambda_context))

    stack["traces"].put_item(
        Item={"TraceId": "trace-2", "Sk": "c#WHATSAPP#y", "ProviderMessageId": "SMlate"}
    )
    assert not failed_ids(stack["handler"]({"Records": [record(early)]}, lambda_context))

    item = stack["traces"].get_item(Key={"TraceId": "trace-2", "Sk": "c#WHATSAPP#y"})["Item"]
    assert item["DeliveryStatus"] == "read"
