"""The local stack's Twilio Messages API: authentication, capture, and signed status callbacks."""

from __future__ import annotations

import base64
import queue
import time
from collections.abc import Iterator
from typing import Any

import pytest
from twilio.request_validator import RequestValidator
from werkzeug.test import Client
from werkzeug.wrappers import Request, Response

from emulator.aws import free_port
from emulator.http import HttpServer
from emulator.providers import Fault, Providers
from emulator.twilio_api import TwilioApi

SID = "AC" + "12" * 16
TOKEN = "localtoken"
PATH = f"/2010-04-01/Accounts/{SID}/Messages.json"
FORM = {"To": "whatsapp:+16048621234", "From": "whatsapp:+14155238886", "Body": "Hello"}


def basic(user: str, password: str) -> dict[str, str]:
    credentials = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {credentials}"}


@pytest.fixture
def providers() -> Providers:
    return Providers()


@pytest.fixture
def api(providers: Providers) -> Client:
    return Client(TwilioApi(providers, SID, TOKEN))


def test_a_send_is_captured_and_answered_with_a_message_resource(api, providers):
    response = api.post(PATH, data=FORM, headers=basic(SID, TOKEN))

    assert response.status_code == 201
    body = response.get_json()
    [sent] = providers.sent()
    assert body["sid"] == sent.message_id
    assert (body["to"], body["from"], body["body"], body["status"]) == (
        FORM["To"],
        FORM["From"],
        "Hello",
        "queued",
    )
    assert body["account_sid"] == SID


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        pytest.param(PATH, {}, id="no-credentials"),
        pytest.param(PATH, basic(SID, "wrong"), id="wrong-token"),
        pytest.param(PATH.replace(SID, "AC" + "34" * 16), basic(SID, TOKEN), id="other-account"),
    ],
)
def test_a_request_without_the_local_credentials_is_refused(api, providers, path, headers):
    response = api.post(path, data=FORM, headers=headers)

    assert response.status_code == 401
    assert response.get_json()["code"] == 20003
    assert providers.sent() == []


@pytest.mark.parametrize(
    ("form", "code"),
    [
        pytest.param(FORM | {"To": "+16048621234"}, 21211, id="not-whatsapp"),
        pytest.param({k: v for k, v in FORM.items() if k != "Body"}, 21619, id="no-body"),
    ],
)
def test_a_request_twilio_would_refuse_is_refused(api, providers, form, code):
    response = api.post(PATH, data=form, headers=basic(SID, TOKEN))

    assert response.status_code == 400
    assert response.get_json()["code"] == code
    assert providers.sent() == []


@pytest.fixture
def webhook() -> Iterator[tuple[str, queue.Queue]]:
    received: queue.Queue[tuple[str, dict[str, Any], str]] = queue.Queue()

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        # The URL as it was on the wire (werkzeug's request.url would decode %2F).
        url = request.host_url.rstrip("/") + request.full_path
        received.put((url, request.form.to_dict(), request.headers.get("X-Twilio-Signature", "")))
        return Response("<Response/>", mimetype="text/xml")(environ, start_response)

    server = HttpServer(app, free_port()).start()
    yield f"{server.url}/webhook?TraceId=t%2F1", received
    server.stop()


def test_status_callbacks_sent_then_delivered_are_signed_as_twilio_signs_them(
    api, providers, webhook
):
    url, received = webhook

    api.post(PATH, data=FORM | {"StatusCallback": url}, headers=basic(SID, TOKEN))

    callbacks = [received.get(timeout=5) for _ in range(2)]
    [sent] = providers.sent()
    assert sent.trace_id == "t/1"
    assert [form["MessageStatus"] for _, form, _ in callbacks] == ["sent", "delivered"]
    validator = RequestValidator(TOKEN)
    for callback_url, form, signature in callbacks:
        assert callback_url == url
        assert validator.validate(callback_url, form, signature)
        assert not RequestValidator("another-token").validate(callback_url, form, signature)
        assert (form["MessageSid"], form["AccountSid"]) == (sent.message_id, SID)
        assert (form["To"], form["From"]) == (FORM["To"], FORM["From"])


def test_no_callback_is_posted_after_a_failed_send(api, providers, webhook):
    url, received = webhook
    providers.add_fault(Fault(channel="WHATSAPP", error="5xx"))

    response = api.post(PATH, data=FORM | {"StatusCallback": url}, headers=basic(SID, TOKEN))

    assert response.status_code == 500
    assert response.get_json()["code"] == 20500
    time.sleep(0.2)
    assert received.empty()
