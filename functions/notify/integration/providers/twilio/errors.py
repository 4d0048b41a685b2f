"""Twilio's errors for the Messages API, as the state machine tells them apart.

Twilio's numeric error codes (https://www.twilio.com/docs/api/errors): HTTP 429 and 5xx
are transient whatever the code; the codes say which 4xx is permanent.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import requests
from twilio.base.exceptions import TwilioRestException, TwilioServiceException

from notify.domain.errors import (
    INVALID_ADDRESS,
    OPTED_OUT,
    OUTSIDE_SESSION_WINDOW,
    PROVIDER_REJECTED,
    PROVIDER_UNAVAILABLE,
    THROTTLED,
    DeliveryError,
    PermanentError,
    TransientError,
)
from notify.integration.aws_errors import unreachable

_TRANSIENT_CODES = {
    20429: THROTTLED,  # Too Many Requests
    63018: THROTTLED,  # rate limit exceeded for the WhatsApp sender
}
_PERMANENT_CODES = {
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
    if code in _TRANSIENT_CODES:
        return TransientError(_TRANSIENT_CODES[code], detail)
    if code in _PERMANENT_CODES:
        return PermanentError(_PERMANENT_CODES[code], detail)
    if status == 429:
        return TransientError(THROTTLED, detail)
    if status >= 500:
        return TransientError(PROVIDER_UNAVAILABLE, detail)
    return None


@contextmanager
def twilio_errors() -> Iterator[None]:
    """Around a Twilio call: its errors leave as Transient, Permanent, or unchanged."""
    try:
        yield
    except (TwilioRestException, TwilioServiceException) as exc:
        error = classify_twilio_error(exc.status, exc.code, _message(exc))
        if error is None:
            raise
        raise error from exc
    except requests.RequestException as exc:  # refused, dropped or timed out: no verdict
        raise unreachable(exc) from exc


def _message(exc: TwilioRestException | TwilioServiceException) -> str:
    if isinstance(exc, TwilioRestException):
        return exc.msg
    return exc.detail or exc.title
