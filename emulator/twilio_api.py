"""A local Twilio Messages API on 127.0.0.1: what the WhatsApp sender talks to in the local stack.

POST /2010-04-01/Accounts/<AccountSid>/Messages.json, as the twilio library sends it:
- HTTP basic auth must be the local stack's AccountSid and AuthToken (else 401, code 20003);
- the message lands in the outbox; the TraceId is read from the StatusCallback URL's
  `TraceId` query parameter, where the sender puts it;
- WHATSAPP fault rules apply: throttle -> 429 (20429), 5xx -> 500 (20500),
  reject -> 400 (21211), crash -> the connection is dropped; the WHATSAPP quota, per From,
  answers 429 (20429);
- the answer is a Twilio message resource (sid SM..., status queued), and then, as Twilio
  does, signed status callbacks (sent, then delivered) are POSTed to the StatusCallback URL
  from a background thread. Their X-Twilio-Signature is what twilio's RequestValidator
  checks, computed with the local auth token.
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
import uuid
from email.utils import formatdate
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests
from twilio.request_validator import RequestValidator
from werkzeug.wrappers import Request, Response

from emulator.http import HttpServer, injected_failure
from emulator.providers import Providers, SentMessage
from notify.domain.addresses import WHATSAPP_PREFIX

API_VERSION = "2010-04-01"
_MESSAGES = re.compile(rf"/{API_VERSION}/Accounts/(?P<sid>AC\w+)/Messages\.json")
_CALLBACK_STATUSES = ("sent", "delivered")


class TwilioApi:
    """The WSGI app; `start(port)` serves it on loopback."""

    def __init__(self, providers: Providers, account_sid: str, auth_token: str) -> None:
        self._providers = providers
        self._account_sid = account_sid
        self._auth_token = auth_token
        self._signer = RequestValidator(auth_token)

    def start(self, port: int) -> HttpServer:
        return HttpServer(self, port).start()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        return self._handle(Request(environ))(environ, start_response)

    def _handle(self, request: Request) -> Response:
        path = _MESSAGES.fullmatch(request.path)
        if request.method != "POST" or path is None:
            return _error(404, 20404, f"The requested resource {request.path} was not found")
        auth = request.authorization
        if (
            auth is None
            or (auth.username, auth.password) != (self._account_sid, self._auth_token)
            or path["sid"] != self._account_sid
        ):
            return _error(401, 20003, "Authenticate")
        form = request.form
        to, sender = form.get("To", ""), form.get("From", "")
        if not to.startswith(WHATSAPP_PREFIX):
            return _error(400, 21211, f"Invalid 'To' Phone Number: {to} (only WhatsApp here)")
        if not form.get("Body") and not form.get("ContentSid"):
            return _error(400, 21619, "A text message body or media urls must be specified.")
        failure = injected_failure(self._providers, "WHATSAPP", to, request, _error, sender)
        if failure is not None:
            return failure
        callback = form.get("StatusCallback")
        message = SentMessage(
            channel="WHATSAPP",
            to=to,
            sender=sender,
            body=form.get("Body"),
            trace_id=_trace_id(callback),
            content_sid=form.get("ContentSid"),
            content_variables=json.loads(form["ContentVariables"])
            if form.get("ContentVariables")
            else None,
            message_id="SM" + uuid.uuid4().hex,
        )
        self._providers.record(message)
        if callback:
            threading.Thread(
                target=self._status_callbacks, args=(callback, message), daemon=True
            ).start()
        return _json(201, self._resource(message))

    def _resource(self, message: SentMessage) -> dict[str, Any]:
        now = formatdate(usegmt=True)
        uri = f"/{API_VERSION}/Accounts/{self._account_sid}/Messages/{message.message_id}.json"
        return {
            "sid": message.message_id,
            "account_sid": self._account_sid,
            "api_version": API_VERSION,
            "to": message.to,
            "from": message.sender,
            "body": message.body or "",
            "status": "queued",
            "direction": "outbound-api",
            "num_segments": "1",
            "num_media": "0",
            "date_created": now,
            "date_updated": now,
            "date_sent": None,
            "error_code": None,
            "error_message": None,
            "messaging_service_sid": None,
            "price": None,
            "price_unit": "USD",
            "uri": uri,
            "subresource_uris": {"media": uri.replace(".json", "/Media.json")},
        }

    def _status_callbacks(self, url: str, message: SentMessage) -> None:
        for status in _CALLBACK_STATUSES:
            params = {
                "AccountSid": self._account_sid,
                "ApiVersion": API_VERSION,
                "ChannelPrefix": "whatsapp",
                "From": message.sender or "",
                "MessageSid": message.message_id,
                "MessageStatus": status,
                "SmsSid": message.message_id,
                "SmsStatus": status,
                "To": message.to,
            }
            signature = self._signer.compute_signature(url, params)
            # Nobody listening (the API is not served): Twilio too gives up, after its retries.
            with contextlib.suppress(requests.RequestException):
                requests.post(
                    url, data=params, headers={"X-Twilio-Signature": signature}, timeout=5
                )


def _trace_id(callback: str | None) -> str | None:
    if not callback:
        return None
    return parse_qs(urlsplit(callback).query).get("TraceId", [None])[0]


def _error(status: int, code: int, message: str) -> Response:
    return _json(
        status,
        {
            "code": code,
            "message": message,
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status,
        },
    )


def _json(status: int, body: dict[str, Any]) -> Response:
    return Response(json.dumps(body), status=status, mimetype="application/json")
