"""The local stack's End User Messaging SMS and Voice API, reached by the real senders over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from emulator.aws import free_port
from emulator.providers import FAULT_ERRORS, Fault, Providers
from emulator.sms_api import SmsApi
from notify.domain.channels import CHANNELS
from notify.domain.channels.sms import Sms
from notify.domain.channels.voice import VoiceCall
from notify.domain.errors import PermanentError, TransientError
from notify.domain.sms_encoding import sms_segments
from notify.handlers.sending import PROVIDER_CLIENT_CONFIG
from notify.integration.providers.end_user_messaging import SmsSender, VoiceSender

TO = "+16048621234"


@pytest.fixture
def providers() -> Providers:
    return Providers()


@pytest.fixture
def client(providers, monkeypatch) -> Iterator[Any]:
    server = SmsApi(providers).start(free_port())
    # The variable the local stack sets: the client finds the endpoint as boto3 does in AWS.
    monkeypatch.setenv("AWS_ENDPOINT_URL_PINPOINT_SMS_VOICE_V2", server.url)
    yield boto3.client(
        "pinpoint-sms-voice-v2",
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
        config=PROVIDER_CLIENT_CONFIG,
    )
    server.stop()


@pytest.fixture
def sender(client) -> SmsSender:
    return SmsSender(client, configuration_set=None)


@pytest.fixture
def voice(client) -> VoiceSender:
    return VoiceSender(client, configuration_set=None)


def sms(body: str = "Your code is 1234") -> Sms:
    return Sms(TO, body, "TRANSACTIONAL", "pool-1", sms_segments(body))


def call(body: str = "Your code is 1 2 3 4") -> VoiceCall:
    return VoiceCall(TO, "+18445550100", body, "TEXT", "JOANNA")


def test_a_text_is_captured_with_its_sender_and_trace_id(sender, providers):
    message_id = sender.send(sms(), "trace-1")

    [message] = providers.sent()
    assert (message.channel, message.to, message.sender) == ("SMS", TO, "pool-1")
    assert (message.body, message.trace_id, message.message_id) == (
        "Your code is 1234",
        "trace-1",
        message_id,
    )


def test_a_call_is_captured_as_voice_with_its_caller_and_trace_id(voice, providers):
    message_id = voice.send(call(), "trace-2")

    [message] = providers.sent()
    assert (message.channel, message.to, message.sender) == ("VOICE", TO, "+18445550100")
    assert (message.body, message.trace_id, message.message_id) == (
        "Your code is 1 2 3 4",
        "trace-2",
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


@pytest.mark.parametrize(
    ("error", "raised", "reason"),
    [
        ("throttle", TransientError, "Throttled"),
        ("reject", PermanentError, "ProviderRejected"),
    ],
    ids=["throttle", "reject"],
)
def test_a_voice_fault_fails_the_call_and_leaves_texts_alone(
    sender, voice, providers, error, raised, reason
):
    providers.add_fault(Fault(channel="VOICE", error=error, address=TO))

    with pytest.raises(raised) as failure:
        voice.send(call(), "trace-2")
    sender.send(sms(), "trace-1")

    assert failure.value.reason == reason
    assert [m.channel for m in providers.sent()] == ["SMS"]
    assert providers.attempts == [("VOICE", TO), ("SMS", TO)]


def test_every_channel_of_the_registry_can_be_faulted_locally():
    assert list(FAULT_ERRORS)[: len(CHANNELS)] == list(CHANNELS)
    assert FAULT_ERRORS["VOICE"] == FAULT_ERRORS["SMS"]
