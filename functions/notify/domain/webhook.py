"""Twilio's webhook requests: rebuild what Twilio signed, check the signature, read the body.

Twilio signs the URL it called (scheme, host, path and query as configured in the
console or given as a StatusCallback) followed by the sorted POST parameters; a JSON
body is covered by a `bodySHA256` query parameter instead. API Gateway's REST proxy
event carries every piece: `X-Forwarded-Proto` and `Host` headers, the path the client
called (`requestContext.path`, with the stage prefix), the query and the raw body.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, parse_qsl, quote, urlencode, urlsplit

from twilio.request_validator import SIGNATURE_HEADER, RequestValidator

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'


class _Params(dict):
    """Form parameters, each a list of values, as RequestValidator reads a multi-dict."""

    def getall(self, name: str) -> list[str]:
        return self[name]


@dataclass(frozen=True)
class WebhookRequest:
    url: str
    signature: str | None
    content_type: str
    body: str
    is_json: bool

    @classmethod
    def from_proxy_event(cls, event: dict[str, Any]) -> WebhookRequest:
        headers = {key.lower(): value for key, value in (event.get("headers") or {}).items()}
        body = event.get("body") or ""
        if event.get("isBase64Encoded"):
            body = base64.b64decode(body).decode("utf-8")
        content_type = headers.get("content-type", "").split(";", 1)[0].strip().lower()
        return cls(
            url=request_url(event, headers),
            signature=headers.get(SIGNATURE_HEADER.lower()),
            content_type=content_type,
            body=body,
            is_json=content_type == "application/json",
        )

    def form(self) -> dict[str, list[str]]:
        params: dict[str, list[str]] = _Params()
        for name, value in parse_qsl(self.body, keep_blank_values=True):
            params.setdefault(name, []).append(value)
        return params

    def is_signed_by(self, auth_token: str) -> bool:
        """True only for a request signed with `auth_token` over this URL and body."""
        if not self.signature or not auth_token:
            return False
        validator = RequestValidator(auth_token)
        if self.is_json:
            # Without bodySHA256 in the signed URL nothing would cover a JSON body.
            if "bodySHA256" not in parse_qs(urlsplit(self.url).query):
                return False
            return validator.validate(self.url, self.body, self.signature)
        return validator.validate(self.url, self.form(), self.signature)

    def query(self) -> dict[str, str]:
        """The URL's query parameters but the body hash (a StatusCallback's TraceId, say)."""
        pairs = parse_qsl(urlsplit(self.url).query, keep_blank_values=True)
        return {name: value for name, value in pairs if name != "bodySHA256"}

    def params(self) -> dict[str, Any]:
        """The request's parameters: a form's (one value each, the first), or a JSON object."""
        if self.is_json:
            parsed = json.loads(self.body or "{}")
            if not isinstance(parsed, dict):
                raise ValueError("the JSON body is not an object")
            return parsed
        return {name: values[0] for name, values in self.form().items()}


def request_url(event: dict[str, Any], headers: dict[str, str] | None = None) -> str:
    """The URL the client called: X-Forwarded-Proto://Host + the path as called + the query."""
    if headers is None:
        headers = {key.lower(): value for key, value in (event.get("headers") or {}).items()}
    scheme = headers.get("x-forwarded-proto", "https").split(",", 1)[0].strip()
    host = headers.get("host", "")
    path = (event.get("requestContext") or {}).get("path") or event.get("path") or "/"
    query = _query(event)
    return f"{scheme}://{host}{path}" + (f"?{query}" if query else "")


def _query(event: dict[str, Any]) -> str:
    multi = event.get("multiValueQueryStringParameters")
    if multi:
        pairs = [(name, value) for name, values in multi.items() for value in values]
    else:
        pairs = list((event.get("queryStringParameters") or {}).items())
    # API Gateway hands over decoded values; Twilio's URLs encode like quote() does.
    return urlencode(pairs, quote_via=quote)
