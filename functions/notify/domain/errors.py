"""The two kinds of failure the state machine tells apart.

The Lambda runtime reports an exception's class name as the error name, and the
ASL's Retry and Catch match on those names. So only these two classes are ever
raised (never subclasses): `TransientError` is retried, `PermanentError` is not.
The reason code says which permanent failure it was, for the trace and the DLQ.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

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
OUTSIDE_SESSION_WINDOW = "OutsideSessionWindow"
SENDER_NOT_ALLOWED = "SenderNotAllowed"
THROTTLED = "Throttled"
# Another attempt at the same recipient may still be at the provider: wait, then retry.
SEND_IN_PROGRESS = "SendInProgress"
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


# Twilio's numeric error codes (https://www.twilio.com/docs/api/errors), for the Messages API.
# HTTP 429 and 5xx are transient whatever the code; these codes say which 4xx is permanent.
_TWILIO_TRANSIENT_CODES = {
    20429: THROTTLED,  # Too Many Requests
    63018: THROTTLED,  # rate limit exceeded for the WhatsApp sender
}
_TWILIO_PERMANENT_CODES = {
    21211: INVALID_ADDRESS,  # invalid 'To' phone number
    21614: INVALID_ADDRESS,  # 'To' is not a valid mobile number
    63003: INVALID_ADDRESS,  # the channel could not find the To address (not on WhatsApp)
    63024: INVALID_ADDRESS,  # invalid message recipient
    21610: OPTED_OUT,  # the recipient replied STOP to this sender
    63016: OUTSIDE_SESSION_WINDOW,  # free-form text outside the 24-hour window: use a template
    21408: PROVIDER_REJECTED,  # sending to this region is not enabled
    21606: PROVIDER_REJECTED,  # the From number is not a valid sender for this account
    21617: PROVIDER_REJECTED,  # the body exceeds 1600 characters
    21656: PROVIDER_REJECTED,  # ContentVariables is not valid for the template
    63007: PROVIDER_REJECTED,  # no WhatsApp sender with this From address
    63027: PROVIDER_REJECTED,  # the template does not exist for this language
    63032: PROVIDER_REJECTED,  # the recipient cannot receive this message
}


def classify_twilio_error(status: int, code: int | None, message: str) -> DeliveryError | None:
    """Translate a Twilio API error (HTTP status, Twilio code) into Transient or Permanent.

    None means neither: an authentication failure or an unknown 4xx is a misconfiguration,
    left for the state machine to record as FAILED and dead-letter until it is fixed.
    """
    detail = f"Twilio {code or status}: {message}".strip()
    if code in _TWILIO_TRANSIENT_CODES:
        return TransientError(_TWILIO_TRANSIENT_CODES[code], detail)
    if code in _TWILIO_PERMANENT_CODES:
        return PermanentError(_TWILIO_PERMANENT_CODES[code], detail)
    if status == 429:
        return TransientError(THROTTLED, detail)
    if status >= 500:
        return TransientError(PROVIDER_UNAVAILABLE, detail)
    return None
