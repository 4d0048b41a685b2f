"""The local API answers as API Gateway would, and what it accepts is delivered."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import jwt
import pytest
from conftest import example, execution_input, finished, outbox

from emulator.local import LOCAL_JWT_SECRET
from notify.domain.tokens import mint_token

CHEQUING = "Alert: Your CHEQUING account ending in ****5493 has a low balance of $100.00"


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        pytest.param("email-only.json", [("EMAIL", "user@example.com", CHEQUING)], id="email"),
        pytest.param(
            "sms-template.json",
            [
                (
                    "SMS",
                    "+16048621234",
                    "Alert: Your SAVINGS account ending in ****7303 has a low balance of $50.00",
                )
            ],
            id="sms-template",
        ),
        pytest.param(
            "sms-inline.json",
            [("SMS", "+16048621234", "Your payment of $50 is due tomorrow")],
            id="sms-inline",
        ),
        pytest.param(
            "email-and-sms.json",
            [
                ("EMAIL", "user@example.com", CHEQUING),
                (
                    "SMS",
                    "+16048621234",
                    "Alert: Your CHEQUING account ending in ****7303 has a low balance of $100.00",
                ),
            ],
            id="email-and-sms",
        ),
    ],
)
def test_each_readme_example_posted_to_the_api_lands_in_the_outbox(local, post, event, expected):
    request = example(event)

    response = post(request)

    assert response.status_code == 202
    assert set(response.json()) == {"MessageId", "RequestId"}
    assert finished(local, request["TraceId"]) == "COMPLETED"
    sent = outbox(local, request["TraceId"])
    assert sorted((m["channel"], m["to"], m["text"] or m["body"]) for m in sent) == expected


def _token(**claims):
    now = int(time.time())
    payload = {"iss": "messaging-api", "sub": "u", "iat": now, "exp": now + 60} | claims
    return jwt.encode({k: v for k, v in payload.items() if v is not None}, LOCAL_JWT_SECRET)


@pytest.mark.parametrize(
    "bearer",
    [
        pytest.param(_token(exp=int(time.time()) - 3600), id="expired"),
        pytest.param(_token(iss="someone-else"), id="wrong-issuer"),
        pytest.param(_token(sub=None), id="no-sub"),
        pytest.param(
            mint_token("a-different-secret-that-is-long-enough-for-hs256", "u"), id="wrong-secret"
        ),
        pytest.param("not-a-jwt", id="garbage"),
        pytest.param("", id="missing"),
    ],
)
def test_a_bad_token_gets_401_and_nothing_is_queued(local, post, bearer):
    request = example("sms-inline.json")

    response = post(request, bearer=bearer or " ")

    assert response.status_code == 401
    assert response.json()["message"] == "Unauthorized"
    time.sleep(0.3)
    assert outbox(local, request["TraceId"]) == []


def test_a_missing_or_wrong_api_key_gets_403(post):
    assert post(example("sms-inline.json"), api_key="").status_code == 403
    response = post(example("sms-inline.json"), api_key="not-the-key")
    assert response.status_code == 403
    assert response.json() == {
        "message": "Forbidden",
        "reason": "A valid x-api-key header is required",
    }


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        pytest.param("{", "[Unknown error parsing request body]", id="not-json"),
        pytest.param(
            {"Addresses": {}},
            "[instance failed to match at least one required schema among 4, "
            'object has missing required properties (["TraceId"])]',
            id="no-trace-id-nor-message",
        ),
        pytest.param(
            {
                "TraceId": "t",
                "SMSMessage": {},
                "Addresses": {"+16048621234": {"ChannelType": "FAX"}},
            },
            '[instance value ("FAX") not found in enum '
            '(possible values: ["EMAIL","SMS","WHATSAPP","VOICE"])]',
            id="unknown-channel",
        ),
        pytest.param(
            {"TraceId": "t", "Addresses": {"a@example.com": {"ChannelType": "EMAIL"}}},
            "[instance failed to match at least one required schema among 4]",
            id="no-message",
        ),
    ],
)
def test_a_malformed_payload_gets_400_with_api_gateways_reason(post, body, reason):
    response = post(body)

    assert response.status_code == 400
    assert response.json() == {"message": "Invalid request body", "reason": reason}


def test_twenty_five_parallel_requests_are_each_delivered_exactly_once(local, post):
    """The bulk invitation of the WhatsApp plan: 25 players invited at once."""
    requests_ = [example("sms-inline.json") for _ in range(25)]

    with ThreadPoolExecutor(max_workers=25) as pool:
        statuses = list(pool.map(lambda request: post(request).status_code, requests_))

    assert statuses == [202] * 25
    for request in requests_:
        assert finished(local, request["TraceId"]) == "COMPLETED"
    counts = [len(outbox(local, request["TraceId"])) for request in requests_]
    assert counts == [1] * 25


def test_a_large_request_runs_alone_from_the_large_queue_and_is_delivered(local, post):
    request = example("email-only.json") | {"TraceId": f"large-{time.monotonic_ns()}"}
    request["EmailMessage"] = request["EmailMessage"] | {"TextBody": "x" * 4000}

    assert post(request).status_code == 202

    assert finished(local, request["TraceId"]) == "COMPLETED"
    [record] = execution_input(local, request["TraceId"])
    assert record["eventSourceARN"] == local.stack.physical("LargeMessageQueue")["Arn"]
    assert len(outbox(local, request["TraceId"])) == 1
