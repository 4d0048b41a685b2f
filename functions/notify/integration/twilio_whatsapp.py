"""Twilio's Messages API: send one WhatsApp message."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import requests
from aws_lambda_powertools.utilities import parameters
from twilio.base.exceptions import TwilioRestException, TwilioServiceException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from notify.domain.compose import WhatsApp
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


# Below the function's 30 s timeout, so a hung call is a retried TransientError, not a kill.
REQUEST_TIMEOUT_SECONDS = 10.0

# The library logs each request's URL and headers at INFO; keep only its warnings.
_http_logger = logging.getLogger("notify.twilio.http")
_http_logger.setLevel(logging.WARNING)


@dataclass(frozen=True)
class TwilioAccount:
    account_sid: str
    auth_token: str


class TwilioSecret:
    """The `{"AccountSid", "AuthToken"}` secret, cached by Powertools for `max_age` seconds.

    A rotated token is therefore in use within `max_age`, without a cold start.
    """

    def __init__(self, name: str, max_age: int) -> None:
        self._name = name
        self._max_age = max_age

    def __call__(self) -> TwilioAccount:
        value = parameters.get_secret(self._name, transform="json", max_age=self._max_age)
        if not isinstance(value, dict) or not value.get("AccountSid") or not value.get("AuthToken"):
            # Not a delivery error: the send fails as FAILED and is redriven once it is set.
            raise RuntimeError(f"secret {self._name} needs a non-empty AccountSid and AuthToken")
        return TwilioAccount(value["AccountSid"], value["AuthToken"])


class TwilioWhatsAppSender:
    def __init__(
        self,
        credentials: Callable[[], TwilioAccount],
        api_url: str,
        status_callback_url: str | None,
    ) -> None:
        self._credentials = credentials
        self._api_url = api_url
        self._status_callback_url = status_callback_url
        self._client: tuple[TwilioAccount, Client] | None = None

    def send(self, message: WhatsApp, trace_id: str) -> str:
        """Send and return Twilio's message SID; Twilio's errors become Transient/Permanent.

        The TraceId travels in the status callback URL's query, so every delivery
        callback names its trace (and the local stack's outbox can show it).
        """
        request: dict[str, str] = {"to": message.to, "from_": message.sender}
        if message.content_sid:
            request["content_sid"] = message.content_sid
            request["content_variables"] = json.dumps(message.content_variables or {})
        else:
            request["body"] = message.body or ""
        if self._status_callback_url:
            request["status_callback"] = with_query(self._status_callback_url, TraceId=trace_id)
        try:
            return self._twilio().messages.create(**request).sid
        except (TwilioRestException, TwilioServiceException) as exc:
            error = classify_twilio_error(exc.status, exc.code, _message(exc))
            if error is None:
                raise
            raise error from exc
        except requests.RequestException as exc:  # refused, dropped or timed out: no verdict
            raise unreachable(exc) from exc

    def _twilio(self) -> Client:
        account = self._credentials()
        if self._client is None or self._client[0] != account:
            http = TwilioHttpClient(timeout=REQUEST_TIMEOUT_SECONDS, logger=_http_logger)
            client = Client(account.account_sid, account.auth_token, http_client=http)
            # Every API resource builds its URL from its domain's base_url.
            client.api.base_url = self._api_url
            self._client = (account, client)
        return self._client[1]


def _message(exc: TwilioRestException | TwilioServiceException) -> str:
    if isinstance(exc, TwilioRestException):
        return exc.msg
    return exc.detail or exc.title


def with_query(url: str, **values: str) -> str:
    """`url` with `values` added to its query string.

    Encoded with quote(), as the webhook re-encodes API Gateway's decoded query to check
    Twilio's signature (integration/twilio_webhook.py): both sides must spell the URL alike.
    """
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True) + list(values.items())
    return urlunsplit(parts._replace(query=urlencode(query, quote_via=quote)))
