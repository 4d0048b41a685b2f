"""AWS errors as the state machine tells them apart: transient, permanent, or neither.

The SDK's error codes of the services the functions call (SES v2, End User Messaging
SMS v2, DynamoDB, SQS, Step Functions) are mapped once, here; `aws_errors()` applies
the map around any call.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from botocore.exceptions import ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as ProviderConnectionError

from notify.domain.errors import (
    PROVIDER_REJECTED,
    PROVIDER_UNAVAILABLE,
    THROTTLED,
    DeliveryError,
    PermanentError,
    TransientError,
)

# Provider error codes (SES v2, End User Messaging SMS v2, DynamoDB), mapped once.
_TRANSIENT_CODES = {
    "TooManyRequestsException": THROTTLED,
    "ThrottlingException": THROTTLED,
    "ProvisionedThroughputExceededException": THROTTLED,
    "RequestLimitExceeded": THROTTLED,
    "LimitExceededException": THROTTLED,
    "InternalServerException": PROVIDER_UNAVAILABLE,
    "InternalFailure": PROVIDER_UNAVAILABLE,
    "ServiceUnavailableException": PROVIDER_UNAVAILABLE,
    "ServiceUnavailable": PROVIDER_UNAVAILABLE,
}
_PERMANENT_CODES = {
    "MessageRejected": PROVIDER_REJECTED,
    "BadRequestException": PROVIDER_REJECTED,
    "ValidationException": PROVIDER_REJECTED,
    "MailFromDomainNotVerifiedException": PROVIDER_REJECTED,
    "AccountSuspendedException": PROVIDER_REJECTED,
    "SendingPausedException": PROVIDER_REJECTED,
    "NotFoundException": PROVIDER_REJECTED,
    # Opt-outs are one of many ConflictException reasons (unverified destination, message
    # type mismatch, ...); the SMS sender tells OptedOut apart by the error's Reason.
    "ConflictException": PROVIDER_REJECTED,
}


def classify_client_error(exc: ClientError) -> DeliveryError | ClientError:
    """Translate a provider's error into Transient or Permanent, or keep it as it is.

    An error that is in neither table (access denied, a misconfigured resource) is
    returned unchanged: the state machine records it as FAILED and dead-letters the
    recipient, so it can be redriven once an operator has fixed the cause.
    """
    error = exc.response.get("Error", {})
    code = error.get("Code", "")
    detail = f"{code}: {error.get('Message', '')}".strip()
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
    if code in _TRANSIENT_CODES:
        return TransientError(_TRANSIENT_CODES[code], detail)
    if code in _PERMANENT_CODES:
        return PermanentError(_PERMANENT_CODES[code], detail)
    if status >= 500:
        return TransientError(PROVIDER_UNAVAILABLE, detail)
    return exc


@contextmanager
def aws_errors() -> Iterator[None]:
    """Around an AWS call: its ClientError leaves as Transient, Permanent, or unchanged."""
    try:
        yield
    except ClientError as exc:
        raise classify_client_error(exc) from exc


# A dropped connection or a timeout never reached a verdict: always worth another try.
UNREACHABLE = (ProviderConnectionError, HTTPClientError)


def unreachable(exc: Exception) -> TransientError:
    return TransientError(PROVIDER_UNAVAILABLE, f"{type(exc).__name__}: {exc}")
