"""POST /webhook over HTTP, through InboundQueue to the inbound function, as Twilio drives it."""

from __future__ import annotations

import json
import random
import time
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import pytest
import requests
from boto3.dynamodb.conditions import Key
from twilio.request_validator import RequestValidator

from emulator.local import LOCAL_TWILIO_AUTH_TOKEN, LocalStack
from tests.e2e.conftest import example, finished, outbox, wait_until

BOT = "whatsapp:+14155238886"
TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'


def new_number() -> str:
    return f"+1604862{random.randrange(10_000):04d}"


@pytest.fixture(scope="session")
def webhook(local: LocalStack) -> Callable[..., requests.Response]:
    def post(
        params: dict[str, str],
        *,
        query: dict[str, str] | None = None,
        signature: str | None = None,
        token: str = LOCAL_TWILIO_AUTH_TOKEN,
    ) -> requests.Response:
        url = f"{local.http.url}/webhook" + (f"?{urlencode(query)}" if query else "")
        if signature is None:
            signature = RequestValidator(token).compute_signature(url, params)
        headers = {"X-Twilio-Signature": signature} if signature else {}
        return requests.post(url, data=params, headers=headers, timeout=10)

    return post


def inbound(sender: str, body: str, sid: str | None = None) -> dict[str, str]:
    return {
        "MessageSid": sid or f"SM{uuid.uuid4().hex}",
        "AccountSid": "AC" + "0" * 31 + "1",
        "From": sender,
        "To": BOT if sender.startswith("whatsapp:") else "+14155238886",
        "Body": body,
        "NumMedia": "0",
    }


def opted_out(local: LocalStack, number: str, channel: str) -> bool:
    item = local.client("dynamodb").get_item(
        TableName=local.stack.physical("OptOutsTable")["Ref"],
        Key={"Address": {"S": number}, "Channel": {"S": channel}},
        ConsistentRead=True,
    )
    return "Item" in item


class BusWatch:
    """Every event on the inbound bus, through a rule with an SQS target made for the test."""

    def __init__(self, local: LocalStack) -> None:
        self._sqs = local.client("sqs")
        self._url = self._sqs.create_queue(QueueName=f"e2e-bus-watch-{uuid.uuid4().hex[:8]}")[
            "QueueUrl"
        ]
        arn = self._sqs.get_queue_attributes(QueueUrl=self._url, AttributeNames=["QueueArn"])
        events = local.client("events")
        bus = local.stack.physical("InboundEventBus")["Ref"]
        events.put_rule(
            Name="e2e-watch",
            EventBusName=bus,
            EventPattern=json.dumps({"source": ["messaging.inbound"]}),
        )
        events.put_targets(
            Rule="e2e-watch",
            EventBusName=bus,
            Targets=[{"Id": "watch", "Arn": arn["Attributes"]["QueueArn"]}],
        )
        self.events: list[dict[str, Any]] = []

    def for_message(self, sid: str) -> list[dict[str, Any]]:
        while messages := self._sqs.receive_message(QueueUrl=self._url, MaxNumberOfMessages=10).get(
            "Messages"
        ):
            for message in messages:
                self.events.append(json.loads(message["Body"]))
                self._sqs.delete_message(QueueUrl=self._url, ReceiptHandle=message["ReceiptHandle"])
        return [e for e in self.events if e["detail"]["MessageSid"] == sid]


@pytest.fixture(scope="session")
def bus(local: LocalStack) -> BusWatch:
    return BusWatch(local)


def processed_after(webhook: Callable[..., requests.Response], bus: BusWatch) -> None:
    """Wait until a message posted now is published: what was queued before it is done too."""
    marker = inbound(f"whatsapp:{new_number()}", "marker")
    assert webhook(marker).status_code == 200
    wait_until(lambda: bus.for_message(marker["MessageSid"]), "the marker message published")


def recipients(local: LocalStack, trace_id: str) -> list[dict[str, Any]]:
    table = local.session.resource("dynamodb").Table(local.stack.physical("TracesTable")["Ref"])
    items = table.query(KeyConditionExpression=Key("TraceId").eq(trace_id))["Items"]
    return [item for item in items if "#" in item["Sk"]]


# ---------------------------------------------------------------- signatures
@pytest.mark.parametrize(
    "signature",
    [
        pytest.param("", id="missing"),
        pytest.param("c2lnbmVkIGJ5IHNvbWVvbmUgZWxzZQ==", id="forged"),
        pytest.param("replayed", id="replayed from another body"),
    ],
)
def test_an_unsigned_forged_or_replayed_request_is_403_and_changes_nothing(
    local, webhook, bus, signature
):
    number = new_number()
    stop = inbound(number, "STOP")
    if signature == "replayed":
        signed = inbound(number, "hello", sid=stop["MessageSid"])
        url = f"{local.http.url}/webhook"
        signature = RequestValidator(LOCAL_TWILIO_AUTH_TOKEN).compute_signature(url, signed)

    response = webhook(stop, signature=signature)

    assert response.status_code == 403
    processed_after(webhook, bus)
    assert not opted_out(local, number, "SMS")


def test_a_request_signed_with_another_token_is_403(webhook):
    response = webhook(inbound(new_number(), "STOP"), token="someone-elses-auth-token-000000")

    assert response.status_code == 403


def test_a_signed_request_is_answered_with_empty_twiml_at_once(webhook):
    response = webhook(inbound(f"whatsapp:{new_number()}", "hello"))

    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/xml")
    assert response.text == TWIML


@pytest.mark.parametrize(
    "content_type",
    [
        pytest.param("text/plain", id="text-plain"),
        pytest.param("application/xml", id="xml"),
        pytest.param("multipart/form-data; boundary=x", id="multipart"),
        pytest.param(None, id="no-type"),
    ],
)
def test_a_signed_form_sent_as_another_type_is_415_and_never_processed(
    local, webhook, bus, content_type
):
    message = inbound(f"whatsapp:{new_number()}", "hello")
    url = f"{local.http.url}/webhook"
    signature = RequestValidator(LOCAL_TWILIO_AUTH_TOKEN).compute_signature(url, message)
    headers = {"X-Twilio-Signature": signature}
    # requests sends no Content-Type for bytes unless told: "no-type" is just that.
    if content_type:
        headers["Content-Type"] = content_type

    response = requests.post(url, data=urlencode(message).encode(), headers=headers, timeout=10)

    assert response.status_code == 415
    assert response.json()["message"] == "Unsupported Media Type"
    processed_after(webhook, bus)
    assert bus.for_message(message["MessageSid"]) == []


def test_a_form_that_is_not_utf8_is_415_with_the_reason_and_never_processed(local, webhook, bus):
    message = inbound(f"whatsapp:{new_number()}", "caf\u00e9")
    url = f"{local.http.url}/webhook"
    signature = RequestValidator(LOCAL_TWILIO_AUTH_TOKEN).compute_signature(url, message)
    latin1 = urlencode(message, encoding="latin-1").replace("%E9", "\xe9").encode("latin-1")
    headers = {"X-Twilio-Signature": signature, "Content-Type": "application/x-www-form-urlencoded"}

    response = requests.post(url, data=latin1, headers=headers, timeout=10)

    assert response.status_code == 415
    assert response.json()["reason"].startswith("a body that is not UTF-8: ")
    processed_after(webhook, bus)
    assert bus.for_message(message["MessageSid"]) == []


def test_a_body_over_256_kib_is_413_and_never_processed(webhook, bus):
    message = inbound(f"whatsapp:{new_number()}", "x" * (256 * 1024))

    response = webhook(message)

    assert response.status_code == 413
    assert response.json()["message"] == "Payload Too Large"
    processed_after(webhook, bus)
    assert bus.for_message(message["MessageSid"]) == []


# ---------------------------------------------------------------- opt-outs
@pytest.mark.parametrize("channel", ["WHATSAPP", "SMS"])
def test_stop_then_a_send_is_rejected_opted_out_and_start_sends_again(
    local, webhook, post, channel
):
    number = new_number()
    sender = f"whatsapp:{number}" if channel == "WHATSAPP" else number

    assert webhook(inbound(sender, "Stop")).status_code == 200
    wait_until(lambda: opted_out(local, number, channel), f"{number} opted out of {channel}")

    refused = _send(local, post, number, channel)
    [recipient] = recipients(local, refused)
    assert recipient["Status"] == "REJECTED"
    assert "OptedOut" in recipient["Reason"]
    assert outbox(local, refused) == []

    assert webhook(inbound(sender, "START")).status_code == 200
    wait_until(lambda: not opted_out(local, number, channel), f"{number} opted back in")

    accepted = _send(local, post, number, channel)
    [sent] = outbox(local, accepted)
    assert sent["channel"] == channel


def test_an_opt_out_of_whatsapp_still_lets_sms_through(local, webhook, post):
    number = new_number()
    assert webhook(inbound(f"whatsapp:{number}", "UNSUBSCRIBE")).status_code == 200
    wait_until(lambda: opted_out(local, number, "WHATSAPP"), "opted out of WhatsApp")

    trace_id = _send(local, post, number, "SMS")

    assert len(outbox(local, trace_id)) == 1


def _send(local: LocalStack, post, number: str, channel: str) -> str:
    if channel == "WHATSAPP":
        request = example("whatsapp-invitation.json")
        request["Addresses"] = {f"whatsapp:{number}": request["Addresses"].popitem()[1]}
    else:
        request = example("sms-inline.json")
        request["Addresses"] = {number: {"ChannelType": "SMS"}}
    assert post(request).status_code == 202
    finished(local, request["TraceId"])
    return request["TraceId"]


# ---------------------------------------------------------------- inbound messages
def test_an_ordinary_message_is_one_event_on_the_inbound_bus(webhook, bus):
    number = new_number()
    message = inbound(f"whatsapp:{number}", "REGISTER")

    assert webhook(message).status_code == 200

    [event] = wait_until(lambda: bus.for_message(message["MessageSid"]), "the event published")
    assert (event["source"], event["detail-type"]) == ("messaging.inbound", "InboundMessage")
    assert event["detail"] | {"ReceivedAt": None} == {
        "From": f"whatsapp:{number}",
        "To": BOT,
        "Body": "REGISTER",
        "Channel": "WHATSAPP",
        "Address": number,
        "MessageSid": message["MessageSid"],
        "ReceivedAt": None,
    }


def test_a_message_delivered_twice_is_processed_once(webhook, bus):
    message = inbound(f"whatsapp:{new_number()}", "Is training on tonight?")

    assert webhook(message).status_code == 200
    assert webhook(message).status_code == 200

    wait_until(lambda: bus.for_message(message["MessageSid"]), "the event published")
    processed_after(webhook, bus)
    assert len(bus.for_message(message["MessageSid"])) == 1


def test_help_is_answered_from_the_number_written_to(local, webhook):
    number = new_number()
    help_text = local.stack.resolve({"Ref": "HelpReplyText"})

    assert webhook(inbound(f"whatsapp:{number}", "help")).status_code == 200

    def reply() -> list[dict[str, Any]]:
        return [m for m in outbox(local, None) if m["to"] == f"whatsapp:{number}"]

    [message] = wait_until(reply, "the HELP reply in the outbox")
    assert (message["sender"], message["body"]) == (BOT, help_text)


# ---------------------------------------------------------------- delivery statuses
def test_status_callbacks_out_of_order_leave_the_latest_status(local, webhook, post, bus):
    number = new_number()
    trace_id = _send(local, post, number, "WHATSAPP")
    [recipient] = recipients(local, trace_id)
    sid = recipient["ProviderMessageId"]

    def callback(status: str, **extra: str) -> None:
        params = {"MessageSid": sid, "MessageStatus": status, "To": f"whatsapp:{number}", **extra}
        assert webhook(params, query={"TraceId": trace_id}).status_code == 200

    def delivery_status() -> str | None:
        return recipients(local, trace_id)[0].get("DeliveryStatus")

    callback("delivered")
    callback("sent")
    callback("queued")
    wait_until(lambda: delivery_status() == "delivered", "delivered recorded")
    processed_after(webhook, bus)
    assert delivery_status() == "delivered"

    callback("undelivered", ErrorCode="30003")  # equal rank, later: the first one stands
    callback("delivered")  # a repeat
    processed_after(webhook, bus)
    assert delivery_status() == "delivered"
    assert "DeliveryErrorCode" not in recipients(local, trace_id)[0]

    callback("read")
    wait_until(lambda: delivery_status() == "read", "read recorded")


def test_ses_events_of_the_stacks_configuration_set_set_the_email_status(local, post, webhook, bus):
    request = example("email-only.json")
    assert post(request).status_code == 202
    trace_id = request["TraceId"]
    finished(local, trace_id)
    [recipient] = recipients(local, trace_id)
    configuration_set = local.stack.physical("EmailTrackingConfigurationSet")["Ref"]

    def ses_event(detail_type: str, event_type: str, configuration_set: str, **extra: Any) -> None:
        mail = {
            "messageId": recipient["ProviderMessageId"],
            "destination": [recipient["Address"]],
            "tags": {"TraceId": [trace_id], "ses:configuration-set": [configuration_set]},
        }
        detail = {"eventType": event_type, "mail": mail, **extra}
        entry = {"Source": "aws.ses", "DetailType": detail_type, "Detail": json.dumps(detail)}
        assert not local.client("events").put_events(Entries=[entry])["FailedEntryCount"]

    ses_event("Email Delivered", "Delivery", "another-stacks-set")  # not this stack's: no rule
    processed_after(webhook, bus)
    ses_event(
        "Email Bounced",
        "Bounce",
        configuration_set,
        bounce={"bounceType": "Permanent", "bounceSubType": "NoEmail"},
    )

    def bounced() -> dict[str, Any] | None:
        item = recipients(local, trace_id)[0]
        return item if item.get("DeliveryStatus") == "bounced" else None

    item = wait_until(bounced, "the bounce recorded")
    assert item["DeliveryErrorCode"] == "Permanent/NoEmail"


def test_sms_events_through_the_sns_topic_set_the_sms_status(local, post):
    number = new_number()
    trace_id = _send(local, post, number, "SMS")
    [recipient] = recipients(local, trace_id)
    topic = local.stack.outputs()["SmsEventsTopicArn"]
    event = {
        "eventType": "TEXT_CARRIER_UNREACHABLE",
        "eventVersion": "1.0",
        "eventTimestamp": int(time.time() * 1000),
        "isFinal": True,
        "destinationPhoneNumber": number,
        "messageId": recipient["ProviderMessageId"],
        "messageStatus": "CARRIER_UNREACHABLE",
        "context": {"TraceId": trace_id},
    }

    local.client("sns").publish(TopicArn=topic, Message=json.dumps(event))

    def failed() -> dict[str, Any] | None:
        item = recipients(local, trace_id)[0]
        return item if item.get("DeliveryStatus") == "failed" else None

    item = wait_until(failed, "the SMS failure recorded")
    assert item["DeliveryErrorCode"] == "TEXT_CARRIER_UNREACHABLE"
