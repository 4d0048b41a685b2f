"""The three send functions through their real entry points: sent once, recorded, classified,
paced to their send budget.

DynamoDB, SES and Secrets Manager are moto; SES's provider side (the outbox, injected
faults) is the local stack's botocore hooks on the session the handlers' clients come
from; SMS and WhatsApp go over HTTP to the local stack's SMS and Twilio APIs.
"""

from __future__ import annotations

import importlib
import json
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from emulator.aws import free_port
from emulator.botocore_hooks import SessionHooks
from emulator.providers import Fault, Providers, SentMessage
from emulator.sms_api import SmsApi
from emulator.twilio_api import TwilioApi
from notify.domain.channels import CHANNELS as REGISTRY
from notify.domain.errors import (
    INVALID_ADDRESS,
    PROVIDER_REJECTED,
    PROVIDER_UNAVAILABLE,
    THROTTLED,
    AwaitingDelivery,
    PermanentError,
    TransientError,
)
from notify.domain.pacing import (
    NOT_BEFORE,
    OUTLAST_THROTTLE_SECONDS,
    SLOT_HELD,
    THROTTLED_SINCE,
    without_pacing,
)
from notify.integration.traces.keys import recipient_key

EVENTS = Path(__file__).resolve().parents[3] / "events"
TWILIO_SID, TWILIO_TOKEN = "AC" + "0" * 31 + "7", "unit-test-twilio-token"
ENVIRONMENT = {
    "TEMPLATES_TABLE": "send-handlers-templates",
    "TENANT_TEMPLATES_TABLE": "send-handlers-tenant-templates",
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
    "SEND_BUDGETS_TABLE": "send-handlers-budgets",
    "SEND_RATE": "1000",  # a slot every millisecond: room for every send unless a test fills it
    "POWERTOOLS_METRICS_NAMESPACE": "Messaging",  # SendsPaced
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


class TableWrites:
    """The UpdateItem requests of the handlers' DynamoDB client, per table."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()

    def __call__(self, params: dict[str, Any], **kwargs: Any) -> None:
        self.counts[json.loads(params["body"])["TableName"]] += 1

    def to_budgets(self) -> int:
        return self.counts[ENVIRONMENT["SEND_BUDGETS_TABLE"]]


@dataclass
class SendFunctions:
    handlers: dict[str, Callable[..., dict[str, Any]]]
    providers: Providers
    traces: Any
    budgets: Any
    writes: TableWrites

    def send(self, channel: Channel, event: dict[str, Any], context: Any) -> dict[str, Any]:
        return self.handlers[channel.name](event, context)

    def recipient_item(self, event: dict[str, Any]) -> dict[str, Any]:
        request, recipient = event["Request"], event["Delivery"]["Recipient"]
        key = recipient_key(request["Owner"], recipient["ChannelType"], recipient["Address"])
        return self.traces.get_item(Key={"TraceId": request["TraceId"], "Sk": key})["Item"]

    def budget_of(self, event: dict[str, Any]) -> str:
        """The send budget the event's message spends (its channel's, or its sender's)."""
        channel = REGISTRY[event["Delivery"]["Recipient"]["ChannelType"]]
        return channel.budget_key(event["Request"]["Messages"][channel.block])

    def fill_budget(self, event: dict[str, Any], seconds: float) -> None:
        """Other sends have booked the event's budget `seconds` ahead."""
        tat = Decimal(str(round(time.time() + seconds, 6)))
        self.budgets.put_item(Item={"Budget": self.budget_of(event), "Tat": tat})


@pytest.fixture(scope="module")
def functions(mocked_aws, table_from_template) -> Iterator[SendFunctions]:
    """The send functions' tables, a verified domain, the Twilio secret, the providers."""
    table_from_template("TemplatesTable", ENVIRONMENT["TEMPLATES_TABLE"])
    table_from_template("TenantTemplatesTable", "send-handlers-tenant-templates")
    table_from_template("TenantsTable", ENVIRONMENT["TENANTS_TABLE"])
    traces = table_from_template("TracesTable", ENVIRONMENT["TRACES_TABLE"])
    budgets = table_from_template("SendBudgetsTable", ENVIRONMENT["SEND_BUDGETS_TABLE"])
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
    writes = TableWrites()
    hooks = SessionHooks(providers.hooks())
    with pytest.MonkeyPatch.context() as env:
        for name, value in ENVIRONMENT.items():
            env.setenv(name, value)
        env.setenv("AWS_ENDPOINT_URL_PINPOINT_SMS_VOICE_V2", sms.url)
        env.setenv("TWILIO_API_URL", twilio.url)
        session = hooks.default_session(region_name="us-east-1")  # the handlers' boto3.client
        session.events.register("before-call.dynamodb.UpdateItem", writes)
        handlers = {channel.name: _cold_start(channel.module) for channel in CHANNELS}
        yield SendFunctions(handlers, providers, traces, budgets, writes)
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
    # Each test starts with idle budgets, whatever the one before booked.
    for item in functions.budgets.scan()["Items"]:
        functions.budgets.delete_item(Key={"Budget": item["Budget"]})


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
def test_a_provider_failure_is_a_transient_error_and_the_retry_sends_once(
    functions, providers, channel, lambda_context
):
    event = delivery(channel)
    address = event["Delivery"]["Recipient"]["Address"]
    providers.add_fault(Fault(channel.name, "5xx", address, times=1))

    with pytest.raises(TransientError) as raised:
        functions.send(channel, event, lambda_context)
    assert type(raised.value) is TransientError
    assert raised.value.reason == PROVIDER_UNAVAILABLE

    # The failed attempt ended, so the state machine's retry goes ahead at once.
    assert functions.send(channel, event, lambda_context)["Status"] == "SENT"
    assert len(providers.sent(event["Request"]["TraceId"])) == 1
    assert functions.recipient_item(event)["Attempts"] == 2


@EACH_CHANNEL
def test_a_provider_throttle_is_paced_with_a_backoff_and_the_send_that_comes_back_sends_once(
    functions, providers, channel, lambda_context
):
    event = delivery(channel)
    address = event["Delivery"]["Recipient"]["Address"]
    providers.add_fault(Fault(channel.name, "throttle", address, times=1))
    before = time.time()

    outcome = functions.send(channel, event, lambda_context)

    # Not an error: the send leaves the execution (using none of its retries) and, a first
    # throttle, comes back at once, unheld (to book the next free slot); Record continues
    # it from its Delivery.
    recipient = outcome["Recipient"]
    assert outcome["Status"] == "PACED"
    assert without_pacing(recipient) == event["Delivery"]["Recipient"]
    assert (recipient["Throttled"], recipient[SLOT_HELD]) == (1, False)
    assert before <= recipient[THROTTLED_SINCE] <= time.time()
    assert recipient[NOT_BEFORE] == recipient[THROTTLED_SINCE]
    assert outcome["Delivery"] == event["Delivery"] | {"Recipient": recipient}
    assert providers.sent(event["Request"]["TraceId"]) == []
    assert "Status" not in functions.recipient_item(event)

    # Back at once: the attempt ended, so it books a slot, goes ahead, and is sent once.
    event["Delivery"]["Recipient"] = recipient
    assert functions.send(channel, event, lambda_context)["Status"] == "SENT"
    assert len(providers.sent(event["Request"]["TraceId"])) == 1
    assert functions.recipient_item(event)["Attempts"] == 2


@EACH_CHANNEL
def test_a_provider_throttle_outlasted_fifteen_minutes_is_a_transient_error_that_exhausts(
    functions, providers, channel, lambda_context
):
    event = delivery(channel)
    recipient = event["Delivery"]["Recipient"]
    providers.add_fault(Fault(channel.name, "throttle", recipient["Address"], times=1))
    since = time.time() - OUTLAST_THROTTLE_SECONDS
    event["Delivery"]["Recipient"] = recipient | {
        "Throttled": 9,
        THROTTLED_SINCE: since,
        NOT_BEFORE: time.time(),
        SLOT_HELD: False,
    }

    # Retried by the state machine, then dead-lettered: a real provider failure by now.
    with pytest.raises(TransientError) as raised:
        functions.send(channel, event, lambda_context)
    assert raised.value.reason == THROTTLED
    assert providers.sent(event["Request"]["TraceId"]) == []


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


# ---------------------------------------------------------------- send budgets
@EACH_CHANNEL
def test_a_send_with_room_in_its_budget_books_one_slot_in_one_write_and_is_sent(
    functions, providers, channel, lambda_context
):
    functions.send(channel, delivery(channel), lambda_context)  # the function learns it is idle
    event = delivery(channel)
    writes = functions.writes.to_budgets()

    outcome = functions.send(channel, event, lambda_context)

    assert outcome["Status"] == "SENT"
    assert functions.writes.to_budgets() - writes == 1
    [sent] = providers.sent(event["Request"]["TraceId"])
    assert sent.to == event["Delivery"]["Recipient"]["Address"]


@EACH_CHANNEL
def test_a_send_whose_slot_is_far_ahead_is_paced_holding_it_and_its_provider_is_not_called(
    functions, providers, channel, lambda_context
):
    event = delivery(channel)
    functions.fill_budget(event, 10)
    attempts = len(providers.attempts)

    outcome = functions.send(channel, event, lambda_context)

    assert outcome["Status"] == "PACED"
    recipient = outcome["Recipient"]
    assert recipient == event["Delivery"]["Recipient"] | {
        NOT_BEFORE: pytest.approx(time.time() + 10, abs=1),
        SLOT_HELD: True,
    }
    # Record continues it from its delivery, which holds its slot.
    assert outcome["Delivery"] == event["Delivery"] | {"Recipient": recipient}
    assert len(providers.attempts) == attempts
    assert providers.sent(event["Request"]["TraceId"]) == []
    assert "Status" not in functions.recipient_item(event)
    # Booked once: its budget's timeline moved one interval (1 ms) past the slot.
    budget = functions.budgets.get_item(Key={"Budget": functions.budget_of(event)})["Item"]
    assert float(budget["Tat"]) == pytest.approx(recipient[NOT_BEFORE] + 0.001, abs=1e-5)


@EACH_CHANNEL
def test_a_held_slot_that_is_due_is_sent_without_booking_again(
    functions, providers, channel, lambda_context, monkeypatch
):
    # Its slot is now: a loaded host reaching the send more than LATE after it would rebook
    # (tests/unit/domain/test_pacing.py), which is not what this test is about.
    monkeypatch.setattr("notify.domain.pacing.LATE", 5.0)
    monkeypatch.setattr("notify.handlers.sending.LATE", 5.0)
    event = delivery(channel)
    held = {NOT_BEFORE: time.time(), SLOT_HELD: True}
    event["Delivery"]["Recipient"] = event["Delivery"]["Recipient"] | held
    functions.fill_budget(event, 10)  # no room now: it sends in the slot it holds
    writes = functions.writes.to_budgets()

    outcome = functions.send(channel, event, lambda_context)

    assert outcome["Status"] == "SENT"
    assert functions.writes.to_budgets() == writes
    assert len(providers.sent(event["Request"]["TraceId"])) == 1


@EACH_CHANNEL
def test_a_held_slot_a_moment_ahead_is_waited_for_then_sent(
    functions, providers, channel, lambda_context
):
    event = delivery(channel)
    slot = time.time() + 0.3
    event["Delivery"]["Recipient"] = event["Delivery"]["Recipient"] | {
        NOT_BEFORE: slot,
        SLOT_HELD: True,
    }

    assert functions.send(channel, event, lambda_context)["Status"] == "SENT"

    [sent] = providers.sent(event["Request"]["TraceId"])
    assert datetime.fromisoformat(sent.at).timestamp() >= slot
