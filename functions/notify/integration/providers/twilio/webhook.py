"""Twilio's webhook requests: rebuild what Twilio signed, check the signature, read the body.

Twilio signs the URL it called (scheme, host, path and query as configured in the
console or given as a StatusCallback) followed by the sorted POST parameters; a JSON
body is covered by a `bodySHA256` query parameter instead. API Gateway's REST proxy
event carries every piece: `X-Forwarded-Proto` and `Host` headers, the path the client
called (`requestContext.path`, with the stage prefix), the query and the raw body.

A request is refused, in this order, when its body is too large (413), when it is not a
form or JSON in UTF-8 (415), or when its signature does not match (403); nothing refused
is queued.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from email.message import Message
from typing import Any
from urllib.parse import parse_qs, parse_qsl, quote, urlencode, urlsplit

from twilio.request_validator import SIGNATURE_HEADER, RequestValidator

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'

# What Twilio sends: form-encoded webhooks and status callbacks, JSON for some products.
FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
ACCEPTED_MEDIA_TYPES = (FORM, JSON)
# Bodies and queued envelopes alike (Twilio's requests are a few KB): InboundFunction reads
# batches of 10, and 10 x 256 KiB stays well inside Lambda's 6 MB invocation payload.
MAX_BYTES = 256 * 1024
# API Gateway hands a text body (no binaryMediaTypes) to the function decoded from UTF-8,
# each byte that is not UTF-8 replaced by U+FFFD: the bytes themselves never arrive.
REPLACEMENT = "\ufffd"


@dataclass(frozen=True)
class Refusal:
    """An answer other than 200, and why, for a request that is not queued."""

    status: int
    message: str
    reason: str

    def body(self) -> str:
        return json.dumps({"message": self.message, "reason": self.reason})


def too_large(size: int, what: str) -> Refusal | None:
    """413 when `size` bytes exceed MAX_BYTES."""
    if size <= MAX_BYTES:
        return None
    return Refusal(
        413, "Payload Too Large", f"the {what} is {size} bytes; at most {MAX_BYTES} are accepted"
    )


class _Params(dict):
    """Form parameters, each a list of values, as RequestValidator reads a multi-dict."""

    def getall(self, name: str) -> list[str]:
        return self[name]


@dataclass(frozen=True)
class WebhookRequest:
    url: str
    signature: str | None
    content_type: str  # the media type alone, lower case; "" when the header is missing
    body: str
    is_json: bool
    size: int = 0  # the body's bytes as they arrived
    charset: str | None = None  # the Content-Type's charset parameter, lower case
    utf8: bool = True  # whether those bytes are UTF-8

    @classmethod
    def from_proxy_event(cls, event: dict[str, Any]) -> WebhookRequest:
        headers = {key.lower(): value for key, value in (event.get("headers") or {}).items()}
        raw = event.get("body") or ""
        data = base64.b64decode(raw) if event.get("isBase64Encoded") else raw.encode("utf-8")
        content_type = headers.get("content-type", "").split(";", 1)[0].strip().lower()
        header = Message()  # the standard library's parser of header parameters (quoted or not)
        header["Content-Type"] = headers.get("content-type", "")
        try:
            body, utf8 = data.decode("utf-8"), True
        except UnicodeDecodeError:  # refused with 415 by refusal(), never verified or parsed
            body, utf8 = data.decode("utf-8", errors="replace"), False
        # A form's bytes are ASCII (every other one percent-encoded): U+FFFD in a form can
        # only stand for a byte that was not UTF-8. In JSON it may be a character sent.
        if content_type == FORM and REPLACEMENT in body:
            utf8 = False
        return cls(
            url=request_url(event, headers),
            signature=headers.get(SIGNATURE_HEADER.lower()),
            content_type=content_type,
            body=body,
            is_json=content_type == JSON,
            size=len(data),
            charset=header.get_content_charset(),
            utf8=utf8,
        )

    def refusal(self) -> Refusal | None:
        """Why the request is refused before its signature is checked, if it is.

        Size first, then type, then (by the caller) the signature: the first two cost
        nothing and need no secret, so an oversized or foreign body is turned away before
        the secret is fetched or an HMAC runs over it; and the type decides what the
        signature covers (form parameters, or a JSON body through bodySHA256), so it is
        known to be one of the two before verifying. A 413 or 415 tells an unsigned
        caller only what the documentation does.
        """
        oversized = too_large(self.size, "body")
        if oversized:
            return oversized
        if self.content_type not in ACCEPTED_MEDIA_TYPES:
            sent = f"Content-Type {self.content_type!r}" if self.content_type else "no Content-Type"
        elif self.charset not in (None, "utf-8", "utf8"):
            sent = f"charset {self.charset!r}"
        elif not self.utf8:
            sent = NOT_UTF8
        else:
            return None
        return _unsupported(sent)

    def unverifiable(self) -> Refusal | None:
        """415 for a JSON body whose signature failed because it was not UTF-8, else None (403).

        U+FFFD in JSON may be a character Twilio sent, and then the signature matches; when
        it does not, the likelier cause is a body whose bytes API Gateway replaced.
        """
        if self.is_json and REPLACEMENT in self.body:
            return _unsupported(NOT_UTF8)
        return None

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


NOT_UTF8 = "a body that is not UTF-8"


def _unsupported(sent: str) -> Refusal:
    return Refusal(415, "Unsupported Media Type", f"{sent}: send {FORM} or {JSON}, in UTF-8")


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
