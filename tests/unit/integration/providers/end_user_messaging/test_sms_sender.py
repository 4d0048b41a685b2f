"""The SMS sender: the request it makes and how it classifies End User Messaging's errors."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from notify.domain.channels.sms import Sms
from notify.domain.errors import (
    OPTED_OUT,
    PROVIDER_REJECTED,
    PROVIDER_UNAVAILABLE,
    THROTTLED,
    PermanentError,
    TransientError,
)
from notify.domain.sms_encoding import GSM_7, SmsSegments
from notify.integration.providers.end_user_messaging import SmsSender
from tests.unit.integration.providers.provider_clients import stubbed

SMS = Sms(
    to="+16048621234",
    body="Alert: Your SAVINGS account ending in ****7303 has a low balance of $50.00",
    message_type="TRANSACTIONAL",
    origination_identity="your-pool-id",
    segments=SmsSegments(GSM_7, 74, 1),
)


@pytest.fixture
def sms_voice(monkeypatch) -> Iterator[Stubber]:
    yield from stubbed("pinpoint-sms-voice-v2", monkeypatch)


def sms_request(sms: Sms, trace_id: str, configuration_set: str | None = None) -> dict[str, Any]:
    request: dict[str, Any] = {
        "DestinationPhoneNumber": sms.to,
        "MessageBody": sms.body,
        "MessageType": sms.message_type,
        "Context": {"TraceId": trace_id},
    }
    if sms.origination_identity is not None:
        request["OriginationIdentity"] = sms.origination_identity
    if configuration_set is not None:
        request["ConfigurationSetName"] = configuration_set
    return request


@pytest.mark.parametrize(
    ("sms", "configuration_set"),
    [
        pytest.param(SMS, None, id="with-origination"),
        pytest.param(SMS, "notify-sms-events", id="with-configuration-set"),
        pytest.param(
            Sms(SMS.to, SMS.body, "PROMOTIONAL", None, SMS.segments), None, id="no-origination"
        ),
    ],
)
def test_an_sms_is_sent_as_composed_and_its_message_id_returned(
    sms_voice, sms, configuration_set
) -> None:
    sms_voice.add_response(
        "send_text_message",
        {"MessageId": "sms-message-1"},
        sms_request(sms, "a:b/c", configuration_set),
    )

    sender = SmsSender(sms_voice.client, configuration_set)

    assert sender.send(sms, "a:b/c") == "sms-message-1"


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
    ],
)
def test_an_sms_error_is_classified(sms_voice, code, status, error_class, reason) -> None:
    sms_voice.add_client_error("send_text_message", code, "sms says no", http_status_code=status)

    with pytest.raises(error_class) as caught:
        SmsSender(sms_voice.client, None).send(SMS, "12346")

    assert type(caught.value) is error_class
    assert caught.value.reason == reason
    assert caught.value.detail == f"{code}: sms says no"


def test_an_opted_out_destination_is_permanent_opted_out(sms_voice) -> None:
    sms_voice.add_client_error(
        "send_text_message",
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
        SmsSender(sms_voice.client, None).send(SMS, "12346")

    assert caught.value.reason == OPTED_OUT
    assert str(caught.value) == "OptedOut: +16048621234 has opted out of SMS"


def test_any_other_conflict_is_a_rejection_not_an_opt_out(sms_voice) -> None:
    sms_voice.add_client_error(
        "send_text_message",
        "ConflictException",
        "The destination phone number is not verified.",
        http_status_code=409,
        modeled_fields={
            "Message": "The destination phone number is not verified.",
            "Reason": "DESTINATION_PHONE_NUMBER_NOT_VERIFIED",
            "ResourceType": "verified-destination-number",
            "ResourceId": "+16048621234",
        },
    )

    with pytest.raises(PermanentError) as caught:
        SmsSender(sms_voice.client, None).send(SMS, "12346")

    assert caught.value.reason == PROVIDER_REJECTED
    assert "not verified" in caught.value.detail


def test_an_unclassified_sms_error_is_raised_as_it_is(sms_voice) -> None:
    sms_voice.add_client_error(
        "send_text_message", "AccessDeniedException", "not allowed", http_status_code=403
    )

    # Neither retried nor rejected: the state machine records it FAILED and dead-letters it.
    with pytest.raises(ClientError) as caught:
        SmsSender(sms_voice.client, None).send(SMS, "12346")

    assert caught.value.response["Error"]["Code"] == "AccessDeniedException"
