"""Rebuilding the URL Twilio signed from an API Gateway proxy event, and checking signatures."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any
from urllib.parse import urlencode

import pytest
from twilio.request_validator import RequestValidator

from notify.integration.providers.twilio.webhook import WebhookRequest, request_url

TOKEN = "12345678901234567890123456789012"
HOST = "abc123.execute-api.us-east-1.amazonaws.com"
URL = f"https://{HOST}/dev/webhook"
FORM = {
    "MessageSid": "SM123",
    "From": "whatsapp:+16048621234",
    "To": "whatsapp:+14155238886",
    "Body": "Hi coach & team",
    "NumMedia": "0",
}


def proxy_event(
    body: str,
    signature: str | None,
    *,
    content_type: str = "application/x-www-form-urlencoded",
    query: dict[str, str] | None = None,
    base64_body: bool = False,
) -> dict[str, Any]:
    """A REST API (v1) proxy event as API Gateway builds it for POST /dev/webhook."""
    headers = {"Host": HOST, "X-Forwarded-Proto": "https", "Content-Type": content_type}
    if signature is not None:
        headers["X-Twilio-Signature"] = signature
    return {
        "resource": "/webhook",
        "path": "/webhook",
        "httpMethod": "POST",
        "headers": headers,
        "queryStringParameters": query,
        "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} if query else None,
        "requestContext": {"path": "/dev/webhook", "domainName": HOST, "stage": "dev"},
        "body": base64.b64encode(body.encode()).decode() if base64_body else body,
        "isBase64Encoded": base64_body,
    }


def sign(url: str, params: dict[str, str] | str, token: str = TOKEN) -> str:
    return RequestValidator(token).compute_signature(
        url, params if isinstance(params, dict) else {}
    )


def test_the_url_is_the_one_the_client_called_with_the_stage_and_query():
    event = proxy_event("", None, query={"TraceId": "trace 1/2"})

    assert request_url(event) == f"https://{HOST}/dev/webhook?TraceId=trace%201%2F2"


def test_locally_the_scheme_is_http_and_the_host_has_its_port():
    event = proxy_event("", None)
    event["headers"] |= {"Host": "127.0.0.1:3000", "X-Forwarded-Proto": "http"}
    event["requestContext"]["path"] = "/webhook"

    assert request_url(event) == "http://127.0.0.1:3000/webhook"


def test_a_form_signed_with_the_auth_token_is_accepted():
    request = WebhookRequest.from_proxy_event(proxy_event(urlencode(FORM), sign(URL, FORM)))

    assert request.is_signed_by(TOKEN)
    assert request.params() == FORM


def test_a_base64_encoded_form_is_decoded_first():
    event = proxy_event(urlencode(FORM), sign(URL, FORM), base64_body=True)

    assert WebhookRequest.from_proxy_event(event).is_signed_by(TOKEN)


def test_a_status_callback_url_with_a_query_is_signed_with_it():
    url = f"{URL}?TraceId=t-1"
    params = {"MessageSid": "SM1", "MessageStatus": "delivered"}
    event = proxy_event(urlencode(params), sign(url, params), query={"TraceId": "t-1"})

    request = WebhookRequest.from_proxy_event(event)

    assert request.is_signed_by(TOKEN)
    assert request.query() == {"TraceId": "t-1"}


@pytest.mark.parametrize(
    ("body", "signature"),
    [
        pytest.param(urlencode(FORM), None, id="no signature"),
        pytest.param(urlencode(FORM), "", id="empty signature"),
        pytest.param(
            urlencode(FORM),
            sign(URL, FORM, "another-token-0000000000000000000"),
            id="signed with another token",
        ),
        pytest.param(
            urlencode(FORM | {"Body": "STOP"}), sign(URL, FORM), id="replayed signature, new body"
        ),
        pytest.param(urlencode(FORM), sign(URL.replace("/dev", "/prod"), FORM), id="another URL"),
        pytest.param(urlencode(FORM | {"Extra": "1"}), sign(URL, FORM), id="a parameter added"),
    ],
)
def test_a_forged_or_replayed_request_is_refused(body, signature):
    assert not WebhookRequest.from_proxy_event(proxy_event(body, signature)).is_signed_by(TOKEN)


def test_no_auth_token_refuses_even_a_request_signed_with_an_empty_key():
    request = WebhookRequest.from_proxy_event(proxy_event(urlencode(FORM), sign(URL, FORM, "")))

    assert not request.is_signed_by("")


def json_request(body: str, hashed: str, signature_url: str | None = None) -> WebhookRequest:
    query = {"bodySHA256": hashlib.sha256(hashed.encode()).hexdigest()}
    url = signature_url or f"{URL}?{urlencode(query)}"
    event = proxy_event(body, sign(url, {}), content_type="application/json", query=query)
    return WebhookRequest.from_proxy_event(event)


def test_a_json_body_is_covered_by_its_sha256_in_the_signed_url():
    body = json.dumps({"MessageSid": "SM5", "MessageStatus": "read"})

    request = json_request(body, body)

    assert request.is_signed_by(TOKEN)
    assert request.params() == {"MessageSid": "SM5", "MessageStatus": "read"}
    assert request.query() == {}


def test_a_json_body_that_does_not_match_its_hash_is_refused():
    signed = json.dumps({"MessageSid": "SM5", "MessageStatus": "read"})

    assert not json_request(signed.replace("read", "failed"), signed).is_signed_by(TOKEN)


def test_a_json_body_without_a_hash_in_the_url_is_refused():
    body = json.dumps({"MessageSid": "SM5"})
    event = proxy_event(body, sign(URL, {}), content_type="application/json; charset=utf-8")

    assert not WebhookRequest.from_proxy_event(event).is_signed_by(TOKEN)


# ---------------------------------------------------------------- size and content type


@pytest.mark.parametrize(
    "content_type",
    [
        pytest.param("application/x-www-form-urlencoded", id="form"),
        pytest.param("application/x-www-form-urlencoded; charset=UTF-8", id="form-utf8"),
        pytest.param('Application/JSON;charset="utf-8"', id="json-quoted-charset"),
        pytest.param("application/json", id="json"),
    ],
)
def test_forms_and_json_in_utf8_are_accepted(content_type):
    request = WebhookRequest.from_proxy_event(proxy_event("a=1", None, content_type=content_type))

    assert request.refusal() is None


@pytest.mark.parametrize(
    ("content_type", "reason"),
    [
        pytest.param("text/plain", "Content-Type 'text/plain'", id="text-plain"),
        pytest.param("application/xml", "Content-Type 'application/xml'", id="xml"),
        pytest.param(
            "multipart/form-data; boundary=x", "Content-Type 'multipart/form-data'", id="multipart"
        ),
        pytest.param(None, "no Content-Type", id="none"),
        pytest.param(
            "application/x-www-form-urlencoded; charset=ISO-8859-1",
            "charset 'iso-8859-1'",
            id="latin-1-form",
        ),
    ],
)
def test_other_content_types_are_415_with_the_reason(content_type, reason):
    event = proxy_event(urlencode(FORM), sign(URL, FORM), content_type=content_type or "")
    if content_type is None:
        del event["headers"]["Content-Type"]

    refusal = WebhookRequest.from_proxy_event(event).refusal()

    assert refusal is not None
    assert refusal.status == 415
    assert refusal.reason == (
        f"{reason}: send application/x-www-form-urlencoded or application/json, in UTF-8"
    )
    assert json.loads(refusal.body()) == {
        "message": "Unsupported Media Type",
        "reason": refusal.reason,
    }


def test_a_body_that_is_not_utf8_is_415():
    event = proxy_event("", None)
    event |= {"body": base64.b64encode("Body=caf\xe9".encode("latin-1")).decode()}
    event["isBase64Encoded"] = True

    refusal = WebhookRequest.from_proxy_event(event).refusal()

    assert refusal is not None
    assert (refusal.status, refusal.reason.split(":")[0]) == (415, "a body that is not UTF-8")


# What API Gateway hands the function for "Body=café" sent in Latin-1: a text body decoded
# from UTF-8, the byte that is not UTF-8 (0xE9) replaced by U+FFFD.
AS_API_GATEWAY_PASSES_LATIN1 = b"Body=caf\xe9".decode("utf-8", errors="replace")


def test_a_form_that_was_not_utf8_is_415_though_api_gateway_passed_it_as_text():
    request = WebhookRequest.from_proxy_event(proxy_event(AS_API_GATEWAY_PASSES_LATIN1, None))

    refusal = request.refusal()

    assert refusal is not None
    assert (refusal.status, refusal.reason) == (
        415,
        "a body that is not UTF-8: send application/x-www-form-urlencoded or "
        "application/json, in UTF-8",
    )


def test_a_json_body_that_was_not_utf8_is_415_once_its_signature_fails():
    sent = json.dumps({"MessageSid": "SM5", "Body": "caf\u00e9"}, ensure_ascii=False)
    as_passed = sent.encode("latin-1").decode("utf-8", errors="replace")

    request = json_request(as_passed, sent)

    assert request.refusal() is None  # U+FFFD is a character JSON may carry
    assert not request.is_signed_by(TOKEN)
    refusal = request.unverifiable()
    assert refusal is not None
    assert (refusal.status, refusal.reason.split(":")[0]) == (415, "a body that is not UTF-8")


def test_a_signed_json_body_holding_a_replacement_character_is_accepted():
    body = json.dumps({"MessageSid": "SM5", "Body": "a \ufffd sent as such"}, ensure_ascii=False)

    request = json_request(body, body)

    assert request.refusal() is None
    assert request.is_signed_by(TOKEN)
    assert request.params()["Body"] == "a \ufffd sent as such"


@pytest.mark.parametrize(
    ("size", "status"),
    [
        pytest.param(256 * 1024, None, id="256-KiB"),
        pytest.param(256 * 1024 + 1, 413, id="one-byte-over"),
    ],
)
def test_a_body_over_256_kib_is_413(size, status):
    body = "Body=" + "é" * ((size - 5) // 2) + "x" * ((size - 5) % 2)
    request = WebhookRequest.from_proxy_event(proxy_event(body, None))

    assert request.size == size
    refusal = request.refusal()
    assert (refusal.status if refusal else None) == status


def test_size_is_checked_before_the_content_type():
    event = proxy_event("x" * (256 * 1024 + 1), None, content_type="text/plain")

    refusal = WebhookRequest.from_proxy_event(event).refusal()

    assert refusal is not None
    assert refusal.status == 413
    assert refusal.reason == "the body is 262145 bytes; at most 262144 are accepted"
