"""The two kinds of failure the state machine tells apart.

The Lambda runtime reports an exception's class name as the error name, and the
ASL's Retry and Catch match on those names. So only these two classes are ever
raised (never subclasses): `TransientError` is retried, `PermanentError` is not.
The reason code says which permanent failure it was, for the trace and the DLQ.
"""

from __future__ import annotations

from botocore.exceptions import ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as ProviderConnectionError


class DeliveryError(Exception):
    """A failure to deliver to one recipient, with a reason code an operator can act on."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


class TransientError(DeliveryError):
    """Worth retrying: throttling, a provider's 5xx, a busy idempotency record."""


class PermanentError(DeliveryError):
    """Retrying cannot help: bad address, unknown template, missing variable, rejection."""


# Reason codes of permanent failures, as they appear in the trace and the DLQ.
INVALID_ADDRESS = "InvalidAddress"
INVALID_MESSAGE = "InvalidMessage"
MISSING_MESSAGE = "MissingMessage"
MISSING_VARIABLE = "MissingVariable"
TEMPLATE_NOT_FOUND = "TemplateNotFound"
PROVIDER_REJECTED = "ProviderRejected"
OPTED_OUT = "OptedOut"
THROTTLED = "Throttled"
PROVIDER_UNAVAILABLE = "ProviderUnavailable"

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


# A dropped connection or a timeout never reached a verdict: always worth another try.
UNREACHABLE = (ProviderConnectionError, HTTPClientError)


def unreachable(exc: Exception) -> TransientError:
    return TransientError(PROVIDER_UNAVAILABLE, f"{type(exc).__name__}: {exc}")
