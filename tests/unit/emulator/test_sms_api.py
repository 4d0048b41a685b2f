"""The local stack's End User Messaging SMS API, reached by the real SMS sender over HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest

from emulator.aws import free_port
from emulator.providers import Fault, Providers
from emulator.sms_api import SmsApi
from notify.domain.compose import Sms
from notify.domain.errors import PermanentError, TransientError
from notify.domain.sms_encoding import sms_segments
from notify.handlers.sending import PROVIDER_CLIENT_CONFIG
from notify.integration.sms_voice import SmsSender

TO = "+16048621234"


@pytest.fixture
def providers() -> Providers:
    return Providers()


@pytest.fixture
def sender(providers, monkeypatch) -> Iterator[SmsSender]:
    server = SmsApi(providers).start(free_port())
    # The variable the local stack sets: the client finds the endpoint as boto3 does in AWS.
    monkeypatch.setenv("AWS_ENDPOINT_URL_PINPOINT_SMS_VOICE_V2", server.url)
    client = boto3.client(
        "pinpoint-sms-voice-v2",
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
        config=PROVIDER_CLIENT_CONFIG,
    )
    yield SmsSender(client, configuration_set=None)
    server.stop()


def sms(body: str = "Your code is 1234") -> Sms:
    return Sms(TO, body, "TRANSACTIONAL", "pool-1", sms_segments(body))


def test_a_text_is_captured_with_its_sender_and_trace_id(sender, providers):
    message_id = sender.send(sms(), "trace-1")

    [message] = providers.sent()
    assert (message.channel, message.to, message.sender) == ("SMS", TO, "pool-1")
    assert (message.body, message.trace_id, message.message_id) == (
        "Your code is 1234",
        "trace-1",
        message_id,
    )


@pytest.mark.parametrize(
    ("error", "raised", "reason"),
    [
        ("throttle", TransientError, "Throttled"),
        ("5xx", TransientError, "ProviderUnavailable"),
        ("crash", TransientError, "ProviderUnavailable"),
        ("reject", PermanentError, "ProviderRejected"),
    ],
    ids=["throttle", "5xx", "crash", "reject"],
)
def test_an_injected_fault_reaches_the_sender_as_the_provider_would_send_it(
    sender, providers, error, raised, reason
):
    providers.add_fault(Fault(channel="SMS", error=error, address=TO))

    with pytest.raises(raised) as failure:
        sender.send(sms(), "trace-1")

    assert failure.value.reason == reason
    assert providers.sent() == []
