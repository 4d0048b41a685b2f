"""A tenant's callback: registration, the signature, and what each answer of a receiver means.

Each status event of a tenant is POSTed to its one registered URL as compact JSON with

    X-Messaging-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>
    X-Messaging-Event-Id: <the event's id, the same on every retry>

A 2xx is delivered. A timeout, a dropped connection, 408, 429 or a 5xx is retried with
exponential backoff; any other answer (3xx included: redirects are not followed) is not
retried. An event of a tenant without a callback is dropped.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Protocol

from notify.domain.callback_urls import UnsafeUrl, parse_callback_url

MIN_SECRET_CHARS = 32
MAX_SECRET_CHARS = 256
SIGNATURE_HEADER = "X-Messaging-Signature"
EVENT_ID_HEADER = "X-Messaging-Event-Id"
RETRIED_STATUSES = frozenset({408, 429})
# SQS's longest visibility timeout: no single wait can be longer.
MAX_DELAY_SECONDS = 43200


class InvalidRegistration(ValueError):
    """A PUT /callbacks body the service refuses; the message is the 400's reason."""


@dataclass(frozen=True)
class Registration:
    url: str
    secret: str = field(repr=False)


@dataclass(frozen=True)
class Callback:
    """A tenant's registered callback, as the dispatcher uses it."""

    url: str
    secret: str = field(repr=False)


def registration(body: Any, allow_loopback: bool) -> Registration:
    """The {"Url", "Secret"} of PUT /callbacks, checked; InvalidRegistration naming why not."""
    if not isinstance(body, Mapping) or set(body) != {"Url", "Secret"}:
        raise InvalidRegistration('the body is {"Url": "https://...", "Secret": "..."}')
    secret = body["Secret"]
    if not isinstance(secret, str) or not MIN_SECRET_CHARS <= len(secret) <= MAX_SECRET_CHARS:
        raise InvalidRegistration(
            f"Secret must be {MIN_SECRET_CHARS}-{MAX_SECRET_CHARS} characters"
        )
    if not secret.isascii() or not secret.isprintable() or secret.strip() != secret:
        raise InvalidRegistration("Secret must be printable ASCII without surrounding spaces")
    try:
        parse_callback_url(body["Url"], allow_loopback)
    except UnsafeUrl as exc:
        raise InvalidRegistration(str(exc)) from None
    return Registration(body["Url"], secret)


def body_of(detail: Mapping[str, Any]) -> bytes:
    """The POSTed body: the event's detail as compact JSON (the bytes that are signed)."""
    return json.dumps(detail, separators=(",", ":"), ensure_ascii=False).encode()


def signature(secret: str, body: bytes, timestamp: int) -> str:
    """The X-Messaging-Signature value: t=<timestamp>,v1=<hex HMAC-SHA256(secret, "t.body")>."""
    signed = str(timestamp).encode() + b"." + body
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


class Verdict(Enum):
    DELIVERED = "delivered"
    RETRY = "retry"
    REFUSED = "refused"  # the receiver said no for good (4xx, 3xx): not retried
    DROPPED = "dropped"  # the tenant has no callback


def verdict_of(status: int) -> Verdict:
    if 200 <= status < 300:
        return Verdict.DELIVERED
    if status in RETRIED_STATUSES or status >= 500:
        return Verdict.RETRY
    return Verdict.REFUSED


def retry_delay(receive_count: int, base_seconds: int, cap_seconds: int) -> int:
    """Seconds before the next attempt after the `receive_count`-th one failed."""
    exponent = max(0, receive_count - 1)
    delay = base_seconds * 2 ** min(exponent, 32)
    return int(min(delay, cap_seconds, MAX_DELAY_SECONDS))


def retry_schedule(base_seconds: int, cap_seconds: int, max_receives: int) -> list[int]:
    """The waits between the `max_receives` attempts of an event that always fails."""
    return [retry_delay(n, base_seconds, cap_seconds) for n in range(1, max_receives)]


class Unreachable(Exception):
    """The receiver did not answer: timeout, refused or dropped connection, TLS failure."""


class Callbacks(Protocol):
    def callback(self, tenant: str) -> Callback | None:
        """The tenant's callback with its secret, or None."""


class Poster(Protocol):
    def post(self, url: str, body: bytes, headers: dict[str, str]) -> int:
        """POST to the URL (guarded); its HTTP status. Unreachable or UnsafeUrl otherwise."""


@dataclass
class Outcome:
    verdict: Verdict
    detail: str


@dataclass
class Dispatcher:
    """Delivers one invocation's events; a receiver that timed out is not called again in it.

    So a dead receiver costs one timeout per batch, not one per event, and the other
    tenants' events in the batch go out at once.
    """

    callbacks: Callbacks
    poster: Poster
    clock: Callable[[], float]
    unreachable: set[str] = field(default_factory=set)

    def deliver(self, detail: Mapping[str, Any]) -> Outcome:
        callback = self.callbacks.callback(detail["Tenant"])
        if callback is None:
            return Outcome(Verdict.DROPPED, "the tenant has no callback")
        if callback.url in self.unreachable:
            return Outcome(Verdict.RETRY, "the receiver did not answer earlier in this batch")
        body = body_of(detail)
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: signature(callback.secret, body, int(self.clock())),
            EVENT_ID_HEADER: detail["EventId"],
        }
        try:
            status = self.poster.post(callback.url, body, headers)
        except UnsafeUrl as exc:
            return Outcome(Verdict.REFUSED, f"the callback URL is refused: {exc}")
        except Unreachable as exc:
            self.unreachable.add(callback.url)
            return Outcome(Verdict.RETRY, str(exc))
        return Outcome(verdict_of(status), f"HTTP {status}")
