"""Signed status callbacks to a receiver on loopback, registered with `messaging callbacks`."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests
from conftest import example, wait_until

from emulator.local import LOCAL_JWT_SECRET
from notify.domain.tokens import mint_token

TENANT_ID = "e2e-callbacks"
OTHER_TENANT_ID = "e2e-callbacks-other"
MAX_AGE_SECONDS = 300  # how old a signature this receiver accepts


@dataclass
class Receiver:
    """An application's callback endpoint: checks nothing itself, records what arrives."""

    secret: str
    status: int = 200
    received: list[tuple[dict[str, str], bytes, int]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def accepted(self, trace_id: str) -> list[dict[str, Any]]:
        """The events of a trace that this receiver answered 2xx, in arrival order."""
        with self.lock:
            return [
                json.loads(body)
                for _, body, status in self.received
                if status < 300 and json.loads(body)["TraceId"] == trace_id
            ]

    def attempts(self, trace_id: str) -> list[tuple[dict[str, str], dict[str, Any], int]]:
        with self.lock:
            return [
                (headers, json.loads(body), status)
                for headers, body, status in self.received
                if json.loads(body)["TraceId"] == trace_id
            ]


def serve(receiver: Receiver) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            with receiver.lock:
                status = receiver.status
                receiver.received.append((dict(self.headers), body, status))
            self.send_response(status)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def verified(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """What a receiver runs on each callback (the README's few lines)."""
    parts = dict(part.split("=", 1) for part in headers["X-Messaging-Signature"].split(","))
    signed = parts["t"].encode() + b"." + body
    expected = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    fresh = abs(time.time() - int(parts["t"])) < MAX_AGE_SECONDS
    return fresh and hmac.compare_digest(expected, parts["v1"])


@pytest.fixture
def register(messaging) -> Iterator[Any]:
    """Start a receiver and register it for a tenant with the CLI; unregister afterwards."""
    registered: list[tuple[str, ThreadingHTTPServer]] = []

    def register(customer_id: str, secret: str) -> Receiver:
        receiver = Receiver(secret)
        server = serve(receiver)
        url = f"http://127.0.0.1:{server.server_port}/events"
        code, out, err = messaging(
            "callbacks", "set", url, "--secret", secret, "--customer-id", customer_id
        )
        assert code == 0, err
        assert secret not in out
        registered.append((customer_id, server))
        return receiver

    yield register
    for customer_id, server in registered:
        messaging("callbacks", "delete", "--customer-id", customer_id)
        server.shutdown()


def send_whatsapp(local, customer_id: str) -> str:
    request = example("whatsapp-invitation.json")
    token = mint_token(LOCAL_JWT_SECRET, "e2e-user", customer_id=customer_id)
    response = requests.post(
        local.http.url + "/",
        json=request,
        headers={"Authorization": f"Bearer {token}", "x-api-key": local.api_key},
        timeout=30,
    )
    assert response.status_code == 202, response.text
    return request["TraceId"]


def statuses(events: list[dict[str, Any]]) -> set[str]:
    return {event["Status"] for event in events}


def test_a_whatsapp_send_is_called_back_signed_sent_then_delivered(local, register, messaging):
    receiver = register(TENANT_ID, "s" * 40)

    trace_id = send_whatsapp(local, TENANT_ID)

    events = wait_until(
        lambda: {"SENT", "delivered"} <= statuses(got := receiver.accepted(trace_id)) and got,
        "SENT and delivered called back",
    )
    for headers, body, _ in receiver.received:
        assert verified(receiver.secret, headers, body)
        assert headers["X-Messaging-Event-Id"] == json.loads(body)["EventId"]
    sent = next(e for e in events if e["Status"] == "SENT")
    delivered = next(e for e in events if e["Status"] == "delivered")
    assert sent["At"] < delivered["At"]
    assert (sent["Kind"], delivered["Kind"]) == ("Outcome", "Delivery")
    assert (sent["Tenant"], sent["Channel"], sent["Address"], sent["Attempts"]) == (
        f"customer:{TENANT_ID}",
        "WHATSAPP",
        "whatsapp:+447835065013",
        1,
    )
    assert sent["ProviderMessageId"] == delivered["ProviderMessageId"]
    assert len({e["EventId"] for e in events}) == len(events)
    # (The stack's functions log to the same stdout: look for the CLI's line.)
    code, out, _ = messaging("callbacks", "get", "--customer-id", TENANT_ID, "--json")
    assert code == 0
    assert '"Url": "http://127.0.0.1:' in out
    assert receiver.secret not in out


def test_events_refused_with_503_are_retried_and_arrive_once_the_receiver_recovers(local, register):
    receiver = register(TENANT_ID, "r" * 40)
    receiver.status = 503

    trace_id = send_whatsapp(local, TENANT_ID)

    def sent_refused_twice() -> bool:
        refused = [
            b for _, b, s in receiver.attempts(trace_id) if s == 503 and b["Status"] == "SENT"
        ]
        return len(refused) >= 2

    wait_until(sent_refused_twice, "the SENT event retried after a 503")
    receiver.status = 200
    events = wait_until(
        lambda: {"SENT", "delivered"} <= statuses(got := receiver.accepted(trace_id)) and got,
        "the events delivered after the receiver recovered",
    )
    sent = next(e for e in events if e["Status"] == "SENT")
    retried = [b for _, b, _ in receiver.attempts(trace_id) if b["EventId"] == sent["EventId"]]
    assert len(retried) >= 3  # refused twice or more, then accepted: one event id throughout


def test_another_tenants_events_never_reach_a_receiver(local, register):
    mine = register(TENANT_ID, "m" * 40)
    theirs = register(OTHER_TENANT_ID, "t" * 40)

    my_trace = send_whatsapp(local, TENANT_ID)
    their_trace = send_whatsapp(local, OTHER_TENANT_ID)

    for receiver, trace_id in ((mine, my_trace), (theirs, their_trace)):
        wait_until(
            lambda r=receiver, t=trace_id: "delivered" in statuses(r.accepted(t)),
            f"{trace_id} called back",
        )
    assert {json.loads(b)["Tenant"] for _, b, _ in mine.received} == {f"customer:{TENANT_ID}"}
    assert {json.loads(b)["Tenant"] for _, b, _ in theirs.received} == {
        f"customer:{OTHER_TENANT_ID}"
    }
    assert mine.attempts(their_trace) == []
    for headers, body, _ in theirs.received:
        assert verified(theirs.secret, headers, body)
        assert not verified(mine.secret, headers, body)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"Url": "https://hooks.example.com/", "Secret": "short"}, "too short"),
        ({"Url": "https://169.254.169.254/latest/meta-data/", "Secret": "k" * 40}, "link-local"),
        ({"Url": "https://10.1.2.3/hook", "Secret": "k" * 40}, "private"),
        ({"Url": "http://93.184.216.34/", "Secret": "k" * 40}, "https"),
    ],
    ids=["short-secret", "metadata", "private", "http-to-a-public-address"],
)
def test_a_callback_that_cannot_be_registered_is_refused_with_400(local, body, reason):
    token = mint_token(LOCAL_JWT_SECRET, "e2e-user", customer_id=TENANT_ID)
    response = requests.put(
        local.http.url + "/callbacks",
        json=body,
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert response.status_code == 400, response.text
    assert reason in response.json()["reason"]
