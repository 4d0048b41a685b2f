"""The guarded poster against a receiver on loopback: where it connects, what it follows."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest
import urllib3

from notify.domain.callback_urls import UnsafeUrl
from notify.domain.callbacks import Unreachable
from notify.integration.callback_http import GuardedPoster

TIMEOUT = urllib3.Timeout(connect=1, read=0.5)


class Receiver(BaseHTTPRequestHandler):
    requests: ClassVar[list[tuple[str, dict[str, str], bytes]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        Receiver.requests.append((self.path, dict(self.headers), body))
        if self.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", "http://169.254.169.254/latest/meta-data/")
        elif self.path == "/slow":
            time.sleep(1.5)
            self.send_response(200)
        else:
            self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def port() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_port
    server.shutdown()


@pytest.fixture(autouse=True)
def _clear() -> None:
    Receiver.requests.clear()


def test_a_redirect_is_answered_as_it_is_and_never_followed(port):
    poster = GuardedPoster(allow_loopback=True, timeout=TIMEOUT)

    status = poster.post(f"http://127.0.0.1:{port}/redirect", b"{}", {})

    assert status == 302
    assert [path for path, _, _ in Receiver.requests] == ["/redirect"]


def test_the_connection_goes_to_the_checked_address_with_the_name_as_host(port):
    resolved = []

    def resolver(host: str, p: int) -> list[str]:
        resolved.append(host)
        return ["127.0.0.1"]

    poster = GuardedPoster(allow_loopback=True, timeout=TIMEOUT, resolver=resolver)

    status = poster.post(f"http://callbacks.test:{port}/cb", b'{"a":1}', {"X-Test": "1"})

    assert status == 204
    [(path, headers, body)] = Receiver.requests
    assert (path, headers["Host"], headers["X-Test"], body) == (
        "/cb",
        f"callbacks.test:{port}",
        "1",
        b'{"a":1}',
    )
    assert resolved == ["callbacks.test"]  # resolved once, and that answer is used


def test_dns_rebinding_to_loopback_is_refused_before_connecting(port):
    answers = iter([["93.184.216.34"], ["127.0.0.1"]])  # public at registration, then not
    poster = GuardedPoster(
        allow_loopback=False, timeout=TIMEOUT, resolver=lambda host, p: next(answers)
    )
    next(answers)  # the registration's check saw a public address

    with pytest.raises(UnsafeUrl, match="loopback"):
        poster.post(f"https://callbacks.test:{port}/cb", b"{}", {})
    assert Receiver.requests == []


def test_dns_rebinding_to_the_metadata_endpoint_is_refused():
    poster = GuardedPoster(
        allow_loopback=True, timeout=TIMEOUT, resolver=lambda host, p: ["169.254.169.254"]
    )
    with pytest.raises(UnsafeUrl, match="link-local"):
        poster.post("https://callbacks.test/cb", b"{}", {})


def test_loopback_is_refused_unless_configured(port):
    poster = GuardedPoster(allow_loopback=False, timeout=TIMEOUT)
    with pytest.raises(UnsafeUrl):
        poster.post(f"http://127.0.0.1:{port}/cb", b"{}", {})
    assert Receiver.requests == []


def test_a_receiver_slower_than_the_timeout_is_unreachable(port):
    poster = GuardedPoster(allow_loopback=True, timeout=TIMEOUT)
    started = time.monotonic()

    with pytest.raises(Unreachable, match="Timeout"):
        poster.post(f"http://127.0.0.1:{port}/slow", b"{}", {})
    assert time.monotonic() - started < 1.4


def test_a_closed_port_is_unreachable():
    poster = GuardedPoster(allow_loopback=True, timeout=TIMEOUT)
    with pytest.raises(Unreachable):
        poster.post("http://127.0.0.1:1/cb", b"{}", {})
