"""AWS error codes as the state machine tells them apart (integration/aws_errors.py)."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from notify.domain.errors import (
    PROVIDER_REJECTED,
    PROVIDER_UNAVAILABLE,
    THROTTLED,
    PermanentError,
    TransientError,
)
from notify.integration.aws_errors import aws_errors, classify_client_error


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


def test_an_aws_error_inside_aws_errors_leaves_classified() -> None:
    throttled = ClientError(
        {"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "SendTextMessage"
    )

    with pytest.raises(TransientError) as raised, aws_errors():
        raise throttled

    assert raised.value.reason == "Throttled"
    assert raised.value.__cause__ is throttled
