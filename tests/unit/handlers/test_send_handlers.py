"""The three send functions through their real entry points: sent once, recorded, classified.

DynamoDB, SES and Secrets Manager are moto; SES's provider side (the outbox, injected
faults) is the local stack's botocore hooks on the session the handlers' clients come
from; SMS and WhatsApp go over HTTP to the local stack's SMS and Twilio APIs.
"""

from __future__ import annotations

import importlib
import json
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from emulator.aws import free_port
from emulator.botocore_hooks import SessionHooks
from emulator.providers import Fault, Providers, SentMessage
from emulator.sms_api import SmsApi
from emulator.twilio_api import TwilioApi
from notify.domain.errors import (
    INVALID_ADDRESS,
    PROVIDER_REJECTED,
    THROTTLED,
    AwaitingDelivery,
    PermanentError,
    TransientError,
)
from notify.integration.traces.keys import recipient_key

EVENTS = Path(__file__).resolve().parents[3] / "events"
TWILIO_SID, TWILIO_TOKEN = "AC" + "0" * 31 + "7", "unit-test-twilio-token"
ENVIRONMENT = {
    "TEMPLATES_TABLE": "send-handlers-templates",
    "TRACES_TABLE": "send-handlers-traces",
    "TRACE_RETENTION_DAYS": "1",
    "DEFAULT_TEMPLATE_NAME": "alert-template",
    "TEMPLATE_CACHE_SECONDS": "60",
    "TENANTS_TABLE": "send-handlers-tenants",
    "TENANT_CACHE_SECONDS": "60",
    "UNLISTED_TENANT_SENDERS": "any",
    "TWILIO_SECRET_NAME": "send-handlers-twilio",
    "TWILIO_SECRET_MAX_AGE_SECONDS": "300",
    # The TraceId rides in the callback's query, so the outbox can tell whose it is.
    "STATUS_CALLBACK_URL": "http://127.0.0.1:9/webhook",  # the discard port
}


@dataclass(frozen=True)
class Channel:
    name: str  # as in a Recipient's ChannelType and the outbox
    module: str
    event_file: str
    text: Callable[[SentMessage], str | None]  # what the recipient reads
    expected_text: str
    rejected_reason: str  # of the provider's permanent "reject"


CHANNELS = [
    Channel(
        "EMAIL",
        "notify.handlers.send_email",
        "send-email-delivery.json",
        lambda message: message.text,
        "Alert: Your CHEQUING account ending in ****5493 has a low balance of $100.00",
        PROVIDER_REJECTED,
    ),
    Channel(
        "SMS",
        "notify.handlers.send_sms",
        "send-sms-delivery.json",
        lambda message: message.body,
        "Alert: Your SAVINGS account ending in ****7303 has a low balance of $50.00",
        PROVIDER_REJECTED,
    ),
    Channel(
        "WHATSAPP",
        "notify.handlers.send_whatsapp",
        "send-whatsapp-delivery.json",
        lambda message: message.body,
        "Hi Jane, Alex Johnson has invited John Smith to join Urmston Town Panthers u11s for"
        " the 2025-26 season. Membership is £40 and the monthly subscription £26. Reply"
        " REGISTER to start, or STOP to opt out.",
        INVALID_ADDRESS,
    ),
]
EACH_CHANNEL = pytest.mark.parametrize("channel", CHANNELS, ids=[c.name for c in CHANNELS])


@dataclass
class SendFunctions:
    handlers: dict[str, Callable[..., dict[str, Any]]]
    providers: Providers
    traces: Any

    def send(self, channel: Channel, event: dict[str, Any], context: Any) -> dict[str, Any]:
        return self.handlers[channel.name](event, context)

    def recipient_item(self, event: dict[str, Any]) -> dict[str, Any]:
        request, recipient = event["Request"], event["Delivery"]["Recipient"]
        key = recipient_key(request["Owner"], recipient["ChannelType"], recipient["Address"])
        return self.traces.get_item(Key={"TraceId": request["TraceId"], "Sk": key})["Item"]


@pytest.fixture(scope="module")
def functions(mocked_aws, table_from_template) -> Iterator[SendFunctions]:
    """The send functions' tables, a verified domain, the Twilio secret, the providers."""
    table_from_template("TemplatesTable", ENVIRONMENT["TEMPLATES_TABLE"])
    table_from_template("TenantsTable", ENVIRONMENT["TENANTS_TABLE"])
    traces = table_from_template("TracesTable", ENVIRONMENT["TRACES_TABLE"])
    template = json.loads((EVENTS / "template-alert.json").read_text())
    mocked_aws.client("dynamodb").put_item(TableName=ENVIRONMENT["TEMPLATES_TABLE"], Item=template)
    mocked_aws.client("sesv2").create_email_identity(EmailIdentity="example.com")
    mocked_aws.client("secretsmanager").create_secret(
        Name=ENVIRONMENT["TWILIO_SECRET_NAME"],
        SecretString=json.dumps({"AccountSid": TWILIO_SID, "AuthToken": TWILIO_TOKEN}),
    )
    providers = Providers()
    sms = SmsApi(providers).start(free_port())
    twilio = TwilioApi(providers, TWILIO_SID, TWILIO_TOKEN).start(free_port())
    hooks = SessionHooks(providers.hooks())
    with pytest.MonkeyPatch.context() as env:
        for name, value in ENVIRONMENT.items():
            env.setenv(name, value)
        env.setenv("AWS_ENDPOINT_URL_PINPOINT_SMS_VOICE_V2", sms.url)
        env.setenv("TWILIO_API_URL", twilio.url)
        hooks.default_session(region_name="us-east-1")  # the handlers' boto3.client(...)
        handlers = {channel.name: _cold_start(channel.module) for channel in CHANNELS}
        yield SendFunctions(handlers, providers, traces)
    hooks.remove()
    twilio.stop()
    sms.stop()
    for channel in CHANNELS:
        sys.modules.pop(channel.module, None)


def _cold_start(module: str) -> Callable[..., dict[str, Any]]:
    sys.modules.pop(module, None)
    return importlib.import_module(module).handler


@pytest.fixture
def providers(functions) -> Iterator[Providers]:
    yield functions.providers
    functions.providers.clear_faults()


def delivery(channel: Channel) -> dict[str, Any]:
    """The channel's sample Send task payload from events/, under a TraceId of its own."""
    event = json.loads((EVENTS / channel.event_file).read_text())
    event["Request"]["TraceId"] = f"send-{channel.name.lower()}-{uuid.uuid4()}"
    return event


@EACH_CHANNEL
def test_a_recipient_is_sent_once_and_the_send_is_recorded(
    functions, providers, channel, lambda_context
):
    event = delivery(channel)

    outcome = functions.send(channel, event, lambda_context)

    [sent] = providers.sent(event["Request"]["TraceId"])
    assert (sent.channel, sent.to) == (channel.name, event["Delivery"]["Recipient"]["Address"])
    assert channel.text(sent) == channel.expected_text
    assert outcome["Status"] == "SENT"
    assert outcome["ProviderMessageId"] == sent.message_id
    item = functions.recipient_item(event)
    assert (item["Status"], item["ProviderMessageId"], item["Attempts"]) == (
        "SENT",
        sent.message_id,
        1,
    )


@EACH_CHANNEL
def test_a_provider_rejection_is_a_permanent_error_with_its_reason_and_nothing_sent(
    functions, providers, channel, lambda_context
):
    event = delivery(channel)
    providers.add_fault(Fault(channel.name, "reject", event["Delivery"]["Recipient"]["Address"]))

    with pytest.raises(PermanentError) as raised:
        functions.send(channel, event, lambda_context)

    assert type(raised.value) is PermanentError  # the ASL matches the class name
    assert raised.value.reason == channel.rejected_reason
    assert "injected reject" in raised.value.detail
    assert providers.sent(event["Request"]["TraceId"]) == []
    assert "Status" not in functions.recipient_item(event)


@EACH_CHANNEL
def test_a_throttled_send_is_a_transient_error_and_the_retry_sends_once(
    functions, providers, channel, lambda_context
):
    event = delivery(channel)
    providers.add_fault(Fault(channel.name, "throttle", event["Delivery"]["Recipient"]["Address"], times=1))

    with pytest.raises(TransientError) as raised:
        functions.send(channel, event, lambda_context)
    assert type(raised.value) is TransientError
    assert raised.value.reason == THROTTLED

    # The failed attempt ended, so the state machine's retry goes ahead at once.
    assert functions.send(channel, event, lambda_context)["Status"] == "SENT"
    assert len(providers.sent(event["Request"]["TraceId"])) == 1
    assert functions.recipient_item(event)["Attempts"] == 2


@EACH_CHANNEL
def test_a_second_invocation_for_the_same_recipient_does_not_send_again(
    functions, providers, channel, lambda_context
):
    event = delivery(channel)

    first = functions.send(channel, event, lambda_context)
    again = functions.send(channel, event, lambda_context)

    assert len(providers.sent(event["Request"]["TraceId"])) == 1
    assert (again["ProviderMessageId"], again["SentAt"]) == (
        first["ProviderMessageId"],
        first["SentAt"],
    )


@EACH_CHANNEL
def test_a_recipient_whose_next_channel_waits_for_its_receipt_is_sent_then_awaited(
    functions, providers, channel, lambda_context
):
    event = delivery(channel)
    event["Delivery"]["Recipient"] = event["Delivery"]["Recipient"] | {"AwaitDeliverySeconds": 30}

    with pytest.raises(AwaitingDelivery, match="within 30 s"):
        functions.send(channel, event, lambda_context)
    # A retried or redriven Send finds it sent: awaited again, not sent again.
    with pytest.raises(AwaitingDelivery):
        functions.send(channel, event, lambda_context)

    assert len(providers.sent(event["Request"]["TraceId"])) == 1
    assert functions.recipient_item(event)["Status"] == "SENT"
