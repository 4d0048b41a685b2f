"""The two error classes the state machine tells apart, and the provider error-code table."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from notify.domain.errors import (
    INVALID_ADDRESS,
    OPTED_OUT,
    OUTSIDE_SESSION_WINDOW,
    PROVIDER_REJECTED,
    PROVIDER_UNAVAILABLE,
    THROTTLED,
    PermanentError,
    TransientError,
    aws_errors,
    classify_client_error,
    classify_twilio_error,
)


def client_error(code: str, status: int, message: str = "it went wrong") -> ClientError:
    return ClientError(
        {
            "Error": {"Code": code, "Message": message},
            "ResponseMetadata": {"HTTPStatusCode": status},
        },
        "SendEmail",
    )


@pytest.mark.parametrize(
    ("code", "status", "reason"),
    [
        pytest.param("TooManyRequestsException", 429, THROTTLED, id="ses-too-many-requests"),
        pytest.param("ThrottlingException", 400, THROTTLED, id="sms-throttling"),
        pytest.param(
            "ProvisionedThroughputExceededException", 400, THROTTLED, id="dynamodb-throughput"
        ),
        pytest.param("RequestLimitExceeded", 400, THROTTLED, id="dynamodb-request-limit"),
        pytest.param("LimitExceededException", 400, THROTTLED, id="ses-limit-exceeded"),
        pytest.param("InternalServerException", 500, PROVIDER_UNAVAILABLE, id="internal-server"),
        pytest.param("InternalFailure", 500, PROVIDER_UNAVAILABLE, id="internal-failure"),
        pytest.param(
            "ServiceUnavailableException", 503, PROVIDER_UNAVAILABLE, id="service-unavailable-exc"
        ),
        pytest.param("ServiceUnavailable", 503, PROVIDER_UNAVAILABLE, id="service-unavailable"),
    ],
)
def test_throttling_and_provider_outages_are_transient(code, status, reason) -> None:
    error = classify_client_error(client_error(code, status, "slow down"))

    assert type(error) is TransientError
    assert error.reason == reason
    assert error.detail == f"{code}: slow down"


@pytest.mark.parametrize(
    ("code", "status", "reason"),
    [
        pytest.param("MessageRejected", 400, PROVIDER_REJECTED, id="ses-message-rejected"),
        pytest.param("BadRequestException", 400, PROVIDER_REJECTED, id="ses-bad-request"),
        pytest.param("ValidationException", 400, PROVIDER_REJECTED, id="sms-validation"),
        pytest.param(
            "MailFromDomainNotVerifiedException", 400, PROVIDER_REJECTED, id="ses-mail-from"
        ),
        pytest.param("AccountSuspendedException", 400, PROVIDER_REJECTED, id="ses-suspended"),
        pytest.param("SendingPausedException", 400, PROVIDER_REJECTED, id="ses-paused"),
        pytest.param("NotFoundException", 404, PROVIDER_REJECTED, id="ses-not-found"),
        # Only the opted-out Reason of a ConflictException means OptedOut; the SMS sender
        # reads that Reason. Any other conflict is a plain rejection.
        pytest.param("ConflictException", 409, PROVIDER_REJECTED, id="sms-conflict"),
    ],
)
def test_rejections_are_permanent(code, status, reason) -> None:
    error = classify_client_error(client_error(code, status, "no"))

    assert type(error) is PermanentError
    assert error.reason == reason
    assert error.detail == f"{code}: no"


@pytest.mark.parametrize(
    ("code", "status"),
    [
        pytest.param("AccessDeniedException", 403, id="access-denied"),
        pytest.param("ResourceNotFoundException", 400, id="dynamodb-table-missing"),
        pytest.param("ServiceQuotaExceededException", 402, id="sms-quota"),
    ],
)
def test_an_unknown_4xx_error_is_returned_unchanged(code, status) -> None:
    original = client_error(code, status)

    assert classify_client_error(original) is original


@pytest.mark.parametrize(
    "status",
    [pytest.param(500, id="500"), pytest.param(502, id="502"), pytest.param(503, id="503")],
)
def test_an_unknown_5xx_error_is_transient_provider_unavailable(status) -> None:
    error = classify_client_error(client_error("SomethingNewException", status, "try later"))

    assert type(error) is TransientError
    assert error.reason == PROVIDER_UNAVAILABLE
    assert error.detail == "SomethingNewException: try later"


def test_an_error_without_a_status_code_is_returned_unchanged() -> None:
    original = ClientError({"Error": {"Code": "Mystery", "Message": "?"}}, "SendEmail")

    assert classify_client_error(original) is original


@pytest.mark.parametrize(
    ("status", "code", "reason"),
    [
        pytest.param(429, 20429, THROTTLED, id="too-many-requests"),
        pytest.param(429, None, THROTTLED, id="429-without-a-code"),
        pytest.param(400, 63018, THROTTLED, id="whatsapp-sender-rate-limit"),
        pytest.param(500, 20500, PROVIDER_UNAVAILABLE, id="internal-error"),
        pytest.param(503, 20503, PROVIDER_UNAVAILABLE, id="service-unavailable"),
        pytest.param(502, None, PROVIDER_UNAVAILABLE, id="bad-gateway"),
    ],
)
def test_twilio_throttling_and_outages_are_transient(status, code, reason) -> None:
    error = classify_twilio_error(status, code, "slow down")

    assert type(error) is TransientError
    assert error.reason == reason
    assert error.detail == f"Twilio {code or status}: slow down"


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        pytest.param(21211, INVALID_ADDRESS, id="invalid-to-number"),
        pytest.param(21614, INVALID_ADDRESS, id="not-a-mobile-number"),
        pytest.param(63003, INVALID_ADDRESS, id="not-on-whatsapp"),
        pytest.param(63024, INVALID_ADDRESS, id="invalid-recipient"),
        pytest.param(21610, OPTED_OUT, id="unsubscribed-recipient"),
        pytest.param(63016, OUTSIDE_SESSION_WINDOW, id="outside-24-hour-window"),
        pytest.param(21408, PROVIDER_REJECTED, id="region-not-enabled"),
        pytest.param(21606, PROVIDER_REJECTED, id="from-not-a-sender"),
        pytest.param(21617, PROVIDER_REJECTED, id="body-too-long"),
        pytest.param(21656, PROVIDER_REJECTED, id="content-variables-invalid"),
        pytest.param(63007, PROVIDER_REJECTED, id="no-whatsapp-sender"),
        pytest.param(63027, PROVIDER_REJECTED, id="template-language-missing"),
        pytest.param(63032, PROVIDER_REJECTED, id="whatsapp-limitation"),
    ],
)
def test_twilio_rejections_are_permanent(code, reason) -> None:
    error = classify_twilio_error(400, code, "no")

    assert type(error) is PermanentError
    assert error.reason == reason
    assert error.detail == f"Twilio {code}: no"


@pytest.mark.parametrize(
    ("status", "code"),
    [
        pytest.param(401, 20003, id="authentication-failed"),
        pytest.param(404, 20404, id="account-not-found"),
        pytest.param(400, 12345, id="unknown-code"),
    ],
)
def test_an_unknown_or_configuration_twilio_error_is_left_unclassified(status, code) -> None:
    assert classify_twilio_error(status, code, "check the account") is None


@pytest.mark.parametrize(
    ("error_class", "name"),
    [
        pytest.param(TransientError, "TransientError", id="transient"),
        pytest.param(PermanentError, "PermanentError", id="permanent"),
    ],
)
def test_the_class_names_are_the_ones_the_state_machine_retries_and_catches(
    error_class, name
) -> None:
    # The Lambda runtime reports the class name as errorType; the ASL matches on it.
    assert error_class.__name__ == name
    assert type(error_class(THROTTLED, "x")).__name__ == name


@pytest.mark.parametrize(
    ("error", "text"),
    [
        pytest.param(
            TransientError(THROTTLED, "TooManyRequestsException: Maximum sending rate exceeded."),
            "Throttled: TooManyRequestsException: Maximum sending rate exceeded.",
            id="transient",
        ),
        pytest.param(
            PermanentError(INVALID_ADDRESS, "email 'x': no @-sign"),
            "InvalidAddress: email 'x': no @-sign",
            id="permanent",
        ),
        pytest.param(
            PermanentError(OPTED_OUT, "+16048621234 has opted out of SMS"),
            "OptedOut: +16048621234 has opted out of SMS",
            id="opted-out",
        ),
    ],
)
def test_the_message_is_reason_colon_detail(error, text) -> None:
    assert str(error) == text


def test_an_aws_error_inside_aws_errors_leaves_classified() -> None:
    throttled = ClientError(
        {"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "SendTextMessage"
    )

    with pytest.raises(TransientError) as raised, aws_errors():
        raise throttled

    assert raised.value.reason == "Throttled"
    assert raised.value.__cause__ is throttled
