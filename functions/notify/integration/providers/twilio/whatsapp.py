"""Twilio's Messages API: send one WhatsApp message."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from aws_lambda_powertools.utilities import parameters
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from notify.domain.channels.whatsapp import WhatsApp
from notify.integration.providers.twilio.errors import twilio_errors

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
        request: dict[str, str] = {"to": message.to, "from_": message.from_number}
        if message.content_sid:
            request["content_sid"] = message.content_sid
            request["content_variables"] = json.dumps(message.content_variables or {})
        else:
            request["body"] = message.body or ""
        if self._status_callback_url:
            request["status_callback"] = with_query(self._status_callback_url, TraceId=trace_id)
        with twilio_errors():
            return self._twilio().messages.create(**request).sid

    def _twilio(self) -> Client:
        account = self._credentials()
        if self._client is None or self._client[0] != account:
            http = TwilioHttpClient(timeout=REQUEST_TIMEOUT_SECONDS, logger=_http_logger)
            client = Client(account.account_sid, account.auth_token, http_client=http)
            # Every API resource builds its URL from its domain's base_url.
            client.api.base_url = self._api_url
            self._client = (account, client)
        return self._client[1]


def with_query(url: str, **values: str) -> str:
    """`url` with `values` added to its query string.

    Encoded with quote(), as the webhook re-encodes API Gateway's decoded query to check
    Twilio's signature (webhook.py, beside this module): both sides must spell the URL alike.
    """
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True) + list(values.items())
    return urlunsplit(parts._replace(query=urlencode(query, quote_via=quote)))
