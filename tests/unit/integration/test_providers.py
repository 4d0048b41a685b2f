"""The SES and SMS senders: the requests they make and how they classify provider errors."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from notify.domain.compose import Email, Sms
from notify.domain.errors import (
    OPTED_OUT,
    PROVIDER_REJECTED,
    PROVIDER_UNAVAILABLE,
    THROTTLED,
    PermanentError,
    TransientError,
)
from notify.domain.sms_encoding import GSM_7, SmsSegments
from notify.integration.ses_email import SesEmailSender
from notify.integration.sms_voice import SmsSender

TEXT = "Alert: Your SAVINGS account ending in ****7303 has a low balance of $50.00"
EMAIL = Email(
    sender="alerts@example.com",
    to="user@example.com",
    subject="Low Balance Alert",
    text=TEXT,
    html=None,
)
SMS = Sms(
    to="+16048621234",
    body=TEXT,
    message_type="TRANSACTIONAL",
    origination_identity="your-pool-id",
    segments=SmsSegments(GSM_7, 74, 1),
)


def make_client(service: str, monkeypatch) -> Any:
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    return boto3.client(
        service,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


@pytest.fixture
def ses(monkeypatch) -> Iterator[Stubber]:
    with Stubber(make_client("sesv2", monkeypatch)) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


@pytest.fixture
def sms_voice(monkeypatch) -> Iterator[Stubber]:
    with Stubber(make_client("pinpoint-sms-voice-v2", monkeypatch)) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


def ses_request(
    email: Email, trace_tag: str, configuration_set: str | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {"Text": {"Data": email.text, "Charset": "UTF-8"}}
    if email.html is not None:
        body["Html"] = {"Data": email.html, "Charset": "UTF-8"}
    request: dict[str, Any] = {
        "FromEmailAddress": email.sender,
        "Destination": {"ToAddresses": [email.to]},
        "Content": {
            "Simple": {"Subject": {"Data": email.subject, "Charset": "UTF-8"}, "Body": body}
        },
        "EmailTags": [{"Name": "TraceId", "Value": trace_tag}],
    }
    if configuration_set is not None:
        request["ConfigurationSetName"] = configuration_set
    return request


# --- SES v2 ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("email", "configuration_set"),
    [
        pytest.param(EMAIL, None, id="text-only"),
        pytest.param(EMAIL, "notify-events", id="with-configuration-set"),
        pytest.param(
            Email(EMAIL.sender, EMAIL.to, EMAIL.subject, EMAIL.text, "<p>Alert</p>"),
            None,
            id="text-and-html",
        ),
    ],
)
def test_an_email_is_sent_as_composed_and_its_message_id_returned(
    ses, email, configuration_set
) -> None:
    ses.add_response(
        "send_email", {"MessageId": "ses-message-1"}, ses_request(email, "12345", configuration_set)
    )

    assert SesEmailSender(ses.client, configuration_set).send(email, "12345") == "ses-message-1"


@pytest.mark.parametrize(
    ("trace_id", "tag"),
    [
        pytest.param("a:b/c", "a_b_c", id="colon-and-slash"),
        pytest.param("order 42 (retry)", "order_42__retry_", id="spaces-and-brackets"),
        pytest.param("ok-1.2_3", "ok-1.2_3", id="already-safe"),
        pytest.param("x" * 300, "x" * 256, id="truncated-to-256"),
    ],
)
def test_the_trace_id_tag_is_sanitised_for_ses(ses, trace_id, tag) -> None:
    ses.add_response("send_email", {"MessageId": "ses-message-1"}, ses_request(EMAIL, tag))

    SesEmailSender(ses.client, None).send(EMAIL, trace_id)


@pytest.mark.parametrize(
    ("code", "status", "error_class", "reason"),
    [
        pytest.param("TooManyRequestsException", 429, TransientError, THROTTLED, id="throttled"),
        pytest.param("LimitExceededException", 400, TransientError, THROTTLED, id="limit"),
        pytest.param("InternalFailure", 500, TransientError, PROVIDER_UNAVAILABLE, id="5xx"),
        pytest.param("MessageRejected", 400, PermanentError, PROVIDER_REJECTED, id="rejected"),
        pytest.param(
            "MailFromDomainNotVerifiedException",
            400,
            PermanentError,
            PROVIDER_REJECTED,
            id="mail-from-not-verified",
        ),
    ],
)
def test_an_ses_error_is_classified(ses, code, status, error_class, reason) -> None:
    ses.add_client_error("send_email", code, "ses says no", http_status_code=status)

    with pytest.raises(error_class) as caught:
        SesEmailSender(ses.client, None).send(EMAIL, "12345")

    assert type(caught.value) is error_class
    assert caught.value.reason == reason
    assert caught.value.detail == f"{code}: ses says no"


# --- End User Messaging SMS ------------------------------------------------------------


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
