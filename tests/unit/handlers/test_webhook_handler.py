"""POST /webhook's function: 403 and nothing queued unless Twilio signed it; else queued, 200."""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import pytest
from twilio.request_validator import RequestValidator

MODULE = "notify.handlers.webhook"
TOKEN = "12345678901234567890123456789012"
HOST = "abc123.execute-api.us-east-1.amazonaws.com"
URL = f"https://{HOST}/dev/webhook"
FORM = {"MessageSid": "SM1", "From": "+16048621234", "To": "+14155238886", "Body": "STOP"}
TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'


def event(form: dict[str, str], signature: str | None) -> dict[str, Any]:
    headers = {
        "Host": HOST,
        "X-Forwarded-Proto": "https",
        "Content-Type": "application/x-www-form-urlencoded",
    }
    if signature is not None:
        headers["X-Twilio-Signature"] = signature
    return {
        "path": "/webhook",
        "httpMethod": "POST",
        "headers": headers,
        "requestContext": {"path": "/dev/webhook"},
        "body": urlencode(form),
        "isBase64Encoded": False,
    }


@pytest.fixture
def aws(fresh_aws) -> Any:
    return fresh_aws


@pytest.fixture
def queue_url(aws) -> str:
    return aws.client("sqs").create_queue(QueueName="inbound")["QueueUrl"]


@pytest.fixture
def load(aws, queue_url, monkeypatch) -> Callable[[str], Any]:
    def load(auth_token: str = TOKEN) -> Any:
        secret = json.dumps({"AccountSid": "AC" + "0" * 32, "AuthToken": auth_token})
        aws.client("secretsmanager").create_secret(Name="stack-twilio", SecretString=secret)
        monkeypatch.setenv("TWILIO_SECRET_NAME", "stack-twilio")
        monkeypatch.setenv("TWILIO_SECRET_MAX_AGE_SECONDS", "300")
        monkeypatch.setenv("INBOUND_QUEUE_URL", queue_url)
        sys.modules.pop(MODULE, None)
        return importlib.import_module(MODULE).handler

    return load


def queued(aws, queue_url) -> list[dict[str, Any]]:
    messages = aws.client("sqs").receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)
    return [json.loads(m["Body"]) for m in messages.get("Messages", [])]


def test_a_signed_request_is_queued_and_answered_with_empty_twiml(
    load, aws, queue_url, lambda_context
):
    signature = RequestValidator(TOKEN).compute_signature(URL, FORM)

    response = load()(event(FORM, signature), lambda_context)

    assert response == {"statusCode": 200, "headers": {"Content-Type": "text/xml"}, "body": TWIML}
    [envelope] = queued(aws, queue_url)
    assert envelope["Source"] == "twilio"
    assert envelope["Params"] == FORM
    assert envelope["ContentType"] == "application/x-www-form-urlencoded"
    assert envelope["ReceivedAt"].startswith("20")


@pytest.mark.parametrize(
    "signature",
    [
        pytest.param(None, id="missing"),
        pytest.param("bm90IGEgc2lnbmF0dXJl", id="forged"),
        pytest.param(
            RequestValidator(TOKEN).compute_signature(URL, FORM | {"Body": "hello"}),
            id="replayed from another body",
        ),
    ],
)
def test_an_unsigned_or_forged_request_is_403_and_nothing_is_queued(
    load, aws, queue_url, lambda_context, signature
):
    response = load()(event(FORM, signature), lambda_context)

    assert response["statusCode"] == 403
    assert queued(aws, queue_url) == []


def test_without_an_auth_token_every_request_is_refused(load, aws, queue_url, lambda_context):
    signature = RequestValidator("").compute_signature(URL, FORM)

    response = load(auth_token="")(event(FORM, signature), lambda_context)

    assert response["statusCode"] == 403
    assert queued(aws, queue_url) == []


@pytest.mark.parametrize(
    "content_type",
    [
        pytest.param("text/plain", id="text-plain"),
        pytest.param("application/xml", id="xml"),
        pytest.param("multipart/form-data; boundary=x", id="multipart"),
        pytest.param(None, id="no-type"),
    ],
)
def test_a_signed_form_of_another_content_type_is_415_and_nothing_is_queued(
    load, aws, queue_url, lambda_context, content_type
):
    signed = event(FORM, RequestValidator(TOKEN).compute_signature(URL, FORM))
    if content_type is None:
        del signed["headers"]["Content-Type"]
    else:
        signed["headers"]["Content-Type"] = content_type

    response = load()(signed, lambda_context)

    assert response["statusCode"] == 415
    assert json.loads(response["body"])["message"] == "Unsupported Media Type"
    assert queued(aws, queue_url) == []


@pytest.mark.parametrize("signed", [True, False], ids=["signed", "unsigned"])
def test_a_form_that_was_not_utf8_is_415_with_the_reason_and_nothing_is_queued(
    load, aws, queue_url, lambda_context, signed
):
    # API Gateway passes a text body decoded from UTF-8, each invalid byte as U+FFFD.
    latin1 = urlencode(FORM).replace("STOP", "ST\xd6P").encode("latin-1")
    request = event(FORM, RequestValidator(TOKEN).compute_signature(URL, FORM) if signed else None)
    request["body"] = latin1.decode("utf-8", errors="replace")

    response = load()(request, lambda_context)

    assert response["statusCode"] == 415
    assert json.loads(response["body"]) == {
        "message": "Unsupported Media Type",
        "reason": "a body that is not UTF-8: send application/x-www-form-urlencoded or "
        "application/json, in UTF-8",
    }
    assert queued(aws, queue_url) == []


def test_a_body_over_256_kib_is_413_even_unsigned_and_nothing_is_queued(
    load, aws, queue_url, lambda_context
):
    big = FORM | {"Body": "x" * (256 * 1024)}

    response = load()(event(big, None), lambda_context)

    assert response["statusCode"] == 413
    assert json.loads(response["body"])["message"] == "Payload Too Large"
    assert queued(aws, queue_url) == []


def test_a_signed_body_whose_queued_form_would_exceed_256_kib_is_413(
    load, aws, queue_url, lambda_context
):
    # 50 000 control characters: 150 000 bytes as a form (%01), 300 000 as JSON (\u0001).
    big = FORM | {"Body": "\x01" * 50_000}
    signature = RequestValidator(TOKEN).compute_signature(URL, big)

    response = load()(event(big, signature), lambda_context)

    assert response["statusCode"] == 413
    assert "the queued request is" in json.loads(response["body"])["reason"]
    assert queued(aws, queue_url) == []
