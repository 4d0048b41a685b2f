"""The voice sender: the SendVoiceMessage request it makes and how it classifies errors."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError
from botocore.stub import Stubber

from notify.domain.channels.voice import VoiceCall
from notify.domain.errors import (
    OPTED_OUT,
    PROVIDER_REJECTED,
    PROVIDER_UNAVAILABLE,
    THROTTLED,
    PermanentError,
    TransientError,
)
from notify.integration.providers.end_user_messaging import VoiceSender
from tests.unit.integration.providers.provider_clients import stubbed

TO = "+16048621234"
CALL = VoiceCall(
    to=TO,
    origination_identity="+18445550100",
    body="Your code is 4 2 7 1",
    text_type="TEXT",
    voice_id=None,
)
SSML_CALL = VoiceCall(
    to=TO,
    origination_identity="pool-voice",
    body='<speak><lang xml:lang="fr-FR">Votre code est 4 2 7 1</lang></speak>',
    text_type="SSML",
    voice_id="LEA",
)


@pytest.fixture
def sms_voice(monkeypatch) -> Iterator[Stubber]:
    yield from stubbed("pinpoint-sms-voice-v2", monkeypatch)


@pytest.mark.parametrize(
    ("call", "configuration_set", "request_sent"),
    [
        pytest.param(
            CALL,
            None,
            {
                "DestinationPhoneNumber": TO,
                "OriginationIdentity": "+18445550100",
                "MessageBody": "Your code is 4 2 7 1",
                "MessageBodyTextType": "TEXT",
                "Context": {"TraceId": "trace/1"},
            },
            id="text-in-the-default-voice",
        ),
        pytest.param(
            SSML_CALL,
            "notify-sms-events",
            {
                "DestinationPhoneNumber": TO,
                "OriginationIdentity": "pool-voice",
                "MessageBody": SSML_CALL.body,
                "MessageBodyTextType": "SSML",
                "VoiceId": "LEA",
                "ConfigurationSetName": "notify-sms-events",
                "Context": {"TraceId": "trace/1"},
            },
            id="ssml-in-a-named-voice-with-a-configuration-set",
        ),
    ],
)
def test_a_call_is_placed_as_composed_and_its_message_id_returned(
    sms_voice, call, configuration_set, request_sent
) -> None:
    sms_voice.add_response("send_voice_message", {"MessageId": "voice-message-1"}, request_sent)

    sender = VoiceSender(sms_voice.client, configuration_set)

    assert sender.send(call, "trace/1") == "voice-message-1"


def test_a_destination_on_the_opt_out_list_is_permanent_opted_out_of_voice(sms_voice) -> None:
    sms_voice.add_client_error(
        "send_voice_message",
        "ConflictException",
        "The destination phone number is opted out.",
        http_status_code=409,
        modeled_fields={
            "Message": "The destination phone number is opted out.",
            "Reason": "DESTINATION_PHONE_NUMBER_OPTED_OUT",
            "ResourceType": "opt-out-list",
            "ResourceId": "Default",
        },
    )

    with pytest.raises(PermanentError) as caught:
        VoiceSender(sms_voice.client, None).send(CALL, "trace-1")

    assert caught.value.reason == OPTED_OUT
    assert str(caught.value) == f"OptedOut: {TO} has opted out of VOICE"


@pytest.mark.parametrize(
    ("code", "status", "error_class", "reason"),
    [
        pytest.param("ThrottlingException", 400, TransientError, THROTTLED, id="throttled"),
        pytest.param(
            "InternalServerException", 500, TransientError, PROVIDER_UNAVAILABLE, id="5xx"
        ),
        pytest.param(
            "ValidationException", 400, PermanentError, PROVIDER_REJECTED, id="validation"
        ),
        pytest.param(
            "ConflictException", 409, PermanentError, PROVIDER_REJECTED, id="another-conflict"
        ),
    ],
)
def test_a_voice_error_is_classified(sms_voice, code, status, error_class, reason) -> None:
    sms_voice.add_client_error("send_voice_message", code, "voice says no", http_status_code=status)

    with pytest.raises(error_class) as caught:
        VoiceSender(sms_voice.client, None).send(CALL, "trace-1")

    assert type(caught.value) is error_class
    assert caught.value.reason == reason
    assert caught.value.detail == f"{code}: voice says no"


def test_an_unclassified_voice_error_is_raised_as_it_is(sms_voice) -> None:
    sms_voice.add_client_error(
        "send_voice_message", "AccessDeniedException", "not allowed", http_status_code=403
    )

    # Neither retried nor rejected: the state machine records it FAILED and dead-letters it.
    with pytest.raises(ClientError) as caught:
        VoiceSender(sms_voice.client, None).send(CALL, "trace-1")

    assert caught.value.response["Error"]["Code"] == "AccessDeniedException"


def test_a_call_that_never_reached_the_provider_is_transient() -> None:
    class Unreachable:
        def send_voice_message(self, **request: Any) -> dict[str, str]:
            raise EndpointConnectionError(endpoint_url="https://sms-voice.us-east-1.amazonaws.com")

    with pytest.raises(TransientError) as caught:
        VoiceSender(Unreachable(), None).send(CALL, "trace-1")

    assert caught.value.reason == PROVIDER_UNAVAILABLE
